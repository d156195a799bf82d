package backplane

import (
	"context"
	"sync"
)

// Group starts tasks in goroutines of their own, each under a new managed
// Device linked to a parent (Erlang's spawn_link), and owns those
// goroutines: Wait waits for all of them to return, and reports the first
// that failed.
//
// The zero Group is ready to use. A Group is safe for concurrent use,
// including Spawn while another goroutine waits; it must not be copied after
// first use. It costs a goroutine and a device per running task, and keeps
// one failure (the first) however many tasks fail.
type Group struct {
	mu      sync.Mutex
	running int
	idle    chan struct{} // made by a waiter; closed when running drops to zero
	err     error         // the first failure of a task, for Wait
}

// Spawn creates a Device named by opts, links parent to it in mode (seen
// from parent: Monitor means parent watches the new device, Peer links both
// ways as spawn_link does), and runs task under it with Manage in a new
// goroutine. It returns the new device's Line.
//
// The link is in place before the task starts, so no outcome of the task
// can be missed. If the link fails (parent down, bad mode, nil parent), no
// goroutine is started and the error says why. A task's panic is recovered
// into a FaultPanic, unless opts include WithPanicPassThrough: then it
// crashes the program once the device is down (see "Panics" in the package
// doc), and Wait does not return in the meantime.
func (g *Group) Spawn(ctx context.Context, parent Linkable, mode LinkMode, task func(context.Context) error, opts ...Option) (Line, error) {
	if ctx == nil || task == nil {
		return Line{}, &DeviceError{Op: "spawn", Err: ErrNilArg}
	}
	c := configure(opts)
	c.owned = true // this goroutine holds d until Manage has disconnected it
	d := newDevice(c)
	if err := lineWatched(parent, mode&Notify != 0).Link(d, mode); err != nil {
		d.d.disconnect(nil, nil) // never linked, never ran: nobody to tell
		return Line{}, err
	}
	g.mu.Lock()
	g.running++
	g.mu.Unlock()
	go func() {
		defer g.done(d)         // also on runtime.Goexit, and on a panic passing through
		_ = d.Manage(ctx, task) // the outcome reaches the parent through the link, and Wait
	}()
	return d.Line(), nil
}

// done records that the task of d has ended. Manage recorded on the device
// the Crash it returned (nil for a clean end), or that it took the device
// down with on a runtime.Goexit or a panic passing through. done reads it
// there rather than taking Manage's result, so that the goroutine's frames
// stay as small as they were: the disconnect path runs on top of them, and
// a task's goroutine starts with a small stack (see presize).
func (g *Group) done(d *Device) {
	c, gone := d.d.crashed()
	if gone {
		// A panic passing through (WithPanicPassThrough): it crashes the
		// program once this goroutine has unwound. Wait must not return in
		// the meantime, as if the task had ended.
		return
	}
	failed := c != nil && c.Fault != nil // not a clean end: a shutdown request, a clean disconnect
	g.mu.Lock()
	if failed && g.err == nil {
		g.err = c
	}
	g.running--
	if g.running == 0 && g.idle != nil {
		close(g.idle)
		g.idle = nil
	}
	g.mu.Unlock()
}

// Wait blocks until no task started by Spawn is running, and returns the
// first failure, in order of completion, among the tasks of the Group that
// have ended: the *Crash of a task whose device disconnected with a fault
// (the task's error, its panic, a cascade, a kill, a drop). A task that
// returned nil, or stopped cleanly on a shutdown request, did not fail.
// Wait returns nil if no task failed. A Spawn that overlaps Wait may or may
// not be waited for; one that happens after Wait returns is not. Every
// call reports the first failure since the Group was made: use a Group per
// batch of tasks whose failure is to be reported together.
//
// The first failure, not all of them, as errgroup does and unlike conc's
// pools, which join every error: a Group may live as long as the program
// (one task per connection, say), and keeping every failure until Wait
// would grow without bound; and the first failure is usually the cause of
// the others, which cascade from it. The later ones still reach whoever
// watches their devices: the parent, through its link, when it monitors
// the tasks (Monitor or Peer), and every Hook, in an EventDisconnected.
func (g *Group) Wait() error {
	g.mu.Lock()
	for g.running > 0 {
		if g.idle == nil {
			g.idle = make(chan struct{})
		}
		idle := g.idle
		g.mu.Unlock()
		<-idle
		g.mu.Lock()
	}
	err := g.err
	g.mu.Unlock()
	return err
}
