package observer

import (
	"sync"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/supervisor"
)

// Recorder keeps a live model of the backplane built from its events:
// every device with its name, state, fault and links, the supervision tree
// when supervisor events are fed in, a ring of recent events and a ring of
// recent faults. Install its Record method as the process's hook (see
// Hooks to share the hook with other consumers) and serve it with Handler.
//
// The zero Recorder is ready to use with the defaults of NewRecorder. A
// Recorder is safe for concurrent use and must not be copied after first
// use.
//
// Record is called on the backplane's hot paths: it takes one mutex,
// updates a map entry and a preallocated ring, and never blocks on anything
// else (live page subscribers are woken with a non-blocking send). It
// allocates only when a device first appears, first gets a link, or joins a
// supervisor; a link or unlink event costs about 150ns (BenchmarkRecord).
// Memory is bounded by the devices alive plus the retention of disconnected
// devices (WithRetention, WithMaxDown) and the two rings.
//
// The model sees only what the hook reports from the moment it is
// installed: a device created earlier appears when it is first linked or
// tracked, without a name.
type Recorder struct {
	mu   sync.Mutex
	init bool
	cfg  config

	devs   map[backplane.DeviceID]*devRec
	downQ  []downEntry // disconnected devices, oldest first, from downHd
	downHd int
	gone   map[backplane.DeviceID]struct{} // recently forgotten devices (see devLocked)
	goneQ  []backplane.DeviceID            // the same, as a ring
	goneHd int

	seq    uint64  // sequence number of the last event recorded
	ring   []entry // ring[(seq-1) % len(ring)] is the last event
	nfault uint64  // faults recorded
	faults []entry

	st   counters
	subs []chan struct{}

	samples [SeriesLength]sample // a ring: samples[(nsample-1) % SeriesLength] is the last
	nsample int
}

// devRec is the model of one device.
type devRec struct {
	id        backplane.DeviceID
	name      string
	down      bool
	fault     *backplane.Fault
	since     int64 // unix nanoseconds: first seen
	downAt    int64
	links     map[backplane.DeviceID]backplane.LinkMode // seen from this device
	line      backplane.Line                            // zero unless tracked; dropped at disconnect
	parent    backplane.DeviceID
	children  map[backplane.DeviceID]struct{}
	sup       bool // is a supervisor
	limit     bool // restart limit reached
	abandoned bool
	restarts  uint32 // for a supervisor: restarts it made
	child     string // its ID in its supervisor's spec
	gen       uint64 // its generation as that child
	sv        *supRec
}

// supRec is what the model keeps of a supervisor beyond its device.
type supRec struct {
	exits       map[string]exitRec // by child ID: how its last generation ended
	recent      [recentMax]int64   // times of its last restarts, a ring
	nrecent     int                // restarts recorded in recent
	maxRestarts int                // from the events' Source (or a RestartLimitError); 0: unknown
	period      int64              // the same; 0: unknown
}

// exitRec is how a child's generation ended.
type exitRec struct {
	dev     backplane.DeviceID
	at      int64
	fault   *backplane.Fault
	stopped bool
}

// recentMax is how many of a supervisor's restart times the model keeps.
const recentMax = 64

type downEntry struct {
	id backplane.DeviceID
	at int64
}

// counters are the monotonic totals behind Stats.
type counters struct {
	alive, links       int
	created, shutdowns uint64
	disconnects        [16]uint64 // by FaultKind; 0 = clean
	starts, restarts   uint64
	abandoned, limits  uint64
	exits, startFails  uint64
}

// goneMax is how many forgotten devices the recorder remembers, so that a
// late event cannot bring one back (see devLocked).
const goneMax = 4096

// entry is one recorded event. It allocates nothing of its own.
type entry struct {
	seq   uint64
	at    int64
	kind  backplane.EventKind
	styp  supervisor.EventType // for supervisor events (kind == 0)
	gen   uint64               // for supervisor events: the child's generation
	mode  backplane.LinkMode
	dev   backplane.DeviceID
	peer  backplane.DeviceID // link peer, shutdown requester, or supervisor
	name  string
	fault *backplane.Fault
	err   error // supervisor events
	// stopped: ChildExited: the supervisor stopped the child
	stopped bool
}

// NewRecorder returns a Recorder with the given options. The defaults are:
// retention of disconnected devices DefaultRetention (one minute), at most
// DefaultMaxDown (2000) of them, DefaultEventBuffer (1024) recent events,
// DefaultFaultBuffer (256) recent faults, and time.Now as the clock.
func NewRecorder(opts ...Option) *Recorder {
	r := &Recorder{}
	r.cfg = defaults()
	for _, o := range opts {
		o.apply(&r.cfg)
	}
	r.initLocked()
	return r
}

// initLocked makes the zero Recorder ready, with the defaults.
func (r *Recorder) initLocked() {
	if r.init {
		return
	}
	if r.cfg.now == nil {
		r.cfg = defaults()
	}
	r.devs = make(map[backplane.DeviceID]*devRec)
	r.ring = make([]entry, r.cfg.events)
	r.faults = make([]entry, r.cfg.faults)
	r.gone = make(map[backplane.DeviceID]struct{}, goneMax)
	r.goneQ = make([]backplane.DeviceID, goneMax)
	r.init = true
	r.sampleLocked(r.cfg.now().UnixNano())
}

// Record updates the model with e. Its signature is backplane.Hook's:
// subscribe it with backplane.AddHook(rec.Record), alone or through Hooks.
func (r *Recorder) Record(e backplane.Event) {
	r.mu.Lock()
	r.initLocked()
	now := r.cfg.now().UnixNano()
	r.sampleLocked(now)
	var d *devRec
	switch e.Kind {
	case backplane.EventCreated:
		r.st.created++
		d = r.devLocked(e.Device, now)
		if d != nil {
			d.name = e.Name
			d.line = e.Line
		}
	case backplane.EventLinked, backplane.EventUnlinked:
		d = r.devLocked(e.Device, now)
		p := r.devLocked(e.Peer, now)
		if d != nil && p != nil && !d.down && !p.down {
			old := d.links[e.Peer]
			m := old | e.Mode
			if e.Kind == backplane.EventUnlinked {
				m = old &^ e.Mode
			}
			r.setLinkLocked(d, p, old, m&backplane.Peer)
		}
	case backplane.EventDisconnected:
		d = r.devs[e.Device]
		r.st.disconnects[faultIndex(e.Fault)]++
		if d != nil && !d.down {
			r.downLocked(d, e.Fault, now)
		}
	case backplane.EventShutdownRequested:
		r.st.shutdowns++
		d = r.devs[e.Device]
	}
	ent := entry{kind: e.Kind, at: now, mode: e.Mode, dev: e.Device, peer: e.Peer, fault: e.Fault}
	if d != nil {
		ent.name = d.name
	}
	r.pushLocked(ent, e.Kind == backplane.EventDisconnected && e.Fault != nil)
	r.pruneLocked(now)
	r.mu.Unlock()
}

// RecordSupervisor updates the supervision tree with e. Install it with
// supervisor.WithEventHook(rec.RecordSupervisor), or through
// SupervisorHooks to share the hook with a Logger.
func (r *Recorder) RecordSupervisor(e supervisor.Event) {
	if e == nil {
		return
	}
	f := fieldsOf(e)
	r.mu.Lock()
	r.initLocked()
	now := r.cfg.now().UnixNano()
	r.sampleLocked(now)
	var s, c *devRec
	if !f.sup.IsZero() {
		s = r.devLocked(f.sup, now)
		if s != nil {
			s.sup = true
			if f.supName != "" && s.name == "" {
				s.name = f.supName
			}
			if f.period > 0 {
				sv := s.supLocked()
				sv.maxRestarts, sv.period = f.maxRest, f.period
			}
		}
	}
	switch f.typ {
	case supervisor.EventChildStarted, supervisor.EventChildRestarted:
		if f.typ == supervisor.EventChildStarted {
			r.st.starts++
		} else {
			r.st.restarts++
		}
		c = r.devLocked(f.child, now)
		if c != nil {
			c.child, c.gen = f.childName, f.gen
		}
		if c != nil && s != nil {
			r.adoptLocked(s, c)
		}
		if s != nil && f.typ == supervisor.EventChildRestarted {
			s.restarts++
			// The intensity counts a restart as the supervisor does: a
			// group restart (OneForAll, RestForOne) once, for the child
			// that ended by itself, not for those it stopped with it.
			sv := s.supLocked()
			if ex, ok := sv.exits[f.childName]; !ok || !ex.stopped {
				sv.recent[sv.nrecent%recentMax] = now
				sv.nrecent++
			}
		}
	case supervisor.EventChildExited:
		r.st.exits++
		c = r.devs[f.child]
		if s != nil && f.childName != "" {
			s.supLocked().exits[f.childName] = exitRec{dev: f.child, at: now, fault: f.fault, stopped: f.stopped}
		}
	case supervisor.EventChildAbandoned:
		r.st.abandoned++
		c = r.devs[f.child]
		if c != nil {
			c.abandoned = true
		}
	case supervisor.EventChildStartFailed:
		r.st.startFails++
	case supervisor.EventRestartLimit:
		r.st.limits++
		if s != nil {
			s.limit = true
			if le, ok := f.err.(*supervisor.RestartLimitError); ok && le != nil {
				sv := s.supLocked()
				sv.maxRestarts, sv.period = le.MaxRestarts, int64(le.Period)
			}
		}
	}
	if c != nil && c.name == "" && f.childName != "" {
		c.name = f.childName
	}
	name := f.childName
	if name == "" && c != nil {
		name = c.name
	}
	ent := entry{styp: f.typ, gen: f.gen, at: now, dev: f.child, peer: f.sup, name: name, fault: f.fault, err: f.err, stopped: f.stopped}
	r.pushLocked(ent, f.typ == supervisor.EventRestartLimit || f.typ == supervisor.EventChildAbandoned || f.typ == supervisor.EventChildStartFailed)
	r.pruneLocked(now)
	r.mu.Unlock()
}

// supLocked returns what the model keeps of d as a supervisor, making it
// on first use.
func (d *devRec) supLocked() *supRec {
	if d.sv == nil {
		d.sv = &supRec{exits: make(map[string]exitRec, 4)}
	}
	return d.sv
}
