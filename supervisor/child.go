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

// errNotStarted is the start error of a child whose task ended before it
// could report that it had started, without saying why.
var errNotStarted = errors.New("supervisor: child ended before it started")

// errGoexit is what a child is reported to have returned when its task
// ended its goroutine with runtime.Goexit instead of returning.
var errGoexit = errors.New("supervisor: child task called runtime.Goexit")

// Self returns the Line of the child device a worker runs under, from the
// context its Serve (or Start) was given, so that it can link itself to
// the devices it depends on: Self(ctx).Link(dep, backplane.Monitor) makes
// a fault of dep cascade to the child. It is backplane.LineOf for contexts
// that came from a supervisor: if the worker runs tasks of its own under
// other devices, Self on their contexts returns those devices. It reports
// false for a context that did not come from a supervisor.
func Self(ctx context.Context) (backplane.Line, bool) {
	if ctx == nil {
		return backplane.Line{}, false
	}
	if _, ok := ctx.Value(workerKey{}).(bool); !ok {
		return backplane.Line{}, false
	}
	return backplane.LineOf(ctx)
}

// workerKey marks the contexts of a supervisor's workers, for Self.
type workerKey struct{}

// child is one child spec and its state, owned by the run's loop.
type child struct {
	spec       ChildSpec
	prev, next *child
	state      ChildState
	gen        uint64
	cur        *proc // the running generation; nil when none
	idle       *proc // a finished generation whose runner waits for the next one
	removed    bool
	opts       []backplane.Option // its devices' options, made once
	starter    Starter            // its Service as a Starter, if it is one; set by push
	hasStart   bool               // it has a start step to wait for; set by push
}

// proc is one generation of a child: one device, one goroutine.
type proc struct {
	c         *child
	gen       uint64
	line      backplane.Line
	rn        *runnerState  // the goroutine that runs it
	unlinked  bool          // unlinked from the supervisor once its task returned: no Disconnected comes
	unmapped  bool          // restarted in place, not yet in run.byDev (see run.unmapped)
	signalled bool          // its start result is sent; owned by its runner
	endMu     sync.Mutex    // guards ended and done
	ended     bool          // its task has returned
	done      chan struct{} // made when it is abandoned; closed when its task has returned
	started   chan error    // buffered 1: the start result, sent once; nil when there is no start step
	stopping  bool          // the supervisor asked it to stop
	down      bool          // its device went down under it
	deadline  time.Time     // parallel stop: when to abandon it
	graceAt   time.Time     // its device went down: when to abandon it
	graceIdx  int           // its index in the run's graceHeap; -1 if not there
}

// end records that p's task has returned.
func (p *proc) end() {
	p.endMu.Lock()
	p.ended = true
	if p.done != nil {
		close(p.done)
	}
	p.endMu.Unlock()
}

// doneChan returns a channel closed when p's task has returned, made on
// demand: only an abandoned generation is waited for this way, so the
// common case allocates nothing.
func (p *proc) doneChan() chan struct{} {
	p.endMu.Lock()
	defer p.endMu.Unlock()
	if p.done == nil {
		p.done = make(chan struct{})
		if p.ended {
			close(p.done)
		}
	}
	return p.done
}

// workerCtx is the context every worker's Manage starts from, one per run:
// the run's values, never cancelled, marked for Self. The task's context is
// Manage's, which answers the worker's own Line (backplane.LineOf) and is
// cancelled when the child's device goes down; every child's device goes
// down (stopped, or killed when abandoned) before its run ends, so
// deriving it from the run's cancellable context would only cost each
// generation a registration there and its removal.
type workerCtx struct {
	context.Context
}

// Done, Err and Deadline answer directly what the run's values context
// (made by context.WithoutCancel) answers: it is never cancelled and has
// no deadline.
func (*workerCtx) Done() <-chan struct{}            { return nil }
func (*workerCtx) Err() error                       { return nil }
func (*workerCtx) Deadline() (d time.Time, ok bool) { return }

// Value answers workerKey, and otherwise defers to the run's context.
func (c *workerCtx) Value(key any) any {
	if _, ok := key.(workerKey); ok {
		return true
	}
	return c.Context.Value(key)
}

func (p *proc) instance() Instance {
	return Instance{Child: p.c.spec.ID, Device: p.line.ID(), Generation: p.gen}
}

// push appends c to the children, in start order.
func (r *run) push(c *child) {
	c.starter, _ = c.spec.Service.(Starter)
	c.hasStart = c.spec.hasStart()
	r.children[c.spec.ID] = c
	c.prev = r.tail
	if r.tail != nil {
		r.tail.next = c
	} else {
		r.head = c
	}
	r.tail = c
	c.state = ChildStopped
}

// remove forgets c. It must not be running.
func (r *run) remove(c *child) {
	if c.removed {
		return
	}
	c.removed = true
	r.release(c)
	delete(r.children, c.spec.ID)
	if c.prev != nil {
		c.prev.next = c.next
	} else {
		r.head = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	} else {
		r.tail = c.prev
	}
	c.state = ChildStopped
}

// startProc starts a new generation of c and waits until it has started
// (or failed to). On success c is running. If its Start returned
// ErrIgnore, it returns ErrIgnore itself and c is stopped: the caller
// keeps it or removes it (see ignored).
func (r *run) startProc(c *child) error {
	dev, err := r.newDevice(c)
	if err != nil {
		return err
	}
	p := r.newProc(c, dev)
	if prev := c.idle; prev != nil {
		c.idle = nil
		p.rn = prev.rn
		p.rn.next <- handoff{p: p, dev: dev} // buffered: the runner is waiting for it
	} else {
		p.rn = &runnerState{next: make(chan handoff, 1)}
		r.runners.Add(1)
		go r.runner(p, dev)
	}
	if p.started == nil {
		c.cur = p
		c.state = ChildRunning
		return nil
	}
	if err := <-p.started; err != nil {
		// The task is over; take its exit so that it is accounted for. Its
		// Disconnected message is handled later.
		e, _ := r.awaitExit(p, Infinity)
		r.idle(e)
		if err == ErrIgnore {
			c.state = ChildStopped // not running, not to be restarted
		}
		return err
	}
	c.cur = p
	c.state = ChildRunning
	return nil
}

// newDevice makes the device of c's next run, linked with the
// supervisor's. It changes nothing else: a caller that does not use it
// disconnects it.
func (r *run) newDevice(c *child) (*backplane.Device, error) {
	if c.opts == nil {
		c.opts = []backplane.Option{backplane.WithName(c.spec.ID), bridge.Owned()}
	}
	// Owned: the runner goroutine holds dev until Manage has disconnected it.
	dev := backplane.New(c.opts...)
	// Peer: the child watches the supervisor, so a supervisor fault
	// cascades to it at once; the supervisor watches the child, to learn
	// at once when its device goes down.
	if err := dev.Link(r.dev, backplane.Peer); err != nil {
		_ = dev.Disconnect(nil) // never linked, never ran: nobody to tell
		return nil, err
	}
	return dev, nil
}

// newProc records the next generation of c, on dev. Its runner is the
// caller's to set.
func (r *run) newProc(c *child, dev *backplane.Device) *proc {
	p := new(proc)
	r.initProc(p, c, dev)
	r.byDev[devKey(dev.ID())] = p
	return p
}

// initProc makes p the next generation of c, on dev. The caller records
// it in run.byDev, at once or later (see run.unmapped).
func (r *run) initProc(p *proc, c *child, dev *backplane.Device) {
	c.gen++
	*p = proc{c: c, gen: c.gen, line: dev.Line(), graceIdx: -1}
	// Only a Starter or a nested supervisor has a start step to wait for. A
	// plain Service is started once its goroutine is: if it ends at once,
	// that is an exit, handled as any other.
	if c.hasStart {
		p.started = make(chan error, 1)
	}
}

// devKey is the key of a child's device in run.byDev: its sequence
// number, a child's device being always of this process.
func devKey(id backplane.DeviceID) uint64 { return id.Seq() }

// runner is a child's goroutine. It runs one generation and, when that
// generation failed and the supervisor is idle, restarts the child itself
// (see restartInPlace). Otherwise it reports the exit to the loop, then
// waits to be handed the next generation of the same child or to be
// released. Reusing the goroutine keeps its grown stack: a restart then
// costs a channel send at most, rather than a new goroutine whose stack
// grows again through Manage.
func (r *run) runner(p *proc, dev *backplane.Device) {
	rn := p.rn
	defer r.disown(rn)
	rn.task = func(ctx context.Context) error { return r.serve(ctx, rn.p) }
	for {
		res := r.runGen(p, dev)
		if np, ndev, ok := r.restartInPlace(p, dev, res); ok {
			p, dev = np, ndev
			continue
		}
		r.exits.put(r.ended(p, dev, res, false))
		select {
		case h, ok := <-rn.next:
			if !ok {
				return
			}
			p, dev = h.p, h.dev
		case <-r.quit:
			return
		}
	}
}

// runnerState is what the loop keeps of a runner between generations.
type runnerState struct {
	next     chan handoff // buffered 1: its next generation; closed to let it end
	disowned atomic.Bool  // it no longer counts in run.runners
	p        *proc        // the generation it runs; owned by the runner
	task     func(context.Context) error
}

// disown takes rn out of the runners the run waits for: when it ends, or
// when the loop abandons it, whichever comes first.
func (r *run) disown(rn *runnerState) {
	if rn.disowned.CompareAndSwap(false, true) {
		r.runners.Done()
	}
}

// handoff gives a waiting runner its next generation.
type handoff struct {
	p   *proc
	dev *backplane.Device
}

// runGen runs generation p on dev, which it owns, and returns what its
// task returned. If the task ends the goroutine with runtime.Goexit
// (t.FailNow, for instance), runGen does not return: the exit is
// reported, marked last, from a deferred call.
func (r *run) runGen(p *proc, dev *backplane.Device) error {
	returned := false
	defer func() {
		if !returned {
			r.exits.put(r.ended(p, dev, errGoexit, true))
		}
	}()
	var res error
	switch svc := p.c.spec.Service.(type) {
	case *Supervisor:
		res = svc.run(r.ctx, dev, func(err error) {
			p.signalled = true
			p.started <- err
		})
	default:
		p.rn.p = p
		res = dev.Manage(r.vals, p.rn.task)
	}
	returned = true
	return res
}

// ended records that p's task has returned res and makes its exit, for
// the loop.
func (r *run) ended(p *proc, dev *backplane.Device, res error, last bool) exit {
	if !p.signalled && p.started != nil {
		if res == nil {
			res = errNotStarted
		}
		p.started <- res
	}
	p.end()
	return exit{p: p, err: res, fault: faultOf(dev), last: last}
}

// serve is a worker's task under Manage: its start step, if any, then
// Serve. When Serve returns and p may be restarted in place, p's device
// and the supervisor's are unlinked before p's goes down, so that no
// Disconnected wakes the loop for an end the runner reports itself (and
// the disconnect has nobody to tell). p's task has returned: the moment
// its device has left, it has nothing to be cascaded for. A device that
// is down already (a cascade, a shutdown) has sent its message, and the
// loop handles that end as it comes.
func (r *run) serve(ctx context.Context, p *proc) error {
	svc := p.c.spec.Service
	if st := p.c.starter; st != nil {
		if err := st.Start(ctx); err != nil {
			if errors.Is(err, ErrIgnore) {
				// Started, with nothing to run: the device ends cleanly.
				p.signalled = true
				p.started <- ErrIgnore
				return nil
			}
			return err
		}
	}
	if p.started != nil {
		p.signalled = true
		p.started <- nil
	}
	err := svc.Serve(ctx)
	if r.inPlace(p) {
		p.unlinked, _ = r.dev.Unlink(p.line, backplane.Peer)
	}
	return err
}

// idle records that p's runner, whose exit the loop has just taken, waits
// for c's next generation. A runner that is ending is not kept.
func (r *run) idle(e exit) {
	c := e.p.c
	r.release(c)
	if !e.last && !c.removed {
		c.idle = e.p
	}
}

// release lets c's waiting runner, if any, end.
func (r *run) release(c *child) {
	if c.idle != nil {
		close(c.idle.rn.next)
		c.idle = nil
	}
}

// faultOf returns the *Fault dev disconnected with, or nil.
func faultOf(dev *backplane.Device) *backplane.Fault {
	f, _ := dev.Fault().(*backplane.Fault)
	return f
}

// ignored records that c's start was ignored (ErrIgnore): it stays known
// as stopped, or is removed if it is Temporary or its supervisor is
// Dynamic, as OTP does with a start function that returns ignore.
func (r *run) ignored(c *child) {
	if c.spec.Restart == Temporary || r.cfg.strategy == Dynamic {
		r.remove(c)
		return
	}
	c.state = ChildStopped
}
