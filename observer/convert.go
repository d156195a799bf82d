package observer

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/backplane-go/backplane"
)

// converter turns the model into JSON shapes, sharing the FaultInfo of a
// fault seen several times (cascades share their root).
type converter struct {
	r    *Recorder
	now  int64 // unix nanoseconds
	seen map[*backplane.Fault]*FaultInfo
}

// DefaultIntensityPeriod is the period over which DeviceInfo counts a
// supervisor's recent restarts until a RestartLimitError tells the
// supervisor's own: the supervisor package's default period.
const DefaultIntensityPeriod = 5 * time.Second

func (c *converter) device(d *devRec) DeviceInfo {
	info := DeviceInfo{
		ID:           idText(d.id),
		Name:         d.name,
		State:        "alive",
		Since:        time.Unix(0, d.since).UTC(),
		Links:        make([]LinkInfo, 0, len(d.links)),
		Supervisor:   idText(d.parent),
		IsSupervisor: d.sup,
		Child:        d.child,
		Generation:   d.gen,
		Restarts:     int(d.restarts),
		RestartLimit: d.limit,
		Abandoned:    d.abandoned,
		Tracked:      !d.line.IsZero(),
	}
	if isRemote(d.id) {
		n := d.id.Node()
		info.Node, info.Incarnation = n.Name, strconv.FormatUint(n.Incarnation, 16)
	}
	if d.down {
		info.State = "down"
		info.DownAt = time.Unix(0, d.downAt).UTC()
		info.Fault = c.fault(d.fault)
	}
	links := make([]backplane.DeviceID, 0, len(d.links))
	for p := range d.links {
		links = append(links, p)
	}
	slices.SortFunc(links, compareIDs)
	for _, p := range links {
		info.Links = append(info.Links, LinkInfo{Peer: idText(p), Mode: d.links[p].String()})
	}
	if len(d.children) > 0 {
		kids := make([]backplane.DeviceID, 0, len(d.children))
		for ch := range d.children {
			kids = append(kids, ch)
		}
		slices.SortFunc(kids, compareIDs)
		info.Children = make([]string, len(kids))
		for i, ch := range kids {
			info.Children[i] = idText(ch)
		}
	}
	if sv := d.sv; sv != nil {
		period := sv.period
		if period == 0 {
			period = int64(DefaultIntensityPeriod)
		}
		for i := 0; i < min(sv.nrecent, recentMax); i++ {
			if c.now-sv.recent[i] < period {
				info.Recent++
			}
		}
		info.Period = time.Duration(period).String()
		info.MaxRestarts = sv.maxRestarts
	}
	if p := c.r.devs[d.parent]; p != nil && p.sv != nil && d.child != "" {
		if e, ok := p.sv.exits[d.child]; ok && e.dev != d.id {
			info.LastExit = &ExitInfo{Device: idText(e.dev), Time: time.Unix(0, e.at).UTC(), Fault: c.fault(e.fault), Stopped: e.stopped}
		}
	}
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
		Device: idText(e.dev),
		Name:   e.name,
		Fault:  c.fault(e.fault),
	}
	if e.kind == 0 {
		info.Kind = e.styp.String()
		info.Supervisor = idText(e.peer)
		info.Generation = e.gen
		info.Stopped = e.stopped
		if e.err != nil {
			info.Error = e.err.Error()
		}
		info.Text = superText(e)
		return info
	}
	info.Kind = e.kind.String()
	info.Peer = idText(e.peer)
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
			hop := Hop{Device: idText(h.Device), Kind: "unknown"}
			if h.Cause != nil {
				hop.Kind = h.Cause.Kind.String()
			}
			if d := c.r.devs[h.Device]; d != nil {
				hop.Name = d.name
			}
			info.Chain = append(info.Chain, hop)
		}
		if rd, rf := f.Root(); rf != nil && rf != f {
			info.RootDevice = idText(rd)
			info.Root = c.fault(rf)
		}
	}
	return info
}
