package observer

import (
	"cmp"
	"slices"
	"strconv"
	"time"

	"github.com/backplane-go/backplane"
)

// Snapshot is a copy of a Recorder's model at one moment, shaped for JSON
// (it is what /api/snapshot serves; see the package doc for the format).
type Snapshot struct {
	Time     time.Time    `json:"time"`
	Seq      uint64       `json:"seq"`      // the last event's sequence number
	Stats    Stats        `json:"stats"`    // totals
	Nodes    []NodeInfo   `json:"nodes"`    // other nodes whose devices the model holds, by name
	Devices  []DeviceInfo `json:"devices"`  // alive first, then by ID
	Omitted  int          `json:"omitted"`  // devices left out by MaxDevices
	Events   []EventInfo  `json:"events"`   // recent events, oldest first
	Faults   []EventInfo  `json:"faults"`   // recent faults, oldest first
	Shutdown bool         `json:"shutdown"` // the shutdown endpoint is enabled (set by Handler)
	// Retention and MaxDown are how long, and how many, devices that went
	// down are kept (WithRetention, WithMaxDown): a client following the
	// event stream forgets them as the recorder does, without reloading.
	Retention string `json:"retention"` // a Go duration, e.g. "1m0s"
	MaxDown   int    `json:"max_down"`
}

// NodeInfo describes another node of the cluster, one run of it: the
// devices of it the model holds (proxies, see backplane.NewProxy).
type NodeInfo struct {
	Name        string `json:"name"`
	Incarnation string `json:"incarnation"` // hexadecimal, as backplane.NodeID prints it
	Alive       int    `json:"alive"`       // its devices the model holds alive
	Down        int    `json:"down"`        // and down
}

// DeviceInfo describes one device of a Snapshot. Device IDs, here and
// everywhere in the JSON, are strings: "#7" for a device of this process
// (its backplane.DeviceID as text), "#7@db/5f3a9c" for device 7 of node db
// in its incarnation 0x5f3a9c (see ParseID).
type DeviceInfo struct {
	ID           string     `json:"id"`
	Node         string     `json:"node,omitempty"`        // the node's name, for a device on another node
	Incarnation  string     `json:"incarnation,omitempty"` // the node's incarnation (hexadecimal)
	Name         string     `json:"name,omitempty"`
	State        string     `json:"state"` // "alive" or "down"
	Since        time.Time  `json:"since"` // first seen
	DownAt       time.Time  `json:"down_at,omitzero"`
	Fault        *FaultInfo `json:"fault,omitempty"` // down with a fault
	Links        []LinkInfo `json:"links"`
	Supervisor   string     `json:"supervisor,omitempty"` // parent in the supervision tree
	Children     []string   `json:"children,omitempty"`   // every generation the model holds
	IsSupervisor bool       `json:"is_supervisor,omitempty"`
	Child        string     `json:"child,omitempty"`      // its ID in its supervisor's spec
	Generation   uint64     `json:"generation,omitempty"` // 1 for its child's first start, then one more per start
	LastExit     *ExitInfo  `json:"last_exit,omitempty"`  // how its child's previous generation ended
	Restarts     int        `json:"restarts,omitempty"`   // supervisor: restarts it made
	// Recent: supervisor: restarts it made within the last Period
	// (restarts in the period, against MaxRestarts, is the intensity
	// used), counted as the supervisor counts them: a group restart
	// (OneForAll, RestForOne) once, where Restarts counts every child
	// restarted. Period and MaxRestarts are the supervisor's intensity, as
	// its events carry it (supervisor.Source); before any event of it is
	// seen, Period is DefaultIntensityPeriod and MaxRestarts 0 (unknown).
	Recent       int    `json:"recent_restarts,omitempty"`
	Period       string `json:"period,omitempty"`
	MaxRestarts  int    `json:"max_restarts,omitempty"`
	RestartLimit bool   `json:"restart_limit,omitempty"`
	Abandoned    bool   `json:"abandoned,omitempty"`
	Tracked      bool   `json:"tracked,omitempty"` // shutdown can be requested
}

// ExitInfo says how a child's generation ended.
type ExitInfo struct {
	Device  string     `json:"device"` // the generation's device
	Time    time.Time  `json:"time"`
	Fault   *FaultInfo `json:"fault,omitempty"`   // nil: a clean exit
	Stopped bool       `json:"stopped,omitempty"` // its supervisor stopped it
}

// LinkInfo is one link of a device, seen from it: "monitor" (it watches
// Peer), "notify" (Peer watches it) or "peer" (both).
type LinkInfo struct {
	Peer string `json:"peer"`
	Mode string `json:"mode"`
}

// EventInfo describes one recorded event.
type EventInfo struct {
	Seq        uint64     `json:"seq"`
	Time       time.Time  `json:"time"`
	Kind       string     `json:"kind"`             // a backplane.EventKind or supervisor.EventType, as text
	Device     string     `json:"device,omitempty"` // the device; the child for supervisor events
	Name       string     `json:"name,omitempty"`   // its name
	Peer       string     `json:"peer,omitempty"`   // link peer, or shutdown requester
	Mode       string     `json:"mode,omitempty"`   // linked, unlinked
	Supervisor string     `json:"supervisor,omitempty"`
	Generation uint64     `json:"generation,omitempty"` // supervisor events: the child's generation
	Fault      *FaultInfo `json:"fault,omitempty"`
	Error      string     `json:"error,omitempty"`   // supervisor events: why a start failed, or the restart limit error
	Stopped    bool       `json:"stopped,omitempty"` // child exited: its supervisor stopped it
	Text       string     `json:"text"`              // one line for humans
}

// FaultInfo describes a backplane.Fault. For a cascade, Chain lists the
// hops from the device depended on to the root, and Root is the root's
// own fault, with its panic value and stack.
type FaultInfo struct {
	Kind       string     `json:"kind"`
	Error      string     `json:"error"`
	Panic      string     `json:"panic,omitempty"` // panic value
	Stack      string     `json:"stack,omitempty"` // panic stack (at most MaxStack bytes)
	Chain      []Hop      `json:"chain,omitempty"`
	RootDevice string     `json:"root_device,omitempty"`
	Root       *FaultInfo `json:"root,omitempty"`
}

// Hop is one device of a cascade chain and the kind of its fault.
type Hop struct {
	Device string `json:"device"`
	Name   string `json:"name,omitempty"`
	Kind   string `json:"kind"`
}

// Stats are the recorder's totals since it was made.
type Stats struct {
	Alive            int               `json:"alive"`       // devices connected
	Down             int               `json:"down"`        // disconnected devices still kept
	Links            int               `json:"links"`       // linked pairs of devices
	Created          uint64            `json:"created"`     // EventCreated seen
	Disconnects      map[string]uint64 `json:"disconnects"` // by fault kind ("clean": none); zero counts left out
	ShutdownRequests uint64            `json:"shutdown_requests"`
	ChildStarts      uint64            `json:"child_starts"`
	ChildExits       uint64            `json:"child_exits"`
	Restarts         uint64            `json:"restarts"`
	RestartLimits    uint64            `json:"restart_limits"`
	Abandoned        uint64            `json:"abandoned"`
	StartFailures    uint64            `json:"start_failures"`
	Events           uint64            `json:"events"` // all events recorded
}

// MaxStack is the most bytes of a panic stack a FaultInfo carries.
const MaxStack = 16 << 10

// maxChain is the most hops a cascade chain lists.
const maxChain = 64

// SnapshotOptions select what Snapshot copies. The zero value copies
// every device and the whole event ring.
type SnapshotOptions struct {
	MaxDevices int                // at most this many devices, alive first (0: all)
	Device     backplane.DeviceID // only this device and its links, parent and children (zero: all)
	MaxEvents  int                // at most this many recent events and faults (0: all kept; <0: none)
	Since      uint64             // only events with a greater Seq
}

// Stats returns the recorder's totals. It takes the recorder's lock for a
// constant time.
func (r *Recorder) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.initLocked()
	r.pruneLocked(r.cfg.now().UnixNano())
	return r.statsLocked()
}

func (r *Recorder) statsLocked() Stats {
	s := Stats{
		Alive:            r.st.alive,
		Down:             len(r.downQ) - r.downHd,
		Links:            r.st.links,
		Created:          r.st.created,
		Disconnects:      make(map[string]uint64, 4),
		ShutdownRequests: r.st.shutdowns,
		ChildStarts:      r.st.starts,
		ChildExits:       r.st.exits,
		Restarts:         r.st.restarts,
		RestartLimits:    r.st.limits,
		Abandoned:        r.st.abandoned,
		StartFailures:    r.st.startFails,
		Events:           r.seq,
	}
	for k, n := range r.st.disconnects {
		if n > 0 {
			s.Disconnects[faultKindName(k)] = n
		}
	}
	return s
}

func faultKindName(k int) string {
	if k == 0 {
		return "clean"
	}
	return backplane.FaultKind(k).String()
}

// Snapshot copies the model. It holds the recorder's lock while it copies,
// for a time proportional to the devices and links copied, during which
// Record waits: about 5ms for 5000 devices on a loaded two-core machine
// (BenchmarkSnapshot). It returns nil when opts.Device names no device the
// recorder knows.
func (r *Recorder) Snapshot(opts SnapshotOptions) *Snapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.initLocked()
	now := r.cfg.now().UnixNano()
	r.pruneLocked(now)
	c := converter{r: r, now: r.cfg.now().UnixNano(), seen: make(map[*backplane.Fault]*FaultInfo)}
	s := &Snapshot{
		Time:      time.Unix(0, now).UTC(),
		Seq:       r.seq,
		Stats:     r.statsLocked(),
		Retention: r.cfg.retention.String(),
		MaxDown:   r.cfg.maxDown,
		Devices:   []DeviceInfo{},
		Events:    []EventInfo{},
		Faults:    []EventInfo{},
	}
	var devs []*devRec
	if !opts.Device.IsZero() {
		d := r.devs[opts.Device]
		if d == nil {
			return nil
		}
		devs = append(devs, d)
		for p := range d.links {
			devs = append(devs, r.devs[p])
		}
		for ch := range d.children {
			if cd := r.devs[ch]; cd != nil && cd != d {
				devs = append(devs, cd)
			}
		}
		if p := r.devs[d.parent]; p != nil && p != d {
			devs = append(devs, p)
		}
	} else {
		devs = make([]*devRec, 0, len(r.devs))
		for _, d := range r.devs {
			devs = append(devs, d)
		}
	}
	slices.SortFunc(devs, func(a, b *devRec) int {
		if a.down != b.down {
			if a.down {
				return 1
			}
			return -1
		}
		return compareIDs(a.id, b.id)
	})
	devs = slices.Compact(devs)
	if opts.MaxDevices > 0 && len(devs) > opts.MaxDevices {
		s.Omitted = len(devs) - opts.MaxDevices
		devs = devs[:opts.MaxDevices]
	}
	s.Devices = make([]DeviceInfo, 0, len(devs))
	for _, d := range devs {
		s.Devices = append(s.Devices, c.device(d))
	}
	s.Nodes = r.nodesLocked()
	if opts.MaxEvents >= 0 {
		s.Events = c.events(r.ring, r.seq, opts.Since, opts.MaxEvents)
		s.Faults = c.events(r.faults, r.nfault, 0, opts.MaxEvents)
		// The fault ring has its own numbering; filter it by event Seq.
		s.Faults = slices.DeleteFunc(s.Faults, func(e EventInfo) bool { return e.Seq <= opts.Since })
	}
	return s
}

// Events returns up to max recorded events (max <= 0: all kept) with a Seq
// greater than since, oldest first. lost reports that events after since
// have already left the ring, or that since is ahead of the recorder (it
// came from another recorder or an earlier process): either way, a
// consumer should take a new Snapshot.
func (r *Recorder) Events(since uint64, max int) (events []EventInfo, lost bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.initLocked()
	oldest := uint64(1)
	if n := uint64(len(r.ring)); r.seq > n {
		oldest = r.seq - n + 1
	}
	if since >= r.seq {
		return []EventInfo{}, since > r.seq
	}
	lost = since+1 < oldest
	c := converter{r: r, now: r.cfg.now().UnixNano(), seen: make(map[*backplane.Fault]*FaultInfo)}
	events = c.eventsFrom(r.ring, r.seq, since, max)
	return events, lost
}

// nodesLocked lists the other nodes whose devices the model holds.
func (r *Recorder) nodesLocked() []NodeInfo {
	var byNode map[backplane.NodeID]*NodeInfo
	for id, d := range r.devs {
		if !isRemote(id) {
			continue
		}
		if byNode == nil {
			byNode = make(map[backplane.NodeID]*NodeInfo)
		}
		n := id.Node()
		ni := byNode[n]
		if ni == nil {
			ni = &NodeInfo{Name: n.Name, Incarnation: strconv.FormatUint(n.Incarnation, 16)}
			byNode[n] = ni
		}
		if d.down {
			ni.Down++
		} else {
			ni.Alive++
		}
	}
	out := make([]NodeInfo, 0, len(byNode))
	for _, ni := range byNode {
		out = append(out, *ni)
	}
	slices.SortFunc(out, func(a, b NodeInfo) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(len(a.Incarnation), len(b.Incarnation)), cmp.Compare(a.Incarnation, b.Incarnation))
	})
	return out
}
