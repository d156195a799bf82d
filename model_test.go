package backplane

// The reference model of the backplane and the invariant checker of the
// model-based tester (RELIABILITY.md).
//
// mmModel is an exact, sequential model of every device: liveness, links,
// inbox and fault. A sequential program is deterministic except where the
// contract leaves a choice (the order of messages from different senders
// enqueued by one cascade, and which of several faulted devices a managed
// device cascades from); the model keeps those choices open and checks the
// library's pick against the set of allowed ones.
//
// mtCheck is the checker of concurrent runs: it cannot predict an
// interleaving, so it checks, from what every call returned and every
// device received, the properties that hold under every interleaving.

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// mtKind is the kind of one operation of a program.
type mtKind uint8

const (
	mtCreate      mtKind = iota // (re)fill slot a with a new device if it is empty or down
	mtLink                      // a.Link(b, mode)
	mtUnlink                    // a.Unlink(b, mode)
	mtUnlinkFlush               // a.UnlinkFlush(b, mode)
	mtDisconnect                // a.Disconnect(nil or an error)
	mtShutdown                  // b.Line().Shutdown(a's ID)
	mtKill                      // b.Line().Kill(a's ID, reason)
	mtDrop                      // a.Drop()
	mtReceive                   // drain a's inbox
	mtWatch                     // Watch(a, f) with an f that returns at once
	mtManage                    // a.Manage or a.PartManage of a task
	mtKinds
)

var mtKindNames = [...]string{"create", "link", "unlink", "unlinkflush", "disconnect",
	"shutdown", "kill", "drop", "receive", "watch", "manage"}

// Task kinds of an mtManage operation.
const (
	mtTaskOK       = iota // returns nil
	mtTaskErr             // returns an error
	mtTaskPanic           // panics
	mtTaskCause           // returns context.Cause of its context (nil if not cancelled)
	mtTaskWait            // concurrent only: waits for its context or the release, returns the cause
	mtTaskStubborn        // concurrent only: ignores its context until the release, returns nil
	mtTasks
)

var mtTaskNames = [...]string{"ok", "err", "panic", "cause", "wait", "stubborn"}

// mtOp is one operation. a and b are device slots (-1: none, i.e. nil).
// via selects the call form: bit 0 calls through a's Line, bit 1 passes b
// as a Line instead of a *Device, bit 2 passes a nil interface for a
// missing b.
type mtOp struct {
	kind mtKind
	a, b int8
	mode LinkMode
	via  uint8
	arg  uint8 // disconnect: 0 clean, 1 error; manage: task kind
	part bool  // manage: PartManage
	body []mtOp
}

func (o mtOp) String() string {
	var s string
	switch o.kind {
	case mtLink, mtUnlink, mtUnlinkFlush:
		s = fmt.Sprintf("%s(%d,%d,%v,via%d)", mtKindNames[o.kind], o.a, o.b, o.mode, o.via)
	case mtShutdown, mtKill:
		s = fmt.Sprintf("%s(from %d,to %d)", mtKindNames[o.kind], o.a, o.b)
	case mtDisconnect:
		s = fmt.Sprintf("disconnect(%d,err=%d)", o.a, o.arg)
	case mtManage:
		name := "manage"
		if o.part {
			name = "partmanage"
		}
		s = fmt.Sprintf("%s(%d,%s", name, o.a, mtTaskNames[o.arg%mtTasks])
		for _, b := range o.body {
			s += "," + b.String()
		}
		s += ")"
	default:
		s = fmt.Sprintf("%s(%d)", mtKindNames[o.kind], o.a)
	}
	return s
}

func mtProgString(p []mtOp) string {
	var b strings.Builder
	for i, o := range p {
		fmt.Fprintf(&b, "  %3d %v\n", i, o)
	}
	return b.String()
}

// ---------------------------------------------------------------------------
// The exact sequential model.

// mmFault is the model of a Fault. lib is the library's *Fault once the
// device has gone down and the two have been compared (bound).
type mmFault struct {
	kind  FaultKind
	err   error // FaultError, FaultKilled
	val   any   // FaultPanic
	src   int   // FaultCascade: the device depended on (resolved at bind)
	cands []int // FaultCascade: the devices it may have cascaded from
	root  int   // FaultCascade: the first device of the chain
	lib   *Fault
}

// mmDropFault models the one shared fault of every dropped device.
var mmDropFault = &mmFault{kind: FaultDrop, lib: dropFault}

type mmCrash struct {
	kind  CrashKind
	from  DeviceID // PowerOff, Killed: the requester; Cascade: resolved from fault.src
	fault *mmFault
}

// mmMsg is a message in a modelled inbox. Messages enqueued by one
// disconnect (with its cascade) share a batch: their order is free, since
// they come from different senders. opt marks a message that a Manage may
// or may not have consumed.
type mmMsg struct {
	kind  MessageKind
	from  DeviceID
	src   int // sender for Disconnected, -1 for Shutdown
	fault *mmFault
	batch uint64
	opt   bool
}

type mmDev struct {
	id      DeviceID
	alive   bool
	managed bool
	links   map[int]LinkMode
	inbox   []mmMsg
	fault   *mmFault
	crash   *mmCrash
	watched []int // cascade: Monitor entries when it went down
}

type mmModel struct {
	devs  []*mmDev
	batch uint64
	downs []int // went down since the last bind
}

func (m *mmModel) add(id DeviceID) int {
	m.devs = append(m.devs, &mmDev{id: id, alive: true, links: map[int]LinkMode{}})
	return len(m.devs) - 1
}

func (m *mmModel) id(i int) DeviceID {
	if i < 0 {
		return DeviceID{}
	}
	return m.devs[i].id
}

func mmSet(l map[int]LinkMode, p int, mode LinkMode) {
	if mode == 0 {
		delete(l, p)
	} else {
		l[p] = mode
	}
}

func (m *mmModel) link(a, b int, mode LinkMode) error {
	switch {
	case a < 0 || b < 0:
		return ErrInvalid
	case a == b:
		return ErrSelfLink
	case !mode.valid():
		return ErrBadMode
	case !m.devs[a].alive:
		return ErrDeviceDown
	case !m.devs[b].alive:
		return ErrLinkDown
	}
	A, B := m.devs[a], m.devs[b]
	A.links[b] |= mode
	B.links[a] = A.links[b].flip()
	return nil
}

// unlink returns the result (whether an active edge was removed: a flush
// does not change it, rule 6) and the error.
func (m *mmModel) unlink(a, b int, mode LinkMode, flush bool) (removed bool, err error) {
	switch {
	case a < 0 || b < 0:
		return false, ErrInvalid
	case a == b:
		return false, ErrSelfLink
	case !mode.valid():
		return false, ErrBadMode
	}
	A, B := m.devs[a], m.devs[b]
	if A.alive {
		am := A.links[b]
		removed = am&mode&Monitor != 0
		mmSet(A.links, b, am&^mode)
	}
	if B.alive {
		bm := B.links[a]
		removed = removed || bm&mode.flip()&Monitor != 0
		mmSet(B.links, a, bm&^mode.flip())
	}
	if flush && mode&Monitor != 0 {
		for i, e := range A.inbox {
			if e.kind == Disconnected && e.src == b {
				// Flushed, whether or not Manage had taken it: the
				// result names the edge alone (rule 6).
				A.inbox = slices.Delete(A.inbox, i, i+1)
				break
			}
		}
	}
	return removed, nil
}

func (m *mmModel) enqueue(p int, msg mmMsg) {
	m.devs[p].inbox = append(m.devs[p].inbox, msg)
}

// goDown takes x down with fault f and runs the notifications and the
// cascade, as disconnect.go does, except for the order of peers, which the
// model leaves open.
func (m *mmModel) goDown(x int, f *mmFault, c *mmCrash) {
	m.batch++
	batch := m.batch
	X := m.devs[x]
	if c == nil && X.managed {
		// Disconnect or Drop while a task runs: Manage reports it.
		c = &mmCrash{kind: CrashDisconnected, fault: f}
	}
	X.alive, X.fault, X.crash = false, f, c
	m.downs = append(m.downs, x)
	stack := []int{x}
	var cascaded []int
	faulted := map[int]bool{}
	if f != nil {
		faulted[x] = true
	}
	for len(stack) > 0 {
		y := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		Y := m.devs[y]
		snap := Y.links
		Y.links = map[int]LinkMode{}
		for _, p := range slices.Sorted(maps.Keys(snap)) {
			P := m.devs[p]
			if !P.alive {
				continue
			}
			pm := P.links[y]
			if pm == 0 {
				continue
			}
			delete(P.links, y)
			if pm&Monitor == 0 {
				continue
			}
			if P.managed {
				if Y.fault == nil {
					continue
				}
				w := []int{y}
				for q, qm := range P.links {
					if qm&Monitor != 0 {
						w = append(w, q)
					}
				}
				cf := &mmFault{kind: FaultCascade, src: -1}
				P.alive, P.fault, P.watched = false, cf, w
				P.crash = &mmCrash{kind: CrashCascade, fault: cf}
				faulted[p] = true
				cascaded = append(cascaded, p)
				m.downs = append(m.downs, p)
				stack = append(stack, p)
				continue
			}
			m.enqueue(p, mmMsg{kind: Disconnected, from: Y.id, src: y, fault: Y.fault, batch: batch})
		}
	}
	// The origin notifies all its peers before any cascade runs: a managed
	// device that watched it cascades from it. Otherwise any faulted device
	// of this cascade that it watched may come first.
	root := x
	if f != nil && f.kind == FaultCascade {
		root = f.root
	}
	for _, p := range cascaded {
		P := m.devs[p]
		P.fault.root = root
		if slices.Contains(P.watched, x) {
			P.fault.cands = []int{x}
			continue
		}
		for _, q := range P.watched {
			if faulted[q] && !slices.Contains(P.fault.cands, q) {
				P.fault.cands = append(P.fault.cands, q)
			}
		}
	}
}

func (m *mmModel) disconnect(x int, err error) error {
	if x < 0 {
		return ErrInvalid
	}
	if !m.devs[x].alive {
		return ErrDeviceDown
	}
	var f *mmFault
	if err != nil {
		f = &mmFault{kind: FaultError, err: err}
	}
	m.goDown(x, f, nil)
	return nil
}

func (m *mmModel) drop(x int) {
	if x >= 0 && m.devs[x].alive {
		m.goDown(x, mmDropFault, nil)
	}
}

func (m *mmModel) shutdown(from DeviceID, x int) error {
	if x < 0 {
		return ErrInvalid
	}
	X := m.devs[x]
	if !X.alive {
		return ErrLinkDown
	}
	if X.managed {
		m.goDown(x, nil, &mmCrash{kind: CrashPowerOff, from: from})
		return nil
	}
	m.batch++
	m.enqueue(x, mmMsg{kind: Shutdown, from: from, src: -1, batch: m.batch})
	return nil
}

func (m *mmModel) kill(from DeviceID, x int, reason error) error {
	if x < 0 {
		return ErrInvalid
	}
	if !m.devs[x].alive {
		return ErrLinkDown
	}
	f := &mmFault{kind: FaultKilled, err: reason}
	m.goDown(x, f, &mmCrash{kind: CrashKilled, from: from, fault: f})
	return nil
}

// take removes from x's modelled inbox the message the library delivered,
// which must come from the first batch still queued (skipping batches of
// optional messages). It returns "" or what is wrong.
func (m *mmModel) take(x int, got Message) string {
	X := m.devs[x]
	i := 0
	for i < len(X.inbox) {
		b := X.inbox[i].batch
		j, allOpt := i, true
		for j < len(X.inbox) && X.inbox[j].batch == b {
			e := X.inbox[j]
			if e.kind == got.Kind() && e.from == got.From() && e.fault.libOrNil() == got.Fault() {
				X.inbox = slices.Delete(X.inbox, j, j+1)
				X.inbox = X.inbox[i:]
				return ""
			}
			allOpt = allOpt && e.opt
			j++
		}
		if !allOpt {
			break
		}
		i = j
	}
	return fmt.Sprintf("device %v received %v, model inbox %s", X.id, got, m.inboxString(x))
}

// empty checks that x's modelled inbox may be empty, and empties it.
func (m *mmModel) empty(x int) string {
	X := m.devs[x]
	for _, e := range X.inbox {
		if !e.opt {
			return fmt.Sprintf("device %v: inbox empty, model inbox %s", X.id, m.inboxString(x))
		}
	}
	X.inbox = nil
	return ""
}

func (m *mmModel) inboxString(x int) string {
	var parts []string
	for _, e := range m.devs[x].inbox {
		s := fmt.Sprintf("%v from %v b%d", e.kind, e.from, e.batch)
		if e.fault != nil {
			s += " " + e.fault.kind.String()
		}
		if e.opt {
			s += " opt"
		}
		parts = append(parts, s)
	}
	return "[" + strings.Join(parts, "; ") + "]"
}

func (f *mmFault) libOrNil() *Fault {
	if f == nil {
		return nil
	}
	return f.lib
}

// manageErr returns the error Manage fails with before it drains anything.
func (m *mmModel) manageErr(x int) error {
	switch {
	case x < 0:
		return ErrInvalid
	case !m.devs[x].alive:
		return ErrDeviceDown
	case m.devs[x].managed:
		return ErrBusy
	}
	return nil
}

// beginManaged is called when the library started x's task: nothing queued
// may have ended it. The queued messages are consumed.
func (m *mmModel) beginManaged(x int) string {
	X := m.devs[x]
	for _, e := range X.inbox {
		if e.kind == Shutdown || e.fault != nil {
			return fmt.Sprintf("device %v: task started with %v from %v queued", X.id, e.kind, e.from)
		}
	}
	X.inbox = nil
	X.managed = true
	return ""
}

// drainCrash is called when Manage returned crash without starting the
// task: a queued Shutdown or faulted Disconnected must have ended x. The
// library's choice among several faulted senders of one batch is checked
// and followed.
func (m *mmModel) drainCrash(x int, crash *Crash) (*mmCrash, string) {
	X := m.devs[x]
	for len(X.inbox) > 0 {
		b := X.inbox[0].batch
		j := 0
		var trig []int
		for j < len(X.inbox) && X.inbox[j].batch == b {
			if X.inbox[j].kind == Shutdown || X.inbox[j].fault != nil {
				trig = append(trig, j)
			}
			j++
		}
		if len(trig) == 0 {
			X.inbox = X.inbox[j:]
			continue
		}
		e := X.inbox[trig[0]]
		if e.kind == Shutdown {
			X.inbox = X.inbox[1:]
			c := &mmCrash{kind: CrashPowerOff, from: e.from}
			m.goDown(x, nil, c)
			return c, ""
		}
		pick := -1
		for _, k := range trig {
			if crash != nil && X.inbox[k].from == crash.Device {
				pick = k
			}
		}
		if pick < 0 {
			return nil, fmt.Sprintf("device %v: Manage drained %s, returned %v", X.id, m.inboxString(x), crash)
		}
		e = X.inbox[pick]
		for k := 0; k < j; k++ {
			if X.inbox[k].fault == nil {
				X.inbox[k].opt = true
			}
		}
		X.inbox = slices.Delete(X.inbox, pick, pick+1)
		cf := &mmFault{kind: FaultCascade, cands: []int{e.src}, root: e.src}
		if e.fault.kind == FaultCascade {
			cf.root = e.fault.root
		}
		c := &mmCrash{kind: CrashCascade, fault: cf}
		m.goDown(x, cf, c)
		return c, ""
	}
	return nil, fmt.Sprintf("device %v: Manage returned %v without running the task, nothing queued", X.id, crash)
}

// finish is the end of x's managed task with result res or panic value pv.
func (m *mmModel) finish(x int, res error, pv any, part bool) *mmCrash {
	X := m.devs[x]
	X.managed = false
	if !X.alive {
		// Whatever ended the device while the task ran recorded why.
		return X.crash
	}
	switch {
	case pv != nil:
		f := &mmFault{kind: FaultPanic, val: pv}
		c := &mmCrash{kind: CrashPanic, fault: f}
		m.goDown(x, f, c)
		return c
	case res != nil:
		f := &mmFault{kind: FaultError, err: res}
		c := &mmCrash{kind: CrashError, fault: f}
		m.goDown(x, f, c)
		return c
	case part:
		return nil
	}
	m.goDown(x, nil, nil)
	return nil
}

// cause is what context.Cause of x's task context must be now.
func (m *mmModel) cause(x int) (alive bool, c *mmCrash, f *mmFault) {
	X := m.devs[x]
	return X.alive, X.crash, X.fault
}

// bind compares the fault of every device that went down since the last
// bind with the library's, resolves open cascade sources, and binds them.
func (m *mmModel) bind(lib func(int) *Fault) string {
	downs := m.downs
	m.downs = nil
	for pass := 0; pass < 2; pass++ {
		for _, x := range downs {
			X := m.devs[x]
			cascade := X.fault != nil && X.fault.kind == FaultCascade
			if cascade != (pass == 1) {
				continue
			}
			if msg := m.match(X.fault, lib(x), lib); msg != "" {
				return fmt.Sprintf("device %v: %s", X.id, msg)
			}
			if X.crash != nil && X.crash.kind == CrashCascade {
				X.crash.from = m.devs[X.fault.src].id
			}
		}
	}
	return ""
}

// match compares a library fault with the model's and binds it.
func (m *mmModel) match(mf *mmFault, lf *Fault, lib func(int) *Fault) string {
	if mf == nil {
		if lf != nil {
			return fmt.Sprintf("fault %v, want clean", lf)
		}
		return ""
	}
	if lf == nil {
		return fmt.Sprintf("clean, want a %v fault", mf.kind)
	}
	if mf.lib != nil && mf.lib != lf {
		return fmt.Sprintf("fault %p %v, want the shared %p %v", lf, lf, mf.lib, mf.lib)
	}
	if lf.Kind != mf.kind {
		return fmt.Sprintf("fault %v, want kind %v", lf, mf.kind)
	}
	switch mf.kind {
	case FaultError, FaultKilled:
		if lf.Err != mf.err {
			return fmt.Sprintf("fault %v carries %v, want %v", lf, lf.Err, mf.err)
		}
	case FaultPanic:
		if lf.Value != mf.val || len(lf.Stack) == 0 {
			return fmt.Sprintf("panic fault %v (stack %d bytes), want value %v", lf, len(lf.Stack), mf.val)
		}
	case FaultCascade:
		src := -1
		for _, c := range mf.cands {
			if m.devs[c].id == lf.Device {
				src = c
			}
		}
		if src < 0 {
			var ids []DeviceID
			for _, c := range mf.cands {
				ids = append(ids, m.devs[c].id)
			}
			return fmt.Sprintf("cascade from %v, want one of %v", lf.Device, ids)
		}
		if lf.Cause == nil || lf.Cause != lib(src) {
			return fmt.Sprintf("cascade cause %p, want %v's fault %p", lf.Cause, lf.Device, lib(src))
		}
		rd, rf := lf.Root()
		if rd != m.devs[mf.root].id || rf != lib(mf.root) || rf == nil || rf.Kind == FaultCascade {
			return fmt.Sprintf("cascade root %v %v, want %v %v", rd, rf, m.devs[mf.root].id, lib(mf.root))
		}
		mf.src = src
	}
	mf.lib = lf
	return ""
}

// crashMatch compares what Manage returned with the model's crash.
func (m *mmModel) crashMatch(got error, want *mmCrash, lib func(int) *Fault) string {
	if want == nil {
		if got != nil {
			return fmt.Sprintf("Manage returned %v, want nil", got)
		}
		return ""
	}
	var c *Crash
	if !errors.As(got, &c) || got != error(c) {
		return fmt.Sprintf("Manage returned %v, want a %v crash", got, want.kind)
	}
	if c.Kind != want.kind {
		return fmt.Sprintf("Manage returned %v (%v), want %v", c, c.Kind, want.kind)
	}
	switch want.kind {
	case CrashPowerOff, CrashKilled:
		if c.Device != want.from {
			return fmt.Sprintf("crash %v names %v, want %v", c, c.Device, want.from)
		}
	case CrashCascade:
		if want.fault.lib == nil {
			return "cascade crash of an unbound fault"
		}
		if c.Device != m.devs[want.fault.src].id {
			return fmt.Sprintf("crash %v names %v, want %v", c, c.Device, m.devs[want.fault.src].id)
		}
	}
	if want.kind == CrashPowerOff || want.fault == nil {
		if c.Fault != nil {
			return fmt.Sprintf("%v crash with fault %v, want none", c.Kind, c.Fault)
		}
		return ""
	}
	return m.match(want.fault, c.Fault, lib)
}

// ---------------------------------------------------------------------------
// The invariant checker of concurrent runs.

// mtCheck checks a finished concurrent run r (every task returned, nothing
// running) and reports every violation.
func mtCheck(r *mtRun) []string {
	var bad []string
	fail := func(format string, args ...any) {
		if len(bad) < 20 {
			bad = append(bad, fmt.Sprintf(format, args...))
		}
	}
	n := len(r.devs)
	idx := map[DeviceID]int{}
	alive := make([]bool, n)
	faults := make([]*Fault, n)
	for i, d := range r.devs {
		idx[d.h.ID()] = i
		alive[i] = d.h.Alive()
		faults[i] = d.h.fault()
		if alive[i] && faults[i] != nil {
			fail("%v: alive with fault %v", d.h.ID(), faults[i])
		}
	}
	type edge struct{ t, w int }
	linkOK := map[edge]int{}
	unExact := map[edge]int{}
	unMaybe := map[edge]int{}
	lastUnlink := map[edge]uint64{} // start stamp of the latest exact true unlink
	lastLink := map[edge]uint64{}   // end stamp of the latest successful link
	type pair = mtPair
	shutOK := map[pair]int{}
	shutLate := map[pair]int{} // sender possibly down already when the request was queued
	downCalls := make([]int, n)
	downBy := make([]error, n)  // the Disconnect error or Kill reason that succeeded
	downKill := make([]bool, n) // ... by a Kill
	killers := make([][]DeviceID, n)
	harness := make([]bool, n) // a Disconnect or Drop from outside ran on it
	for _, rc := range r.recs {
		if rc.op.kind == mtLink && rc.err == nil {
			for _, e := range mtEdges(rc.a, rc.b, rc.op.mode) {
				linkOK[edge{e[0], e[1]}]++
				lastLink[edge{e[0], e[1]}] = max(lastLink[edge{e[0], e[1]}], rc.t1)
			}
		}
	}
	// downAt[x]: a call that ended at that stamp saw x down. doneAt[x]: the
	// call that took x down, with every notification, ended at that stamp.
	downAt := make([]uint64, n)
	doneAt := make([]uint64, n)
	for x := range n {
		downAt[x], doneAt[x] = ^uint64(0), ^uint64(0)
	}
	saw := func(x int, t uint64) {
		if x >= 0 {
			downAt[x] = min(downAt[x], t)
		}
	}
	for _, rc := range r.recs {
		switch k := rc.op.kind; {
		case k == mtDisconnect && rc.a >= 0 && (rc.err == nil || errors.Is(rc.err, ErrDeviceDown)):
			saw(rc.a, rc.t1)
			if rc.err == nil {
				doneAt[rc.a] = rc.t1
			}
		case (k == mtKill || k == mtShutdown) && rc.b >= 0 && errors.Is(rc.err, ErrLinkDown):
			saw(rc.b, rc.t1)
		case k == mtKill && rc.b >= 0 && rc.err == nil:
			saw(rc.b, rc.t1)
			doneAt[rc.b] = rc.t1
		case k == mtDrop:
			saw(rc.a, rc.t1)
		case (k == mtLink || k == mtWatch) && errors.Is(rc.err, ErrDeviceDown):
			saw(rc.a, rc.t1)
		case k == mtLink && errors.Is(rc.err, ErrLinkDown):
			saw(rc.b, rc.t1)
		}
	}
	for _, rc := range r.recs {
		a, b := rc.a, rc.b
		switch k := rc.op.kind; {
		case k == mtLink && rc.err == nil && (downAt[a] < rc.t0 || downAt[b] < rc.t0):
			fail("%v succeeded after a call had seen a device down (rule 8)", rc)
		case k == mtLink && errors.Is(rc.err, ErrLinkDown) && downAt[a] < rc.t0:
			fail("%v: ErrLinkDown, but this side was already down (self is checked first, rule 4)", rc)
		case (k == mtKill || k == mtShutdown) && rc.err == nil && b >= 0 && downAt[b] < rc.t0:
			fail("%v succeeded on a device already seen down", rc)
		case k == mtDisconnect && rc.err == nil && downAt[a] < rc.t0:
			fail("%v succeeded on a device already seen down", rc)
		case (k == mtUnlink || k == mtUnlinkFlush) && rc.ok && rc.op.mode != Peer && rc.op.mode.valid():
			for _, e := range mtEdges(a, b, rc.op.mode) {
				if doneAt[e[0]] < rc.t0 {
					fail("%v returned true after the notifier's disconnect had returned", rc)
				}
			}
		}
	}
	for _, rc := range r.recs {
		a, b := rc.a, rc.b
		switch rc.op.kind {
		case mtLink:
			if msg := mtWantLinkErr(rc, "link"); msg != "" {
				fail("%s", msg)
				continue
			}
			if rc.err != nil {
				switch {
				case errors.Is(rc.err, ErrDeviceDown) && alive[a]:
					fail("%v: ErrDeviceDown, but %v is alive", rc, r.devs[a].h.ID())
				case errors.Is(rc.err, ErrLinkDown) && alive[b]:
					fail("%v: ErrLinkDown, but %v is alive", rc, r.devs[b].h.ID())
				}
				continue
			}
		case mtUnlink, mtUnlinkFlush:
			if msg := mtWantLinkErr(rc, "unlink"); msg != "" {
				fail("%s", msg)
				continue
			}
			if rc.err == nil && !rc.ok && rc.op.kind == mtUnlinkFlush && rc.op.mode&Monitor != 0 {
				// No active edge removed, but a notification of b's that
				// was queued may have been flushed (rule 6).
				unMaybe[edge{b, a}]++
			}
			if rc.err != nil || !rc.ok {
				continue
			}
			es := mtEdges(a, b, rc.op.mode)
			var live [][2]int
			for _, e := range es {
				if linkOK[edge{e[0], e[1]}] > 0 {
					live = append(live, e)
				}
			}
			switch len(live) {
			case 0:
				fail("%v returned true, but no link of that direction ever succeeded", rc)
			case 1:
				e := edge{live[0][0], live[0][1]}
				unExact[e]++
				lastUnlink[e] = max(lastUnlink[e], rc.t0)
			default:
				for _, e := range live {
					unMaybe[edge{e[0], e[1]}]++
				}
			}
		case mtShutdown:
			if rc.b < 0 {
				if !errors.Is(rc.err, ErrInvalid) {
					fail("%v on a nil device: %v", rc, rc.err)
				}
				continue
			}
			var le *LinkError
			switch {
			case rc.err == nil:
				shutOK[pair{rc.from, b}]++
				if !rc.alive {
					shutLate[pair{rc.from, b}]++
				}
			case !errors.As(rc.err, &le) || !errors.Is(rc.err, ErrLinkDown):
				fail("%v: undocumented error %v", rc, rc.err)
			case alive[b]:
				fail("%v: ErrLinkDown, but the device is alive", rc)
			}
		case mtKill:
			if rc.b < 0 {
				if !errors.Is(rc.err, ErrInvalid) {
					fail("%v on a nil device: %v", rc, rc.err)
				}
				continue
			}
			var le *LinkError
			switch {
			case rc.err == nil:
				downCalls[b]++
				downBy[b], downKill[b] = rc.val, true
				killers[b] = append(killers[b], rc.from)
			case !errors.As(rc.err, &le) || !errors.Is(rc.err, ErrLinkDown):
				fail("%v: undocumented error %v", rc, rc.err)
			}
		case mtDisconnect:
			if a < 0 {
				if !errors.Is(rc.err, ErrInvalid) {
					fail("%v on a nil device: %v", rc, rc.err)
				}
				continue
			}
			var de *DeviceError
			switch {
			case rc.err == nil:
				downCalls[a]++
				downBy[a] = rc.val
				harness[a] = true
			case !errors.As(rc.err, &de) || !errors.Is(rc.err, ErrDeviceDown):
				fail("%v: undocumented error %v", rc, rc.err)
			}
		case mtDrop:
			if a >= 0 {
				harness[a] = true
			}
		case mtWatch:
			var de *DeviceError
			switch {
			case a < 0:
				if !errors.Is(rc.err, ErrInvalid) {
					fail("%v on a nil device: %v", rc, rc.err)
				}
			case rc.err == nil:
				if !rc.ok {
					fail("%v: neither a message nor the function's value", rc)
				}
			case !errors.As(rc.err, &de) || !errors.Is(rc.err, ErrDeviceDown) && !errors.Is(rc.err, ErrBusy):
				fail("%v: undocumented error %v", rc, rc.err)
			case errors.Is(rc.err, ErrDeviceDown) && alive[a]:
				fail("%v: ErrDeviceDown, but the device is alive", rc)
			case errors.Is(rc.err, ErrBusy) && !r.devs[a].managed.Load():
				fail("%v: ErrBusy, but no task ever ran on the device", rc)
			}
		}
	}
	for x := range n {
		if downCalls[x] > 1 {
			fail("%v: %d Disconnect/Kill calls succeeded", r.devs[x].h.ID(), downCalls[x])
		}
		if downCalls[x] == 1 {
			f := faults[x]
			switch {
			case alive[x]:
				fail("%v: Disconnect/Kill succeeded but the device is alive", r.devs[x].h.ID())
			case downKill[x] && (f == nil || f.Kind != FaultKilled || f.Err != downBy[x]):
				fail("%v: killed with %v, fault %v", r.devs[x].h.ID(), downBy[x], f)
			case !downKill[x] && downBy[x] == nil && f != nil:
				fail("%v: disconnected cleanly, fault %v", r.devs[x].h.ID(), f)
			case !downKill[x] && downBy[x] != nil && (f == nil || f.Kind != FaultError || f.Err != downBy[x]):
				fail("%v: disconnected with %v, fault %v", r.devs[x].h.ID(), downBy[x], f)
			}
		}
	}

	// What every device received.
	got := map[edge]int{}
	for w, d := range r.devs {
		seenDisc := map[DeviceID]bool{}
		afterDisc := map[DeviceID]int{}
		shut := map[DeviceID]int{}
		for _, msg := range d.log {
			r.notes++
			switch msg.Kind() {
			case Disconnected:
				t, ok := idx[msg.From()]
				if !ok {
					fail("%v received %v from outside the program", d.h.ID(), msg)
					continue
				}
				if seenDisc[msg.From()] {
					fail("%v received a second Disconnected from %v", d.h.ID(), msg.From())
				}
				seenDisc[msg.From()] = true
				got[edge{t, w}]++
				if alive[t] {
					fail("%v received %v, but %v is alive", d.h.ID(), msg, msg.From())
				}
				if msg.Fault() != faults[t] {
					fail("%v received %v with fault %p, but %v's fault is %p %v", d.h.ID(), msg, msg.Fault(), msg.From(), faults[t], faults[t])
				}
			case Shutdown:
				shut[msg.From()]++
				if seenDisc[msg.From()] {
					afterDisc[msg.From()]++
				}
			default:
				fail("%v received a message of kind %v", d.h.ID(), msg.Kind())
			}
		}
		for from, k := range shut {
			p := pair{from, w}
			switch {
			case k > shutOK[p]:
				fail("%v received %d Shutdown from %v, %d requests succeeded", d.h.ID(), k, from, shutOK[p])
			case k < shutOK[p] && !d.managed.Load():
				fail("%v (never managed) received %d Shutdown from %v, %d requests succeeded", d.h.ID(), k, from, shutOK[p])
			}
			if afterDisc[from] > shutLate[p] {
				fail("%v: %d Shutdown from %v after its Disconnected, only %d sent after it went down (FIFO)", d.h.ID(), afterDisc[from], from, shutLate[p])
			}
		}
		for p, k := range shutOK {
			if p.to == w && shut[p.from] == 0 && k > 0 && !d.managed.Load() {
				fail("%v (never managed) received no Shutdown from %v, %d requests succeeded", d.h.ID(), p.from, k)
			}
		}
	}

	// Every edge.
	for t := range n {
		for w := range n {
			if t == w {
				continue
			}
			e := edge{t, w}
			T, W := r.devs[t], r.devs[w]
			casc := 0
			if f := faults[w]; f != nil && f.Kind == FaultCascade && f.Device == T.h.ID() {
				casc = 1
			}
			k, lk, ue, um := got[e], linkOK[e], unExact[e], unMaybe[e]
			switch {
			case k+casc > 1:
				fail("edge %v->%v: %d notifications and cascade %d (doubled)", T.h.ID(), W.h.ID(), k, casc)
			case lk == 0 && k+casc > 0:
				fail("edge %v->%v: notified (%d, cascade %d) without a successful link", T.h.ID(), W.h.ID(), k, casc)
			case lk == 0 && ue > 0:
				fail("edge %v->%v: unlink returned true without a successful link", T.h.ID(), W.h.ID())
			case k+casc+ue > lk:
				fail("edge %v->%v: %d links succeeded but %d notifications, %d cascades and %d unlinks", T.h.ID(), W.h.ID(), lk, k, casc, ue)
			}
			if k+casc > 0 && ue > 0 && lastLink[e] < lastUnlink[e] {
				fail("edge %v->%v: notified after Unlink returned true (no link since)", T.h.ID(), W.h.ID())
			}
			wm, tm := mtMode(W, T), mtMode(T, W)
			switch {
			case !alive[w] && wm != 0, !alive[t] && tm != 0:
				// reported below with the link tables
			case alive[t] && alive[w]:
				active := wm&Monitor != 0
				if active != (tm&Notify != 0) {
					fail("edge %v->%v: half edge (watcher %v, notifier %v)", T.h.ID(), W.h.ID(), wm, tm)
				}
				if active && lk == 0 {
					fail("edge %v->%v: active without a successful link", T.h.ID(), W.h.ID())
				}
				if !active && lk > 0 && ue+um == 0 {
					fail("edge %v->%v: linked, never unlinked, both alive, but gone (lost)", T.h.ID(), W.h.ID())
				}
			case !alive[t] && alive[w]:
				if wm != 0 {
					fail("edge %v->%v: watcher keeps %v for a dead notifier", T.h.ID(), W.h.ID(), wm)
				}
				absorbed := faults[t] == nil && W.managed.Load()
				if lk > 0 && k+ue+um == 0 && !absorbed {
					fail("edge %v->%v: linked, never unlinked, notifier down, watcher alive, no notification (lost)", T.h.ID(), W.h.ID())
				}
			}
		}
	}

	// Faults and crashes.
	for x, d := range r.devs {
		f := faults[x]
		if f == nil {
			continue
		}
		switch f.Kind {
		case FaultDrop:
			if f != dropFault || !harness[x] {
				fail("%v: drop fault %p without a Drop (shared %p)", d.h.ID(), f, dropFault)
			}
		case FaultCascade:
			t, ok := idx[f.Device]
			switch {
			case !ok:
				fail("%v: cascade from %v outside the program", d.h.ID(), f.Device)
			case f.Cause == nil || f.Cause != faults[t]:
				fail("%v: cascade cause %p, %v's fault is %p", d.h.ID(), f.Cause, f.Device, faults[t])
			case linkOK[edge{t, x}] == 0:
				fail("%v: cascade from %v, which it never watched", d.h.ID(), f.Device)
			case !d.managed.Load():
				fail("%v: cascade, but it never ran a task", d.h.ID())
			default:
				rd, rf := f.Root()
				wd, wf := faults[t].Root()
				if faults[t].Kind != FaultCascade {
					wd, wf = f.Device, faults[t]
				}
				if rd != wd || rf != wf || rf == nil || rf.Kind == FaultCascade {
					fail("%v: cascade root %v %v, want %v %v", d.h.ID(), rd, rf, wd, wf)
				}
			}
		case FaultError:
			if downBy[x] == nil && !r.taskErr(x, f.Err) {
				fail("%v: error fault %v from no Disconnect and no task", d.h.ID(), f)
			}
		case FaultPanic:
			if !r.taskPanic(x, f.Value) || len(f.Stack) == 0 {
				fail("%v: panic fault %v from no task", d.h.ID(), f)
			}
		case FaultKilled:
			if !downKill[x] {
				fail("%v: killed without a successful Kill", d.h.ID())
			}
		default:
			fail("%v: fault of kind %v", d.h.ID(), f.Kind)
		}
	}
	for _, rc := range r.trecs {
		x := rc.a
		if x < 0 {
			if !errors.Is(rc.err, ErrInvalid) {
				fail("%v on a nil device: %v", rc, rc.err)
			}
			continue
		}
		f := faults[x]
		var c *Crash
		var de *DeviceError
		switch {
		case rc.err == nil:
			if !rc.op.part && (alive[x] || f != nil) {
				fail("%v returned nil, device alive %v fault %v", rc, alive[x], f)
			}
		case errors.As(rc.err, &de):
			if !errors.Is(rc.err, ErrDeviceDown) && !errors.Is(rc.err, ErrBusy) {
				fail("%v: undocumented error %v", rc, rc.err)
			}
		case !errors.As(rc.err, &c):
			fail("%v: undocumented error %v", rc, rc.err)
		case alive[x]:
			fail("%v returned %v, but the device is alive", rc, c)
		case c.Kind == CrashPowerOff:
			if f != nil || c.Fault != nil || shutOK[mtPair{c.Device, x}] == 0 {
				fail("%v returned %v; fault %v", rc, c, f)
			}
		case c.Kind == CrashKilled:
			if c.Fault != f || !slices.Contains(killers[x], c.Device) {
				fail("%v returned %v, fault %v, killers %v", rc, c, f, killers[x])
			}
		case c.Kind == CrashCascade:
			if c.Fault != f || f == nil || f.Device != c.Device {
				fail("%v returned %v, fault %v", rc, c, f)
			}
		case c.Kind == CrashError:
			if c.Fault == nil || c.Fault.Kind != FaultError || c.Fault != f || c.Fault.Err != rc.val {
				fail("%v returned %v, fault %v", rc, c, f)
			}
		case c.Kind == CrashPanic:
			if c.Fault == nil || c.Fault.Value != rc.val || c.Fault != f {
				fail("%v returned %v, fault %v", rc, c, f)
			}
		case c.Kind == CrashDisconnected:
			if c.Fault != f || !harness[x] {
				fail("%v returned %v, fault %v, disconnected from outside %v", rc, c, f, harness[x])
			}
		default:
			fail("%v returned %v", rc, c)
		}
	}

	// Bookkeeping: a dead device holds no links; a live one only links to
	// live devices of the program.
	for x, d := range r.devs {
		d.h.d.mu.Lock()
		nl := d.h.d.links.len()
		var peers []*device
		for _, l := range d.h.d.links.links() {
			peers = append(peers, l.peer)
		}
		d.h.d.mu.Unlock()
		if !alive[x] && nl != 0 {
			fail("%v: down with %d links left", d.h.ID(), nl)
		}
		for _, p := range peers {
			i, ok := idx[p.id()]
			if !ok || !alive[i] {
				fail("%v: keeps a link to dead or foreign %v", d.h.ID(), p.id())
			}
		}
	}
	return bad
}

// mtPair is a Shutdown requester and its target.
type mtPair struct {
	from DeviceID
	to   int
}

// mtEdges returns the edges (notifier, watcher) that a.Link(b, mode) makes.
func mtEdges(a, b int, mode LinkMode) [][2]int {
	var es [][2]int
	if mode&Monitor != 0 {
		es = append(es, [2]int{b, a})
	}
	if mode&Notify != 0 {
		es = append(es, [2]int{a, b})
	}
	return es
}

// mtMode reads x's link entry for p (white box).
func mtMode(x, p *mtDev) LinkMode {
	x.h.d.mu.Lock()
	defer x.h.d.mu.Unlock()
	return x.h.d.links.get(p.h.d)
}

// mtWantLinkErr checks a link or unlink record's error against the
// documented ones.
func mtWantLinkErr(rc mtRec, op string) string {
	var want error
	switch {
	case rc.a < 0 || rc.b < 0:
		want = ErrInvalid
	case rc.a == rc.b:
		want = ErrSelfLink
	case !rc.op.mode.valid():
		want = ErrBadMode
	}
	if want != nil {
		if !errors.Is(rc.err, want) {
			return fmt.Sprintf("%v: error %v, want %v", rc, rc.err, want)
		}
		return ""
	}
	if rc.err == nil {
		return ""
	}
	var le *LinkError
	if !errors.As(rc.err, &le) || le.Op != op {
		return fmt.Sprintf("%v: error %v is not a *LinkError for %s", rc, rc.err, op)
	}
	if op == "link" && (errors.Is(rc.err, ErrDeviceDown) || errors.Is(rc.err, ErrLinkDown)) {
		return ""
	}
	return fmt.Sprintf("%v: undocumented error %v", rc, rc.err)
}
