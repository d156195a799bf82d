package supervisor

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/internal/bridge"
)

// errRunEnded cancels the nested supervisors' context when a run ends:
// only abandoned children can still be running then, and their devices are
// already killed.
var errRunEnded = errors.New("supervisor: run ended")

// run is one serving of a Supervisor: the state of its loop. Everything
// in it is guarded by mu, except the channels, through which the child
// goroutines and the run-time API talk to it, and what is set before the
// children start. The loop goroutine (the one running Serve) holds mu at
// all times but one: while it waits in its select for something to do.
// Only then can a child goroutine take mu, with TryLock, to restart its
// own child in place (see restartInPlace); a child goroutine never waits
// for mu.
type run struct {
	mu sync.Mutex

	s   *Supervisor
	cfg *config
	src Source

	// ctx is the context nested supervisors are started with, and vals,
	// never cancelled, the one workers' tasks start from (see workerCtx).
	// They are stored, against the usual rule, because the run is the one
	// owner loop: it starts children whenever a restart is due, long after
	// Serve received ctx.
	ctx    context.Context
	vals   context.Context
	cancel context.CancelCauseFunc

	done  <-chan struct{} // Serve's ctx.Done()
	dev   *backplane.Device
	id    backplane.DeviceID
	reqs  chan *request // unbuffered: the API waits for the loop
	exits exitQueue     // where child goroutines report their exits; never blocks
	quit  chan struct{} // closed when the run ends

	// runners counts the child goroutines the run owns and waits for
	// before Serve returns: all of them but the abandoned ones.
	runners sync.WaitGroup

	children   map[string]*child
	head, tail *child           // start order
	byDev      map[uint64]*proc // the children's devices, by devKey
	// unmapped lists the generations started by restartInPlace that are
	// not in byDev yet: they are added only when byDev is looked up (see
	// child), so that a child restarted in place again and again before
	// then costs no map update per generation.
	unmapped  []*proc
	pending   []exit // exits taken from the queue, not handled yet
	pendingAt int

	graces   graceHeap    // children whose device went down under them
	later    deadlineHeap // restarts waiting for their backoff, and retries
	timer    *time.Timer
	timerAt  time.Time       // when timer fires; zero when it is not armed
	epoch    time.Time       // when the run started
	restarts []time.Duration // since epoch, in order: the restarts within the period
	autoID   uint64

	finished bool
	served   bool // its initial children started; guarded by s.mu
	result   error
}

// exitQueue is where child goroutines report their exits. Reporting never
// blocks (a goroutine whose run has ended reports to nobody), and one
// token in ready stands for every exit queued since the loop last looked:
// a child that ends does not wait for the loop to be ready for it.
type exitQueue struct {
	mu    sync.Mutex
	q     []exit
	n     atomic.Int32  // len(q), for a look without mu
	ready chan struct{} // buffered 1: "look at the queue"
}

func (x *exitQueue) put(e exit) {
	x.mu.Lock()
	x.q = append(x.q, e)
	x.n.Store(int32(len(x.q)))
	x.mu.Unlock()
	select {
	case x.ready <- struct{}{}:
	default:
	}
}

// takeExits moves the queued exits to the pending list, in order; the
// loop handles them before anything else.
func (r *run) takeExits() {
	x := &r.exits
	x.mu.Lock()
	for _, e := range x.q {
		if e.p.unlinked {
			// No Disconnected will come for it to be forgotten on.
			r.forget(e.p)
		}
	}
	r.pending = append(r.pending, x.q...)
	clear(x.q)
	x.q = x.q[:0]
	x.n.Store(0)
	x.mu.Unlock()
}

// exit is what a child goroutine reports when its task has returned.
type exit struct {
	p     *proc
	err   error            // what Manage (or the nested run) returned
	fault *backplane.Fault // the fault its device disconnected with
	last  bool             // its runner is ending (the task called Goexit)
}

// run serves the supervisor on dev, which the caller owns and has linked
// as it needs. started, if not nil, is called once, when the initial
// children have started (nil) or failed to (the *StartError); a parent
// supervisor uses it to know when a nested supervisor has started.
func (s *Supervisor) run(ctx context.Context, dev *backplane.Device, started func(error)) error {
	signal := func(err error) {
		if started != nil {
			started(err)
			started = nil
		}
	}
	r := &run{
		s:        s,
		cfg:      &s.cfg,
		src:      Source{Supervisor: s.cfg.name, SupervisorID: dev.ID(), MaxRestarts: s.cfg.maxRestarts, Period: s.cfg.period},
		done:     ctx.Done(),
		dev:      dev,
		id:       dev.ID(),
		reqs:     make(chan *request),
		exits:    exitQueue{ready: make(chan struct{}, 1)},
		quit:     make(chan struct{}),
		children: make(map[string]*child, len(s.cfg.children)),
		byDev:    make(map[uint64]*proc, len(s.cfg.children)),
	}
	if !s.attach(r) {
		_ = dev.Disconnect(ErrAlreadyRunning)
		signal(ErrAlreadyRunning)
		return ErrAlreadyRunning
	}
	r.epoch = time.Now()
	vals := context.WithoutCancel(ctx)
	r.vals = &workerCtx{Context: vals}
	r.ctx, r.cancel = context.WithCancelCause(vals)
	r.timer = time.NewTimer(time.Hour)
	r.timer.Stop()
	r.mu.Lock()
	defer r.mu.Unlock()
	defer func() {
		r.finished = true // for a child goroutine that takes mu later
		r.timer.Stop()
		s.detach(r)
		close(r.quit)
		r.cancel(errRunEnded)
		r.runners.Wait() // every child is stopped or abandoned: this is short
	}()

	for i := range s.cfg.children {
		r.push(&child{spec: s.cfg.children[i]})
	}
	for c := r.head; c != nil; c = c.next {
		err := r.startProc(c)
		if err == ErrIgnore {
			r.ignored(c) // its links to the next child are kept
			continue
		}
		if err != nil {
			r.emitStartFailed(c, err)
			serr := &StartError{Supervisor: s.cfg.name, Child: c.spec.ID, Err: err}
			c.state = ChildStopped
			r.stopAll()
			_ = dev.Disconnect(serr)
			signal(serr)
			return serr
		}
		r.emitStarted(c, false)
	}
	s.serving(r)
	signal(nil)
	r.loop(ctx)
	return r.result
}

// loop handles events until the run finishes. Exits that arrived while the
// loop waited for a particular child are handled first, in order. It
// holds r.mu except while it waits for something to do.
func (r *run) loop(ctx context.Context) {
	ready := r.dev.Ready()
	for !r.finished {
		if r.pendingAt < len(r.pending) {
			e := r.pending[r.pendingAt]
			r.pending[r.pendingAt] = exit{}
			r.pendingAt++
			if r.pendingAt == len(r.pending) {
				r.pending, r.pendingAt = r.pending[:0], 0
			}
			r.handleExit(e)
			continue
		}
		r.armTimer()
		var (
			what wakeUp
			q    *request
		)
		r.mu.Unlock()
		select {
		case <-ready:
			what = wakeInbox
		case <-r.exits.ready:
			what = wakeExits
		case q = <-r.reqs:
			what = wakeRequest
		case <-r.timer.C:
			what = wakeTimer
		case <-ctx.Done():
			what = wakeDone
		}
		r.mu.Lock()
		switch what {
		case wakeInbox:
			r.drainInbox()
		case wakeExits:
			r.takeExits()
		case wakeRequest:
			r.handleRequest(q)
		case wakeTimer:
			r.timerAt = time.Time{}
			r.fireDeadlines()
		case wakeDone:
			r.shutdown(context.Cause(ctx))
		}
	}
}

// wakeUp says what woke the loop.
type wakeUp uint8

const (
	wakeInbox wakeUp = iota + 1
	wakeExits
	wakeRequest
	wakeTimer
	wakeDone
)

// drainInbox handles every message in the supervisor's inbox, and notices
// when its device was taken down by someone else (a kill).
func (r *run) drainInbox() {
	for !r.finished {
		m, ok := r.dev.TryReceive()
		if !ok {
			break
		}
		switch m.Kind() {
		case backplane.Shutdown:
			r.shutdown(&backplane.Crash{Kind: backplane.CrashPowerOff, Device: m.From()})
		case backplane.Disconnected:
			r.handleDown(m.From(), m.Fault())
		}
	}
	if !r.finished && !r.dev.Alive() {
		// Killed (or dropped) under us: the children cascade through their
		// links; wait for them, then report it as Manage would.
		f := faultOf(r.dev)
		r.stopAll()
		r.finish(&backplane.Crash{Kind: backplane.CrashKilled, Fault: f})
	}
}

// handleDown handles a Disconnected message: from a child, it says the
// child's device went down (its task may still be running); from any
// other device, it is a dependency: a fault cascades, a clean end is
// ignored, as for a managed device.
func (r *run) handleDown(from backplane.DeviceID, f *backplane.Fault) {
	if p, ok := r.child(from); ok {
		// Exactly one Disconnected comes per child device: forget it now.
		delete(r.byDev, devKey(from))
		if p.c.cur == p && !p.stopping && !p.down {
			// Its device went down before its task returned (a cascade, or a
			// kill from elsewhere): give the task its grace to return.
			p.down = true
			g := p.c.spec.grace()
			if g == BrutalKill {
				g = DefaultShutdown
			}
			if g != Infinity {
				p.graceAt = time.Now().Add(g)
				r.graces.add(p)
			}
		}
		return
	}
	if f == nil {
		return
	}
	cf := backplane.CascadeFault(from, f)
	_ = r.dev.Disconnect(cf) // the children cascade at once through their links
	r.stopAll()
	r.finish(&backplane.Crash{Kind: backplane.CrashCascade, Device: from, Fault: cf})
}

// child returns the generation whose device is from, if from is the
// device of one of the children.
func (r *run) child(from backplane.DeviceID) (*proc, bool) {
	if bridge.IsRemote(from) {
		return nil, false // a child's device is always of this process
	}
	if len(r.unmapped) > 0 {
		for _, p := range r.unmapped {
			if p.unmapped {
				p.unmapped = false
				r.byDev[devKey(p.line.ID())] = p
			}
		}
		clear(r.unmapped)
		r.unmapped = r.unmapped[:0]
	}
	p, ok := r.byDev[devKey(from)]
	return p, ok
}

// forget removes p, whose device will send no Disconnected, from byDev,
// or from the generations waiting to be added to it.
func (r *run) forget(p *proc) {
	if p.unmapped {
		p.unmapped = false // child skips it
		return
	}
	delete(r.byDev, devKey(p.line.ID()))
}

// shutdown stops every child in reverse start order, then disconnects
// cleanly, and ends the run with result.
func (r *run) shutdown(result error) {
	r.stopAll()
	_ = r.dev.Disconnect(nil)
	r.finish(result)
}

// finish ends the run with result.
func (r *run) finish(result error) {
	r.finished = true
	r.result = result
}

// handleRequest answers one run-time API call.
func (r *run) handleRequest(q *request) {
	var a reply
	switch q.op {
	case opAdd:
		a.id, a.err = r.add(q.spec)
	case opTerminate:
		a.err = r.terminate(q.id)
	case opRestart:
		a.err = r.restartByAPI(q.id)
	case opDelete:
		a.err = r.delete(q.id)
	case opChildren:
		a.children = r.list()
	case opCount:
		a.counts = r.count()
	}
	q.reply <- a
}

// armTimer makes sure the timer fires by the earliest pending deadline.
// It never stops the timer: a deadline that went away (the child returned
// in time) at worst makes it fire for nothing, which costs less than
// stopping and resetting it on every restart.
func (r *run) armTimer() {
	at, ok := r.graces.next()
	if lat, lok := r.later.next(); lok && (!ok || lat.Before(at)) {
		at, ok = lat, true
	}
	if !ok || (!r.timerAt.IsZero() && !at.Before(r.timerAt)) {
		return
	}
	r.timer.Reset(time.Until(at))
	r.timerAt = at
}

// fireDeadlines handles every deadline that has passed.
func (r *run) fireDeadlines() {
	now := time.Now()
	for !r.finished {
		if p, ok := r.graces.popDue(now); ok {
			if p.c.cur != p || p.stopping {
				continue
			}
			// Its device went down and its task has not returned within
			// its grace: abandon it, and treat it as ended with the kill.
			f := r.abandon(p, ErrShutdownTimeout)
			r.afterExit(p.c, f)
			continue
		}
		d, ok := r.later.popDue(now)
		if !ok {
			return
		}
		if d.retry {
			r.attempt(d.group, d.reason, d.fault)
		} else {
			r.startGroup(d.group, d.reason, d.fault)
		}
	}
}

// emit hands ev to the hook, if any.
func (r *run) emit(ev Event) {
	if r.cfg.hook != nil {
		r.cfg.hook(ev)
	}
}
