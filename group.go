package backplane

import (
	"context"
	"sync"
)

// Group starts tasks in goroutines of their own, each under a new managed
// Device linked to a parent (Erlang's spawn_link), and owns those
// goroutines: Wait waits for all of them to return.
//
// The zero Group is ready to use. A Group is safe for concurrent use,
// including Spawn while another goroutine waits; it must not be copied after
// first use.
type Group struct {
	mu      sync.Mutex
	running int
	idle    chan struct{} // made by a waiter; closed when running drops to zero
}

// Spawn creates a Device named by opts, links parent to it in mode (seen
// from parent: Monitor means parent watches the new device, Peer links both
// ways as spawn_link does), and runs task under it with Manage in a new
// goroutine. It returns the new device's Line.
//
// The link is in place before the task starts, so no outcome of the task
// can be missed. If the link fails (parent down, bad mode, nil parent), no
// goroutine is started and the error says why.
func (g *Group) Spawn(ctx context.Context, parent Linkable, mode LinkMode, task func(context.Context) error, opts ...Option) (Line, error) {
	if ctx == nil || task == nil {
		return Line{}, &DeviceError{Op: "spawn", Err: ErrNilArg}
	}
	c := configure(opts)
	c.owned = true // this goroutine holds d until Manage has disconnected it
	d := newDevice(c)
	if err := lineOf(parent).Link(d, mode); err != nil {
		d.d.disconnect(nil, nil) // never linked, never ran: nobody to tell
		return Line{}, err
	}
	g.mu.Lock()
	g.running++
	g.mu.Unlock()
	go func() {
		defer g.done()
		_ = d.Manage(ctx, task) // the outcome reaches the parent through the link
	}()
	return d.Line(), nil
}

func (g *Group) done() {
	g.mu.Lock()
	g.running--
	if g.running == 0 && g.idle != nil {
		close(g.idle)
		g.idle = nil
	}
	g.mu.Unlock()
}

// Wait blocks until no task started by Spawn is running. A Spawn that
// overlaps Wait may or may not be waited for; one that happens after Wait
// returns is not.
func (g *Group) Wait() {
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
	g.mu.Unlock()
}
