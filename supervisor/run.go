package supervisor

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/backplane-go/backplane"
)

// errRunEnded cancels the children's context when a run ends: only
// abandoned children can still be running then, and their devices are
// already killed.
var errRunEnded = errors.New("supervisor: run ended")

// run is one serving of a Supervisor: the state of its loop. Everything
// in it is owned by the loop goroutine (the one running Serve), except the
// channels, through which the child goroutines and the run-time API talk
// to it.
type run struct {
	s   *Supervisor
	cfg *config
	src Source

	// ctx is the context children are started with. It is stored, against
	// the usual rule, because the run is the one owner loop: it starts
	// children whenever a restart is due, long after Serve received ctx.
	ctx    context.Context
	cancel context.CancelCauseFunc

	dev   *backplane.Device
	id    backplane.DeviceID
	reqs  chan *request // unbuffered: the API waits for the loop
	exits exitQueue     // where child goroutines report their exits; never blocks
	quit  chan struct{} // closed when the run ends

	// runners counts the child goroutines the run owns and waits for
	// before Serve returns: all of them but the abandoned ones.
	runners sync.WaitGroup

	children   map[string]*child
	head, tail *child // start order
	byDev      map[backplane.DeviceID]*proc
	pending    []exit // exits taken from the queue, not handled yet
	pendingAt  int

	graces   graceHeap    // children whose device went down under them
	later    deadlineHeap // restarts waiting for their backoff, and retries
	timer    *time.Timer
	timerAt  time.Time // when timer fires; zero when it is not armed
	restarts []time.Time
	autoID   uint64

	finished bool
	result   error
}

// exitQueue is where child goroutines report their exits. Reporting never
// blocks (a goroutine whose run has ended reports to nobody), and one
// token in ready stands for every exit queued since the loop last looked:
// a child that ends does not wait for the loop to be ready for it.
type exitQueue struct {
	mu    sync.Mutex
	q     []exit
	ready chan struct{} // buffered 1: "look at the queue"
}

func (x *exitQueue) put(e exit) {
	x.mu.Lock()
	x.q = append(x.q, e)
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
	r.pending = append(r.pending, x.q...)
	clear(x.q)
	x.q = x.q[:0]
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
		src:      Source{Supervisor: s.cfg.name, SupervisorID: dev.ID()},
		dev:      dev,
		id:       dev.ID(),
		reqs:     make(chan *request),
		exits:    exitQueue{ready: make(chan struct{}, 1)},
		quit:     make(chan struct{}),
		children: make(map[string]*child, len(s.cfg.children)),
		byDev:    make(map[backplane.DeviceID]*proc, len(s.cfg.children)),
	}
	if !s.attach(r) {
		_ = dev.Disconnect(ErrAlreadyRunning)
		signal(ErrAlreadyRunning)
		return ErrAlreadyRunning
	}
	r.ctx, r.cancel = context.WithCancelCause(context.WithoutCancel(ctx))
	r.timer = time.NewTimer(time.Hour)
	r.timer.Stop()
	defer func() {
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
		if err := r.startProc(c); err != nil {
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
	signal(nil)
	r.loop(ctx)
	return r.result
}

// loop handles events until the run finishes. Exits that arrived while the
// loop waited for a particular child are handled first, in order.
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
		select {
		case <-ready:
			r.drainInbox()
		case <-r.exits.ready:
			r.takeExits()
		case q := <-r.reqs:
			r.handleRequest(q)
		case <-r.timer.C:
			r.timerAt = time.Time{}
			r.fireDeadlines()
		case <-ctx.Done():
			r.shutdown(context.Cause(ctx))
		}
	}
}

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
		f := r.dev.Fault()
		r.stopAll()
		r.finish(&backplane.Crash{Kind: backplane.CrashKilled, Fault: f})
	}
}

// handleDown handles a Disconnected message: from a child, it says the
// child's device went down (its task may still be running); from any
// other device, it is a dependency: a fault cascades, a clean end is
// ignored, as for a managed device.
func (r *run) handleDown(from backplane.DeviceID, f *backplane.Fault) {
	if p, ok := r.byDev[from]; ok {
		// Exactly one Disconnected comes per child device: forget it now.
		delete(r.byDev, from)
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
