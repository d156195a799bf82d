package backplane

// The random program generator, the sequential runner (checked exactly
// against mmModel) and the concurrent runner (checked by mtCheck) of the
// model-based tester. See RELIABILITY.md.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	mtSlots   = 6 // device slots of a program
	mtWorkers = 4 // goroutines of a concurrent program
)

// mtBoom is the unique error, panic value and kill reason of one operation.
type mtBoom struct{ n int64 }

func (b *mtBoom) Error() string { return "boom " + strconv.FormatInt(b.n, 10) }

var mtBoomN atomic.Int64

func mtNewBoom() *mtBoom { return &mtBoom{mtBoomN.Add(1)} }

// mtRNG returns the generator of a seed: math/rand/v2's PCG.
func mtRNG(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }

// mtGen returns n random operations. conc selects the task kinds of
// concurrent programs (tasks that block until released); sequential
// programs get task bodies instead.
func mtGen(rng *rand.Rand, n int, conc bool, depth int) []mtOp {
	ops := make([]mtOp, 0, n)
	slot := func() int8 {
		if rng.IntN(40) == 0 {
			return -1
		}
		return int8(rng.IntN(mtSlots))
	}
	for range n {
		op := mtOp{a: slot(), b: slot(), via: uint8(rng.IntN(8))}
		if op.a == op.b && rng.IntN(8) != 0 {
			op.b = int8((int(op.b) + 1 + rng.IntN(mtSlots-1)) % mtSlots)
		}
		switch p := rng.IntN(100); {
		case p < 14:
			op.kind = mtCreate
		case p < 44:
			op.kind = mtLink
		case p < 52:
			op.kind = mtUnlink
		case p < 57:
			op.kind = mtUnlinkFlush
		case p < 60:
			op.kind = mtDisconnect
			op.arg = uint8(rng.IntN(2))
		case p < 65:
			op.kind = mtShutdown
		case p < 66:
			op.kind = mtKill
		case p < 68:
			op.kind = mtDrop
		case p < 85:
			op.kind = mtReceive
		case p < 89:
			op.kind = mtWatch
		default:
			op.kind = mtManage
			op.part = rng.IntN(3) != 0
			if conc {
				op.arg = uint8([...]int{mtTaskOK, mtTaskOK, mtTaskErr, mtTaskPanic, mtTaskWait, mtTaskWait, mtTaskWait, mtTaskStubborn}[rng.IntN(8)])
			} else {
				op.arg = uint8(rng.IntN(mtTaskWait))
				if rng.IntN(3) == 0 {
					op.arg = mtTaskOK
				}
				if depth < 2 {
					op.body = mtGen(rng, rng.IntN(4), conc, depth+1)
				}
			}
		}
		switch p := rng.IntN(100); {
		case p < 40:
			op.mode = Monitor
		case p < 70:
			op.mode = Notify
		case p < 98:
			op.mode = Peer
		case p < 99:
			op.mode = 0
		default:
			op.mode = 4
		}
		ops = append(ops, op)
	}
	return ops
}

// mtDecode turns bytes into a program: three bytes an operation.
func mtDecode(data []byte, depth int) (ops []mtOp, rest []byte) {
	for len(data) >= 3 && len(ops) < 300 {
		b0, b1, b2 := data[0], data[1], data[2]
		data = data[3:]
		slot := func(v byte) int8 {
			if int(v&7) >= mtSlots {
				return -1
			}
			return int8(v & 7)
		}
		op := mtOp{kind: mtKind(b0&15) % mtKinds, via: b0 >> 4 & 7, a: slot(b1), b: slot(b2)}
		op.mode = [...]LinkMode{Monitor, Notify, Peer, Peer, Monitor, Notify, 0, 4}[b1>>3&7]
		op.arg = b1 >> 6
		op.part = b2>>3&1 == 1
		if op.kind == mtManage {
			op.arg %= mtTaskWait
			if n := int(b2 >> 4 & 3); n > 0 && depth < 2 {
				window := data[:min(len(data), 3*n)]
				op.body, _ = mtDecode(window, depth+1)
				data = data[len(window):]
			}
		}
		if op.kind == mtDisconnect {
			op.arg &= 1
		}
		ops = append(ops, op)
	}
	return ops, data
}

// mtEncode is mtDecode's inverse, for seed corpora.
func mtEncode(ops []mtOp) []byte {
	var out []byte
	slot := func(s int8) byte {
		if s < 0 {
			return 7
		}
		return byte(s)
	}
	for _, op := range ops {
		m := map[LinkMode]byte{Monitor: 0, Notify: 1, Peer: 2, 0: 6, 4: 7}[op.mode]
		b2 := slot(op.b)
		if op.part {
			b2 |= 8
		}
		body := op.body
		if len(body) > 3 {
			body = body[:3]
		}
		for _, b := range body {
			if len(b.body) > 0 {
				body = nil
			}
		}
		b2 |= byte(len(body)) << 4
		out = append(out, byte(op.kind)|op.via<<4, slot(op.a)|m<<3|op.arg<<6, b2)
		out = append(out, mtEncode(body)...)
	}
	return out
}

// ---------------------------------------------------------------------------
// The sequential runner: every result and every message is compared with
// the model.

type mtSeq struct {
	m     mmModel
	slots [mtSlots]int
	hs    []*Device
	bad   string
	ops   int
	notes int
	trace []string
}

func newMTSeq() *mtSeq {
	s := &mtSeq{}
	for i := range s.slots {
		s.slots[i] = -1
	}
	for i := range mtSlots - 2 {
		s.create(i)
	}
	return s
}

func (s *mtSeq) lib(i int) *Fault { return s.hs[i].fault() }

func (s *mtSeq) failf(format string, args ...any) {
	if s.bad == "" {
		s.bad = fmt.Sprintf(format, args...)
	}
}

func (s *mtSeq) create(slot int) {
	if x := s.slots[slot]; x >= 0 && s.m.devs[x].alive {
		return
	}
	h := New()
	s.hs = append(s.hs, h)
	s.slots[slot] = s.m.add(h.ID())
}

func (s *mtSeq) dev(slot int8) (int, *Device) {
	if slot < 0 || s.slots[slot] < 0 {
		return -1, nil
	}
	return s.slots[slot], s.hs[s.slots[slot]]
}

// run runs the program and then takes every device down, checking each
// step. It reports the first violation, or "".
func (s *mtSeq) run(prog []mtOp) string {
	for _, op := range prog {
		s.exec(op)
		if s.bad != "" {
			return s.bad
		}
	}
	for i, h := range s.hs {
		s.m.drop(i)
		h.Drop()
		s.settle()
	}
	for i := range s.hs {
		s.receive(i, s.hs[i])
	}
	for _, h := range s.hs {
		h.d.mu.Lock()
		n := h.d.links.len()
		h.d.mu.Unlock()
		if n != 0 || h.Alive() || h.Pending() != 0 {
			s.failf("device %v: alive %v, %d links and %d messages left at the end", h.ID(), h.Alive(), n, h.Pending())
		}
	}
	return s.bad
}

// settle binds the faults of devices that went down and compares the
// library's link tables and inboxes with the model's.
func (s *mtSeq) settle() {
	if s.bad != "" {
		return
	}
	if msg := s.m.bind(s.lib); msg != "" {
		s.failf("%s", msg)
		return
	}
	for i, h := range s.hs {
		X := s.m.devs[i]
		if h.Alive() != X.alive {
			s.failf("device %v: alive %v, model %v", h.ID(), h.Alive(), X.alive)
			return
		}
		d := h.d
		d.mu.Lock()
		n := d.links.len()
		ok := n == len(X.links)
		for p, mode := range X.links {
			ok = ok && d.links.get(s.hs[p].d) == mode
		}
		d.mu.Unlock()
		if !ok {
			s.failf("device %v: %d links, model %v", h.ID(), n, X.links)
			return
		}
		lo, hi := 0, len(X.inbox)
		for _, e := range X.inbox {
			if !e.opt {
				lo++
			}
		}
		if p := h.Pending(); p < lo || p > hi {
			s.failf("device %v: %d pending, model %s", h.ID(), p, s.m.inboxString(i))
			return
		}
	}
}

func (s *mtSeq) wantErr(op mtOp, got, want error, wantType string) {
	if want == nil {
		if got != nil {
			s.failf("%v: error %v, want nil", op, got)
		}
		return
	}
	if !errors.Is(got, want) {
		s.failf("%v: error %v, want %v", op, got, want)
		return
	}
	var le *LinkError
	var de *DeviceError
	switch {
	case wantType == "link" && !errors.As(got, &le):
		s.failf("%v: error %T, want *LinkError", op, got)
	case wantType == "device" && !errors.As(got, &de):
		s.failf("%v: error %T, want *DeviceError", op, got)
	}
}

func mtLinkable(h *Device, via uint8) Linkable {
	switch {
	case h == nil && via&4 != 0:
		return nil
	case via&2 != 0:
		return h.Line()
	}
	return h
}

var mtCancelled = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

// receive drains x's inbox, alternating TryReceive and Receive with a
// cancelled context, and checks every message and the final error.
func (s *mtSeq) receive(x int, h *Device) {
	if x < 0 {
		m, ok := h.TryReceive()
		_, err := h.Receive(mtCancelled)
		if ok || !errors.Is(err, ErrInvalid) {
			s.failf("receive on a nil device: %v %v %v", m, ok, err)
		}
		return
	}
	for i := 0; ; i++ {
		var m Message
		var ok bool
		var err error
		if i%2 == 0 {
			m, ok = h.TryReceive()
		} else {
			m, err = h.Receive(mtCancelled)
			ok = err == nil
		}
		if !ok {
			if i%2 == 1 {
				if s.m.devs[x].alive && !errors.Is(err, context.Canceled) {
					s.failf("Receive on live %v with empty inbox: %v", h.ID(), err)
				}
				if !s.m.devs[x].alive && !errors.Is(err, ErrDeviceDown) {
					s.failf("Receive on dead %v with empty inbox: %v", h.ID(), err)
				}
			}
			if msg := s.m.empty(x); msg != "" {
				s.failf("%s", msg)
			}
			return
		}
		s.notes++
		if msg := s.m.take(x, m); msg != "" {
			s.failf("%s", msg)
			return
		}
	}
}

func (s *mtSeq) exec(op mtOp) {
	if s.bad != "" {
		return
	}
	s.ops++
	if len(s.trace) < 400 {
		s.trace = append(s.trace, op.String())
	}
	x, h := s.dev(op.a)
	y, g := s.dev(op.b)
	switch op.kind {
	case mtCreate:
		if op.a >= 0 {
			s.create(int(op.a))
		}
	case mtLink:
		var err error
		if op.via&1 != 0 {
			err = h.Line().Link(mtLinkable(g, op.via), op.mode)
		} else {
			err = h.Link(mtLinkable(g, op.via), op.mode)
		}
		s.wantErr(op, err, s.m.link(x, y, op.mode), "link")
		var le *LinkError
		if errors.As(err, &le) && (le.Op != "link" || le.From != s.m.id(x) || le.To != s.m.id(y)) {
			s.failf("%v: %#v names the wrong devices", op, le)
		}
	case mtUnlink, mtUnlinkFlush:
		var ok bool
		var err error
		switch {
		case op.kind == mtUnlinkFlush:
			ok, err = h.UnlinkFlush(mtLinkable(g, op.via), op.mode)
		case op.via&1 != 0:
			ok, err = h.Line().Unlink(mtLinkable(g, op.via), op.mode)
		default:
			ok, err = h.Unlink(mtLinkable(g, op.via), op.mode)
		}
		want, werr := s.m.unlink(x, y, op.mode, op.kind == mtUnlinkFlush)
		s.wantErr(op, err, werr, "link")
		if ok != want {
			s.failf("%v returned %v, model %v", op, ok, want)
		}
	case mtDisconnect:
		var e error
		if op.arg == 1 {
			e = mtNewBoom()
		}
		s.wantErr(op, h.Disconnect(e), s.m.disconnect(x, e), "device")
	case mtShutdown:
		from := s.m.id(x)
		s.wantErr(op, g.Line().Shutdown(from), s.m.shutdown(from, y), "link")
	case mtKill:
		from, reason := s.m.id(x), error(mtNewBoom())
		if op.via&1 != 0 {
			reason = nil
		}
		s.wantErr(op, g.Line().Kill(from, reason), s.m.kill(from, y, reason), "link")
	case mtDrop:
		if op.a < mtSlots {
			h.Drop()
			s.m.drop(x)
		}
	case mtReceive:
		s.receive(x, h)
	case mtWatch:
		w, err := Watch(context.Background(), h, func(context.Context) (int, error) { return 7, nil })
		switch want := s.m.manageErr(x); {
		case want != nil:
			s.wantErr(op, err, want, "device")
		case err != nil:
			s.failf("%v: %v", op, err)
		case w.Messaged:
			s.notes++
			if msg := s.m.take(x, w.Message); msg != "" {
				s.failf("watch: %s", msg)
			}
		case w.Value != 7:
			s.failf("%v: value %d", op, w.Value)
		default:
			if msg := s.m.empty(x); msg != "" {
				s.failf("watch: %s", msg)
			}
		}
	case mtManage:
		s.manage(op, x, h)
	}
	s.settle()
}

func (s *mtSeq) manage(op mtOp, x int, h *Device) {
	started := false
	boom := mtNewBoom()
	var res error
	var pv any
	task := func(ctx context.Context) error {
		started = true
		if msg := s.m.beginManaged(x); msg != "" {
			s.failf("%s", msg)
			return nil
		}
		for _, b := range op.body {
			s.exec(b)
		}
		s.checkCause(op, x, context.Cause(ctx))
		switch op.arg {
		case mtTaskErr:
			res = boom
		case mtTaskPanic:
			pv = boom
			panic(boom)
		case mtTaskCause:
			res = context.Cause(ctx)
		}
		return res
	}
	var err error
	if op.part {
		err = h.PartManage(context.Background(), task)
	} else {
		err = h.Manage(context.Background(), task)
	}
	if s.bad != "" {
		return
	}
	if !started {
		if want := s.m.manageErr(x); want != nil {
			s.wantErr(op, err, want, "device")
			return
		}
		var c *Crash
		errors.As(err, &c)
		want, msg := s.m.drainCrash(x, c)
		if msg != "" {
			s.failf("%v: %s", op, msg)
			return
		}
		s.settle()
		if msg := s.m.crashMatch(err, want, s.lib); msg != "" {
			s.failf("%v: %s", op, msg)
		}
		return
	}
	want := s.m.finish(x, res, pv, op.part)
	s.settle()
	if msg := s.m.crashMatch(err, want, s.lib); msg != "" {
		s.failf("%v: %s", op, msg)
	}
}

// checkCause compares the task context's cause with the model (rule 17).
func (s *mtSeq) checkCause(op mtOp, x int, got error) {
	s.settle()
	alive, c, f := s.m.cause(x)
	var gc *Crash
	switch {
	case alive:
		if got != nil {
			s.failf("%v: context cancelled (%v) while the device is up", op, got)
		}
	case c != nil:
		if !errors.As(got, &gc) || gc.Kind != c.kind {
			s.failf("%v: context cause %v, want a %v crash", op, got, c.kind)
		}
	case f != nil:
		if gf, ok := got.(*Fault); !ok || gf != f.lib {
			s.failf("%v: context cause %v, want the device's fault %v", op, got, f.lib)
		}
	default:
		if !errors.Is(got, ErrDeviceDown) {
			s.failf("%v: context cause %v, want ErrDeviceDown", op, got)
		}
	}
}

// ---------------------------------------------------------------------------
// The concurrent runner.

type mtDev struct {
	h       *Device
	rmu     sync.Mutex // serialises this device's receives, so log keeps inbox order
	log     []Message
	managed atomic.Bool // a Manage or PartManage was called on it
}

// mtRec is what one call returned.
type mtRec struct {
	op     mtOp
	a, b   int      // device indices, -1 for nil
	from   DeviceID // Shutdown, Kill: the requester
	err    error
	ok     bool
	alive  bool  // Shutdown: the requester was still alive after the call
	val    error // the unique error, panic value or reason of the call
	t0, t1 uint64
}

func (rc mtRec) String() string { return fmt.Sprintf("%v[dev %d,%d]", rc.op, rc.a, rc.b) }

type mtRun struct {
	slots   [mtSlots]atomic.Pointer[mtDev]
	mu      sync.Mutex
	devs    []*mtDev
	index   map[*mtDev]int
	clock   atomic.Uint64
	release chan struct{}
	tasks   sync.WaitGroup
	tmu     sync.Mutex
	trecs   []mtRec
	recs    []mtRec
	notes   int
}

func (r *mtRun) create(slot int) {
	cur := r.slots[slot].Load()
	if cur != nil && cur.h.Alive() {
		return
	}
	d := &mtDev{h: New()}
	r.mu.Lock()
	r.index[d] = len(r.devs)
	r.devs = append(r.devs, d)
	r.mu.Unlock()
	r.slots[slot].CompareAndSwap(cur, d)
}

func (r *mtRun) dev(slot int8) (int, *mtDev, *Device) {
	if slot < 0 {
		return -1, nil, nil
	}
	d := r.slots[slot].Load()
	if d == nil {
		return -1, nil, nil
	}
	r.mu.Lock()
	i := r.index[d]
	r.mu.Unlock()
	return i, d, d.h
}

func (r *mtRun) receive(d *mtDev) {
	d.rmu.Lock()
	defer d.rmu.Unlock()
	for i := 0; ; i++ {
		var m Message
		var ok bool
		if i%2 == 0 {
			m, ok = d.h.TryReceive()
		} else {
			var err error
			m, err = d.h.Receive(mtCancelled)
			ok = err == nil
		}
		if !ok {
			return
		}
		d.log = append(d.log, m)
	}
}

func (r *mtRun) exec(op mtOp, recs *[]mtRec) {
	x, xd, h := r.dev(op.a)
	y, _, g := r.dev(op.b)
	rc := mtRec{op: op, a: x, b: y}
	rc.t0 = r.clock.Add(1)
	switch op.kind {
	case mtCreate:
		if op.a >= 0 {
			r.create(int(op.a))
		}
		return
	case mtLink:
		if op.via&1 != 0 {
			rc.err = h.Line().Link(mtLinkable(g, op.via), op.mode)
		} else {
			rc.err = h.Link(mtLinkable(g, op.via), op.mode)
		}
	case mtUnlink, mtUnlinkFlush:
		switch {
		case op.kind == mtUnlinkFlush:
			rc.ok, rc.err = h.UnlinkFlush(mtLinkable(g, op.via), op.mode)
		case op.via&1 != 0:
			rc.ok, rc.err = h.Line().Unlink(mtLinkable(g, op.via), op.mode)
		default:
			rc.ok, rc.err = h.Unlink(mtLinkable(g, op.via), op.mode)
		}
	case mtDisconnect:
		if op.arg == 1 {
			rc.val = mtNewBoom()
		}
		rc.err = h.Disconnect(rc.val)
	case mtShutdown:
		rc.from = h.ID()
		rc.err = g.Line().Shutdown(rc.from)
		rc.alive = h == nil || h.Alive()
	case mtKill:
		rc.from, rc.val = h.ID(), mtNewBoom()
		rc.err = g.Line().Kill(rc.from, rc.val)
	case mtDrop:
		h.Drop()
	case mtReceive:
		if xd != nil {
			r.receive(xd)
		}
		return
	case mtWatch:
		// Under the receive lock, so that a message Watch returns is logged
		// in inbox order.
		if xd != nil {
			xd.rmu.Lock()
		}
		w, err := Watch(context.Background(), h, func(context.Context) (int, error) { return 7, nil })
		rc.err, rc.ok = err, w.Messaged || w.Value == 7
		if err == nil && w.Messaged {
			xd.log = append(xd.log, w.Message)
		}
		if xd != nil {
			xd.rmu.Unlock()
		}
	case mtManage:
		if xd != nil {
			xd.managed.Store(true)
		}
		rc.val = mtNewBoom()
		r.tasks.Add(1)
		go r.manage(rc, h)
		return
	}
	rc.t1 = r.clock.Add(1)
	*recs = append(*recs, rc)
}

func (r *mtRun) manage(rc mtRec, h *Device) {
	defer r.tasks.Done()
	task := func(ctx context.Context) error {
		switch rc.op.arg {
		case mtTaskErr:
			return rc.val
		case mtTaskPanic:
			panic(rc.val)
		case mtTaskWait:
			select {
			case <-ctx.Done():
			case <-r.release:
			}
			return context.Cause(ctx)
		case mtTaskStubborn:
			<-r.release
		}
		return nil
	}
	if rc.op.part {
		rc.err = h.PartManage(context.Background(), task)
	} else {
		rc.err = h.Manage(context.Background(), task)
	}
	r.tmu.Lock()
	r.trecs = append(r.trecs, rc)
	r.tmu.Unlock()
}

func (r *mtRun) taskErr(x int, err error) bool {
	for _, rc := range r.trecs {
		if rc.a == x && rc.op.arg == mtTaskErr && rc.val == err {
			return true
		}
	}
	return false
}

func (r *mtRun) taskPanic(x int, v any) bool {
	for _, rc := range r.trecs {
		if rc.a == x && rc.op.arg == mtTaskPanic && any(rc.val) == v {
			return true
		}
	}
	return false
}

// mtStats counts what the tester did.
type mtStats struct {
	programs, ops, notes, violations int64
}

func (s *mtStats) add(o mtStats) {
	s.programs += o.programs
	s.ops += o.ops
	s.notes += o.notes
	s.violations += o.violations
}

// mtConcurrent generates the program of seed, runs it from mtWorkers
// goroutines, checks it and tears it down. It returns what it did and the
// violations found.
func mtConcurrent(seed uint64, perWorker int) (mtStats, []string) {
	rng := mtRNG(seed)
	progs := make([][]mtOp, mtWorkers)
	for i := range progs {
		progs[i] = mtGen(rng, perWorker, true, 0)
	}
	r := &mtRun{index: map[*mtDev]int{}, release: make(chan struct{})}
	for i := range mtSlots - 1 {
		r.create(i)
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	results := make([][]mtRec, mtWorkers)
	for w := range mtWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for _, op := range progs[w] {
				r.exec(op, &results[w])
			}
		}()
	}
	close(start)
	wg.Wait()
	close(r.release)
	r.tasks.Wait()
	for _, rs := range results {
		r.recs = append(r.recs, rs...)
	}
	for _, d := range r.devs {
		r.receive(d)
	}
	bad := mtCheck(r)
	bad = append(bad, mtTeardown(r)...)
	st := mtStats{programs: 1, ops: int64(mtWorkers * perWorker), notes: int64(r.notes)}
	st.violations = int64(len(bad))
	return st, bad
}

// mtTeardown drops the devices still alive one by one, each time checking
// that exactly its watchers (read from the link tables, checked by mtCheck)
// are told, then that nothing is left anywhere.
func mtTeardown(r *mtRun) []string {
	var bad []string
	for _, t := range r.devs {
		if !t.h.Alive() {
			continue
		}
		want := map[int]bool{}
		for w, d := range r.devs {
			if d != t && d.h.Alive() && mtMode(d, t)&Monitor != 0 {
				want[w] = true
			}
		}
		t.h.Drop()
		for w, d := range r.devs {
			n := len(d.log)
			r.receive(d)
			got := d.log[n:]
			r.notes += len(got)
			switch {
			case want[w] && (len(got) != 1 || got[0].Kind() != Disconnected || got[0].From() != t.h.ID() || got[0].Fault() != dropFault):
				bad = append(bad, fmt.Sprintf("teardown: %v dropped, watcher %v received %v", t.h.ID(), d.h.ID(), got))
			case !want[w] && len(got) != 0:
				bad = append(bad, fmt.Sprintf("teardown: %v dropped, non-watcher %v received %v", t.h.ID(), d.h.ID(), got))
			}
		}
	}
	for _, d := range r.devs {
		d.h.d.mu.Lock()
		n, p := d.h.d.links.len(), d.h.d.pending()
		d.h.d.mu.Unlock()
		if n != 0 || p != 0 || d.h.Alive() {
			bad = append(bad, fmt.Sprintf("teardown: %v alive %v with %d links and %d messages left", d.h.ID(), d.h.Alive(), n, p))
		}
	}
	return bad
}

// mtSequential runs the program of seed sequentially against the model.
func mtSequential(seed uint64, n int) (mtStats, string, []string) {
	prog := mtGen(mtRNG(seed), n, false, 0)
	s := newMTSeq()
	bad := s.run(prog)
	st := mtStats{programs: 1, ops: int64(s.ops), notes: int64(s.notes)}
	if bad != "" {
		st.violations = 1
	}
	return st, bad, s.trace
}

// mtEnvSeed returns BACKPLANE_SEED if set: run just that program.
func mtEnvSeed(t testing.TB) (uint64, bool) {
	v := os.Getenv("BACKPLANE_SEED")
	if v == "" {
		return 0, false
	}
	s, err := strconv.ParseUint(v, 0, 64)
	if err != nil {
		t.Fatalf("BACKPLANE_SEED=%q: %v", v, err)
	}
	return s, true
}

// mtBaseSeed is the first seed of a run: random unless BACKPLANE_BASESEED
// is set, and always printed.
func mtBaseSeed(t testing.TB) uint64 {
	if v := os.Getenv("BACKPLANE_BASESEED"); v != "" {
		s, err := strconv.ParseUint(v, 0, 64)
		if err != nil {
			t.Fatalf("BACKPLANE_BASESEED=%q: %v", v, err)
		}
		return s
	}
	return rand.Uint64()
}

// mtLoop runs concurrent programs (and, every fourth one, a sequential one)
// from base until d has passed, and reports like TestModelConcurrent.
func mtLoop(t *testing.T, base uint64, d time.Duration, perWorker int) mtStats {
	var st mtStats
	deadline := time.Now().Add(d)
	for i := uint64(0); time.Now().Before(deadline) || i == 0; i++ {
		seed := base + i
		if i%4 == 3 {
			s, bad, trace := mtSequential(seed, 120)
			st.add(s)
			if bad != "" {
				t.Errorf("model: sequential program seed=%d violates the model: %s\nreproduce: BACKPLANE_SEED=%d go test -run 'TestModelSequential$' .\nprogram:\n%s", seed, bad, seed, mtTraceString(trace))
				return st
			}
			continue
		}
		s, bad := mtConcurrent(seed, perWorker)
		st.add(s)
		if len(bad) > 0 {
			t.Errorf("model: concurrent program seed=%d: %d violations:\n  %s\nreproduce: BACKPLANE_SEED=%d go test -race -run 'TestModelConcurrent$' .", seed, len(bad), strings.Join(bad, "\n  "), seed)
			return st
		}
	}
	return st
}

func mtTraceString(trace []string) string {
	out := ""
	for i, s := range trace {
		out += fmt.Sprintf("  %3d %s\n", i, s)
	}
	return out
}

// mtReport prints the one-line summary to the test log and, with -v, to
// stdout.
func mtReport(t *testing.T, st mtStats, seed uint64) {
	line := fmt.Sprintf("model: programs=%d ops=%d notifications=%d violations=%d seed=%d",
		st.programs, st.ops, st.notes, st.violations, seed)
	t.Log(line)
	if testing.Verbose() {
		fmt.Println(line)
	}
}

// mtDuration is how long TestModelConcurrent runs: BACKPLANE_MODEL_TIME or
// two seconds (half that with -short).
func mtDuration(t testing.TB) time.Duration {
	if v := os.Getenv("BACKPLANE_MODEL_TIME"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("BACKPLANE_MODEL_TIME=%q: %v", v, err)
		}
		return d
	}
	if testing.Short() {
		return time.Second
	}
	return 2 * time.Second
}

// TestModelConcurrent runs random programs from many goroutines at once and
// checks every run against the invariants of SEMANTICS.md (see mtCheck and
// RELIABILITY.md). BACKPLANE_SEED=S reruns program S (1000 times: its
// interleaving is not determined by the seed).
func TestModelConcurrent(t *testing.T) {
	if seed, ok := mtEnvSeed(t); ok {
		var st mtStats
		for range 1000 {
			s, bad := mtConcurrent(seed, 64)
			st.add(s)
			if len(bad) > 0 {
				t.Fatalf("model: seed=%d: %d violations:\n  %s", seed, len(bad), strings.Join(bad, "\n  "))
			}
		}
		mtReport(t, st, seed)
		return
	}
	base := mtBaseSeed(t)
	st := mtLoop(t, base, mtDuration(t), 64)
	mtReport(t, st, base)
}

// TestModelSequential runs random programs, with nested managed tasks, in
// one goroutine and compares every result and message with the model.
func TestModelSequential(t *testing.T) {
	if seed, ok := mtEnvSeed(t); ok {
		st, bad, trace := mtSequential(seed, 120)
		if bad != "" {
			t.Fatalf("model: seed=%d: %s\nprogram:\n%s", seed, bad, mtTraceString(trace))
		}
		mtReport(t, st, seed)
		return
	}
	base := mtBaseSeed(t)
	var st mtStats
	deadline := time.Now().Add(mtDuration(t) / 2)
	for i := uint64(0); i < 100 || time.Now().Before(deadline); i++ {
		s, bad, trace := mtSequential(base+i, 120)
		st.add(s)
		if bad != "" {
			t.Fatalf("model: sequential seed=%d: %s\nreproduce: BACKPLANE_SEED=%d go test -run 'TestModelSequential$' .\nprogram:\n%s", base+i, bad, base+i, mtTraceString(trace))
		}
	}
	mtReport(t, st, base)
}
