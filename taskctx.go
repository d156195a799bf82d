package backplane

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// taskCtx is the context a task runs with under Manage or Watch. To the
// task it is what context.WithCancelCause(parent) makes:
//
//   - cancel(cause) cancels it: Err is context.Canceled and context.Cause
//     returns cause (context.Canceled when cause is nil). Only the first
//     cancellation counts.
//   - Values and the deadline are the parent's.
//   - When the parent is cancelled, so is the task's context, with the
//     parent's error and cause.
//   - Contexts derived from it are cancelled with it, at once.
//
// It costs less than WithCancelCause: one allocation instead of two (the
// context and its cancel function), none for the first task of an Owned
// device (made with it), and a Done channel made only when someone asks
// for it. It also answers LineOf with its device's Line. A task's parent context usually cannot be cancelled
// (context.Background, or a supervisor's context made with WithoutCancel);
// then nothing else is ever made, except what contexts derived from it
// need (see AfterFunc). When the parent can be cancelled, Err looks at the
// parent itself, and the first call of Done puts a context made by
// WithCancelCause(parent) in between (the wrapped context), to which
// everything is then deferred: that context follows the parent at once,
// as today's contexts do, and costs nothing to a task that never waits on
// Done.
type taskCtx struct {
	parent context.Context
	dev    *device         // the device the task runs under, for LineOf
	doneCh <-chan struct{} // ch, closedChan or the wrapped context's; set once, before hasDone
	// hasDone is set once doneCh is: Done reads doneCh without the lock
	// after seeing it.
	hasDone atomic.Bool

	mu    sync.Mutex
	state ctxState
	ch    chan struct{} // made by Done
	cause error         // what context.Cause reports once cancelled
	more  *taskMore     // made on demand
}

// ctxState says whether a taskCtx is cancelled, and by whom.
type ctxState uint8

const (
	ctxLive          ctxState = iota
	ctxCancelled              // Err is context.Canceled
	ctxParentStopped          // Err is the parent's
)

// taskMore is what few task contexts need.
type taskMore struct {
	std       context.Context         // the wrapped context, if any
	stdCancel context.CancelCauseFunc // and its cancel function
	carrier   any                     // what Value answers for causeKey
	children  map[*afterFunc]struct{} // registered by AfterFunc
}

// afterFunc is a function registered with taskCtx.AfterFunc.
type afterFunc struct{ f func() }

// newTaskCtx returns the context of a task on d that starts from parent.
func newTaskCtx(parent context.Context, d *device) *taskCtx {
	c := new(taskCtx)
	c.init(parent, d)
	return c
}

// newTaskLocked returns the context of a task on d that starts from
// parent: the one made with an Owned device for its first task, or a new
// one. It is called with d.mu held.
func (d *device) newTaskLocked(parent context.Context) *taskCtx {
	if d.spare {
		d.spare = false
		c := d.task
		c.init(parent, d)
		return c
	}
	return newTaskCtx(parent, d)
}

// init makes the zero c the context of a task on d that starts from
// parent.
func (c *taskCtx) init(parent context.Context, d *device) {
	c.parent, c.dev = parent, d
	if !causeByValue {
		// context.Cause cannot be answered by this type (see causeKey):
		// the wrapped context answers Value for it.
		c.wrapLocked()
		c.parent = c.more.std
	}
}

// wrapLocked puts a context made by WithCancelCause between c and its
// parent, and defers everything to it from now on.
func (c *taskCtx) wrapLocked() {
	m := c.moreLocked()
	m.std, m.stdCancel = context.WithCancelCause(c.parent)
	c.setDoneLocked(m.std.Done())
}

// setDoneLocked publishes ch as c's Done channel. It is called at most
// once per context, with c.mu held (or before c is shared).
func (c *taskCtx) setDoneLocked(ch <-chan struct{}) {
	c.doneCh = ch
	c.hasDone.Store(true)
}

func (c *taskCtx) moreLocked() *taskMore {
	if c.more == nil {
		c.more = new(taskMore)
	}
	return c.more
}

// status returns c's wrapped context, if any, and its error. A wrapped
// context's own state stays ctxLive: the wrapped context holds it.
func (c *taskCtx) status() (context.Context, error) {
	c.mu.Lock()
	s := c.state
	var std context.Context
	if c.more != nil {
		std = c.more.std
	}
	c.mu.Unlock()
	switch {
	case std != nil:
		return std, nil
	case s == ctxCancelled:
		return nil, context.Canceled
	case s == ctxParentStopped:
		return nil, c.parent.Err()
	}
	return nil, nil
}

// cancel cancels c with cause (context.Canceled when cause is nil), unless
// it is already cancelled.
func (c *taskCtx) cancel(cause error) {
	if cause == nil {
		cause = context.Canceled
	}
	c.cancelWith(ctxCancelled, cause)
}

// cancelWith cancels c, unless it is already cancelled: s says by whom.
// When the parent was cancelled, a wrapped context has followed it
// already.
func (c *taskCtx) cancelWith(s ctxState, cause error) {
	c.mu.Lock()
	if c.state != ctxLive {
		c.mu.Unlock()
		return
	}
	var children map[*afterFunc]struct{}
	if m := c.more; m != nil {
		if m.stdCancel != nil {
			c.mu.Unlock()
			if s == ctxCancelled {
				m.stdCancel(cause)
			}
			return
		}
		children, m.children = m.children, nil
	}
	c.state, c.cause = s, cause
	if c.ch != nil {
		close(c.ch)
	} else {
		c.setDoneLocked(closedChan)
	}
	c.mu.Unlock()
	// The registered functions are the context package's: each cancels a
	// context derived from c, as a cancelCtx cancels its children.
	if len(children) > 0 {
		for a := range children {
			a.f()
		}
	}
}

// parentDown cancels c if its parent is cancelled.
func (c *taskCtx) parentDown() {
	if c.parent.Err() != nil {
		c.cancelWith(ctxParentStopped, context.Cause(c.parent))
	}
}

// Deadline returns the parent's deadline.
func (c *taskCtx) Deadline() (time.Time, bool) { return c.parent.Deadline() }

// Done returns a channel closed when c is cancelled.
func (c *taskCtx) Done() <-chan struct{} {
	if c.hasDone.Load() {
		return c.doneCh
	}
	return c.makeDone()
}

// makeDone makes c's Done channel, the first time it is asked for.
func (c *taskCtx) makeDone() <-chan struct{} {
	if c.parent.Done() == nil {
		// The parent can never be cancelled, so its Err stays nil: only
		// cancel can close the channel, and it closes c.ch once made.
		c.mu.Lock()
		if !c.hasDone.Load() {
			c.ch = make(chan struct{})
			c.setDoneLocked(c.ch)
		}
		d := c.doneCh
		c.mu.Unlock()
		return d
	}
	c.parentDown()
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.hasDone.Load() {
		c.wrapLocked()
	}
	return c.doneCh
}

// Err returns nil until c is cancelled, then why: context.Canceled, or the
// parent's error when the parent was cancelled first.
func (c *taskCtx) Err() error {
	std, err := c.status()
	if err == nil && std == nil {
		c.parentDown()
		std, err = c.status()
	}
	if std != nil {
		return std.Err()
	}
	return err
}

// Value returns the parent's value for key. The one exception is the key
// context.Cause asks for (causeKey): see causeValue.
func (c *taskCtx) Value(key any) any {
	if causeByValue && key == causeKey {
		return c.causeValue()
	}
	if _, ok := key.(lineKey); ok && c.dev != nil {
		return Line{d: c.dev}
	}
	return c.parent.Value(key)
}

// causeValue returns what context.Cause needs to find c's cause. For a
// wrapped c, that is the wrapped context's answer. Otherwise it is nothing
// while c is not cancelled or when the cause is the error itself
// (context.Cause then returns Err), and else a context made by
// WithCancelCause and cancelled with the same cause, made the first time
// it is asked for.
func (c *taskCtx) causeValue() any {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.more != nil && c.more.std != nil {
		return c.more.std.Value(causeKey)
	}
	if c.state == ctxLive || c.cause == context.Canceled ||
		c.state == ctxParentStopped && c.cause == c.parent.Err() {
		return nil // context.Cause returns Err
	}
	m := c.moreLocked()
	if m.carrier == nil {
		cc, cancel := context.WithCancelCause(context.Background())
		cancel(c.cause)
		m.carrier = cc.Value(causeKey)
	}
	return m.carrier
}

// AfterFunc arranges for f to be called when c is cancelled, and returns a
// function that unregisters it. It is how the context package propagates
// the cancellation of c to the contexts derived from it, when c's parent
// cannot be cancelled (otherwise it finds the wrapped context). Unlike
// context.AfterFunc, f is called in the goroutine that cancels c, as a
// cancelCtx cancels its children, or in a goroutine of its own when c is
// already cancelled.
func (c *taskCtx) AfterFunc(f func()) func() bool {
	_ = c.Done() // wraps c if its parent can be cancelled
	c.mu.Lock()
	if c.more != nil && c.more.std != nil {
		std := c.more.std
		c.mu.Unlock()
		return context.AfterFunc(std, f)
	}
	if c.state != ctxLive {
		c.mu.Unlock()
		go f()
		return func() bool { return false }
	}
	a := &afterFunc{f: f}
	m := c.moreLocked()
	if m.children == nil {
		m.children = make(map[*afterFunc]struct{})
	}
	m.children[a] = struct{}{}
	c.mu.Unlock()
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.more == nil {
			return false
		}
		_, ok := c.more.children[a]
		delete(c.more.children, a)
		return ok
	}
}

// causeKey is the key context.Cause passes to Value to find the cause of
// a cancelled context, taken from context.Cause itself at start-up.
// causeByValue reports whether answering it lets context.Cause report a
// taskCtx's cause, which init checks; if not, every taskCtx is wrapped at
// once (see taskCtx), and the wrapped context holds the cause.
var (
	causeKey     any
	causeByValue bool
)

// keyProbe is a cancelled context that records the key it is asked for.
type keyProbe struct {
	context.Context
	key any
}

func (*keyProbe) Err() error          { return context.Canceled }
func (p *keyProbe) Value(key any) any { p.key = key; return nil }

var errProbe = errors.New("backplane: probe")

func init() {
	p := &keyProbe{Context: context.Background()}
	_ = context.Cause(p)
	if p.key == nil {
		return
	}
	causeKey, causeByValue = p.key, true
	c := newTaskCtx(context.Background(), nil)
	child, stop := context.WithCancel(c)
	defer stop()
	c.cancel(errProbe)
	if context.Cause(c) != errProbe || c.Err() != context.Canceled ||
		context.Cause(child) != errProbe || child.Err() != context.Canceled {
		causeKey, causeByValue = nil, false
	}
}
