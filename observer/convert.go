package observer

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/backplane-go/backplane"
)

// converter turns the model into JSON shapes, sharing the FaultInfo of a
// fault seen several times (cascades share their root).
type converter struct {
	r    *Recorder
	seen map[*backplane.Fault]*FaultInfo
}

func (c *converter) device(d *devRec) DeviceInfo {
	info := DeviceInfo{
		ID:           key(d.id),
		Ref:          ref(d.id),
		Name:         d.name,
		State:        "alive",
		Since:        time.Unix(0, d.since).UTC(),
		Links:        make([]LinkInfo, 0, len(d.links)),
		Supervisor:   key(d.parent),
		IsSupervisor: d.sup,
		Restarts:     int(d.restarts),
		RestartLimit: d.limit,
		Abandoned:    d.abandoned,
		Tracked:      !d.line.IsZero(),
	}
	if d.down {
		info.State = "down"
		info.DownAt = time.Unix(0, d.downAt).UTC()
		info.Fault = c.fault(d.fault)
	}
	for p, m := range d.links {
		info.Links = append(info.Links, LinkInfo{Peer: p, Mode: m.String()})
	}
	slices.SortFunc(info.Links, func(a, b LinkInfo) int { return cmp.Compare(a.Peer, b.Peer) })
	for ch := range d.children {
		info.Children = append(info.Children, ch)
	}
	slices.Sort(info.Children)
	return info
}

// events converts the newest max entries of ring (whose last is number
// last) with a Seq above since.
func (c *converter) events(ring []entry, last, since uint64, max int) []EventInfo {
	n := uint64(len(ring))
	count := min(last, n)
	if max > 0 {
		count = min(count, uint64(max))
	}
	out := make([]EventInfo, 0, count)
	for i := last - count + 1; i <= last && count > 0; i++ {
		e := ring[(i-1)%n]
		if e.seq > since {
			out = append(out, c.event(e))
		}
	}
	return out
}

// eventsFrom converts the oldest max entries of the event ring above since.
func (c *converter) eventsFrom(ring []entry, last, since uint64, max int) []EventInfo {
	n := uint64(len(ring))
	first := since + 1
	if last > n && first < last-n+1 {
		first = last - n + 1
	}
	if first > last {
		return []EventInfo{}
	}
	count := last - first + 1
	if max > 0 {
		count = min(count, uint64(max))
	}
	out := make([]EventInfo, 0, count)
	for i := first; i < first+count; i++ {
		out = append(out, c.event(ring[(i-1)%n]))
	}
	return out
}

func (c *converter) event(e entry) EventInfo {
	info := EventInfo{
		Seq:    e.seq,
		Time:   time.Unix(0, e.at).UTC(),
		Device: key(e.dev),
		Ref:    ref(e.dev),
		Name:   e.name,
		Fault:  c.fault(e.fault),
	}
	if e.kind == 0 {
		info.Kind = e.styp.String()
		info.Supervisor = key(e.peer)
		if e.err != nil {
			info.Error = e.err.Error()
		}
		info.Text = superText(e)
		return info
	}
	info.Kind = e.kind.String()
	info.Peer = key(e.peer)
	info.PeerRef = ref(e.peer)
	if e.kind == backplane.EventLinked || e.kind == backplane.EventUnlinked {
		info.Mode = e.mode.String()
	}
	be := backplane.Event{Kind: e.kind, Device: e.dev, Name: e.name, Peer: e.peer, Mode: e.mode, Fault: e.fault}
	info.Text = be.String()
	if e.name != "" && e.kind != backplane.EventCreated {
		info.Text += " [" + e.name + "]"
	}
	return info
}

func superText(e entry) string {
	s := fmt.Sprintf("supervisor %v: %s", e.peer, e.styp)
	if !e.dev.IsZero() {
		s += " " + e.dev.String()
	}
	if e.name != "" {
		s += " (" + e.name + ")"
	}
	switch {
	case e.err != nil:
		s += ": " + e.err.Error()
	case e.fault != nil:
		s += ": " + e.fault.Error()
	}
	return s
}

func (c *converter) fault(f *backplane.Fault) *FaultInfo {
	if f == nil {
		return nil
	}
	if info, ok := c.seen[f]; ok {
		return info
	}
	info := &FaultInfo{Kind: f.Kind.String(), Error: f.Error()}
	c.seen[f] = info
	switch f.Kind {
	case backplane.FaultPanic:
		info.Panic = fmt.Sprint(f.Value)
		info.Stack = string(f.Stack)
		if len(info.Stack) > MaxStack {
			info.Stack = info.Stack[:MaxStack] + "\n... (truncated)"
		}
	case backplane.FaultCascade:
		for h, n := f, 0; h != nil && h.Kind == backplane.FaultCascade && n < maxChain; h, n = h.Cause, n+1 {
			hop := Hop{Device: key(h.Device), Ref: ref(h.Device), Kind: "unknown"}
			if h.Cause != nil {
				hop.Kind = h.Cause.Kind.String()
			}
			if d := c.r.devs[hop.Device]; d != nil {
				hop.Name = d.name
			}
			info.Chain = append(info.Chain, hop)
		}
		if rd, rf := f.Root(); rf != nil && rf != f {
			info.RootDevice = key(rd)
			info.RootRef = ref(rd)
			info.Root = c.fault(rf)
		}
	}
	return info
}
