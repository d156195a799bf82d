package supervisor

import (
	"time"

	"github.com/backplane-go/backplane"
)

// awaitExit waits up to grace for p's goroutine to report its exit, keeping
// every other exit for later. It reports false if the grace expired.
func (r *run) awaitExit(p *proc, grace time.Duration) (exit, bool) {
	if e, ok := r.takePending(p); ok {
		return e, true
	}
	var tc <-chan time.Time
	if grace != Infinity {
		t := time.NewTimer(grace)
		defer t.Stop()
		tc = t.C
	}
	for {
		select {
		case <-r.exits.ready:
			r.takeExits()
			if e, ok := r.takePending(p); ok {
				return e, true
			}
		case <-tc:
			return exit{}, false
		}
	}
}

// takePending removes p's exit from the pending list, if it is there.
func (r *run) takePending(p *proc) (exit, bool) {
	for i := len(r.pending) - 1; i >= r.pendingAt; i-- {
		if e := r.pending[i]; e.p == p {
			copy(r.pending[i:], r.pending[i+1:])
			r.pending[len(r.pending)-1] = exit{}
			r.pending = r.pending[:len(r.pending)-1]
			return e, true
		}
	}
	return exit{}, false
}

// stopProc stops p and waits for it up to its grace, one child at a time.
// It reports whether p stopped (false: abandoned).
func (r *run) stopProc(p *proc) bool {
	c := p.c
	p.stopping = true
	g := c.spec.grace()
	if g == BrutalKill {
		r.abandon(p, ErrBrutalKill)
		return false
	}
	if p.down && !p.graceAt.IsZero() {
		// Its device went down earlier and its grace is already running.
		g = min(g, max(time.Until(p.graceAt), 0))
	}
	_ = p.line.Shutdown(r.id) // fails harmlessly if its device is already down
	e, ok := r.awaitExit(p, g)
	if !ok {
		r.abandon(p, ErrShutdownTimeout)
		return false
	}
	r.stopped(e)
	return true
}

// stopped records the exit of a child the supervisor asked to stop.
func (r *run) stopped(e exit) {
	p := e.p
	p.c.cur = nil
	r.graces.drop(p)
	r.idle(e)
	if r.cfg.hook != nil {
		r.emit(ChildExited{Source: r.src, Instance: p.instance(), Fault: e.fault, Err: e.err, Stopped: true})
	}
}

// abandon kills p's device, stops waiting for its goroutine and returns the
// fault p is reported with. The goroutine's later exit is ignored.
func (r *run) abandon(p *proc, reason error) *backplane.Fault {
	_ = p.line.Kill(r.id, reason) // a no-op if its device is already down
	f := &backplane.Fault{Kind: backplane.FaultKilled, Err: reason}
	p.c.cur = nil
	r.graces.drop(p)
	r.s.addAbandoned(p.doneChan())
	r.disown(p.rn) // Serve does not wait for it; WaitAbandoned does
	r.emit(ChildAbandoned{Source: r.src, Instance: p.instance(), Grace: p.c.spec.grace(), Fault: f})
	return f
}

// stopAll stops every child: in reverse start order, one at a time, or for
// the Dynamic strategy all at once.
func (r *run) stopAll() {
	if r.cfg.strategy == Dynamic {
		r.stopParallel()
		return
	}
	for c := r.tail; c != nil; c = c.prev {
		if c.cur != nil {
			r.stopProc(c.cur)
		}
		c.state = ChildStopped
	}
}

// stopParallel asks every running child to stop at once, then waits for
// them all, each up to its own grace.
func (r *run) stopParallel() {
	now := time.Now()
	waiting := 0
	for c := r.head; c != nil; c = c.next {
		c.state = ChildStopped
		p := c.cur
		if p == nil {
			continue
		}
		p.stopping = true
		g := c.spec.grace()
		if g == BrutalKill {
			r.abandon(p, ErrBrutalKill)
			continue
		}
		_ = p.line.Shutdown(r.id)
		p.deadline = time.Time{}
		if g != Infinity {
			p.deadline = now.Add(g)
		}
		if p.down && !p.graceAt.IsZero() && (p.deadline.IsZero() || p.graceAt.Before(p.deadline)) {
			p.deadline = p.graceAt // its grace is already running
		}
		waiting++
	}
	// Exits that arrived earlier count too.
	waiting -= r.stoppedPending()
	// One timer, for the earliest deadline, moved only when it fires: the
	// wait costs O(1) per exit, so stopping n children is linear in n.
	var tc <-chan time.Time
	if at, ok := r.earliestStopDeadline(); ok {
		t := time.NewTimer(time.Until(at))
		defer t.Stop()
		tc = t.C
	}
	for waiting > 0 {
		select {
		case <-r.exits.ready:
			r.takeExits()
			waiting -= r.stoppedPending()
		case <-tc:
			now := time.Now()
			for c := r.head; c != nil; c = c.next {
				if p := c.cur; p != nil && p.stopping && !p.deadline.IsZero() && !now.Before(p.deadline) {
					r.abandon(p, ErrShutdownTimeout)
					waiting--
				}
			}
			tc = nil
			if at, ok := r.earliestStopDeadline(); ok {
				t := time.NewTimer(time.Until(at))
				defer t.Stop()
				tc = t.C
			}
		}
	}
}

// stoppedPending records the pending exits of children being stopped,
// keeps the others pending, and returns how many it recorded.
func (r *run) stoppedPending() int {
	n := 0
	kept := r.pending[:r.pendingAt]
	for _, e := range r.pending[r.pendingAt:] {
		if e.p.stopping && e.p.c.cur == e.p {
			r.stopped(e)
			n++
		} else {
			kept = append(kept, e)
		}
	}
	clear(r.pending[len(kept):])
	r.pending = kept
	return n
}

func (r *run) earliestStopDeadline() (time.Time, bool) {
	var at time.Time
	for c := r.head; c != nil; c = c.next {
		if p := c.cur; p != nil && p.stopping && !p.deadline.IsZero() && (at.IsZero() || p.deadline.Before(at)) {
			at = p.deadline
		}
	}
	return at, !at.IsZero()
}

// handleExit handles the exit of a child that ended on its own.
func (r *run) handleExit(e exit) {
	p := e.p
	c := p.c
	if c.cur != p {
		// Stale: an abandoned generation that has returned at last. Its
		// runner is not reused.
		if !e.last {
			close(p.rn.next)
		}
		return
	}
	c.cur = nil
	r.graces.drop(p)
	r.idle(e)
	if r.cfg.hook != nil {
		r.emit(ChildExited{Source: r.src, Instance: p.instance(), Fault: e.fault, Err: e.err})
	}
	r.afterExit(c, e.fault)
}

// afterExit decides what becomes of a child that ended on its own with
// fault: restart it (and its group), or leave it stopped or removed, and
// shut the supervisor down if it was significant and that is due.
func (r *run) afterExit(c *child, fault *backplane.Fault) {
	if c.spec.Restart == Permanent || (c.spec.Restart == Transient && fault != nil) {
		r.restart(c, fault)
		return
	}
	if c.spec.Restart == Temporary || r.cfg.strategy == Dynamic {
		r.remove(c)
	} else {
		c.state = ChildStopped
		r.release(c)
	}
	if c.spec.Significant && r.autoShutdownDue() {
		r.emit(AutoShutdownTriggered{Source: r.src, Child: c.spec.ID})
		r.shutdown(nil)
	}
}

// autoShutdownDue reports whether the end of a significant child shuts
// the supervisor down.
func (r *run) autoShutdownDue() bool {
	switch r.cfg.auto {
	case AnySignificant:
		return true
	case AllSignificant:
		for c := r.head; c != nil; c = c.next {
			if c.spec.Significant && c.state != ChildStopped {
				return false
			}
		}
		return true
	}
	return false
}
