package cluster

import (
	"context"
	"sync"

	"github.com/backplane-go/backplane"
)

// callbacks hands values to a function, in order, one at a time, on a
// goroutine of its own, so that whoever produces them never waits for the
// function: values wait in an unbounded queue. The node owns the
// goroutine: stop ends it and waits for it.
type callbacks[T any] struct {
	fn      func(T)
	mu      sync.Mutex
	q       []T
	stopped bool
	wake    chan struct{} // buffered: one pending wake-up
	done    chan struct{} // closed when run returns
}

func newCallbacks[T any](fn func(T)) *callbacks[T] {
	return &callbacks[T]{fn: fn, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// push queues v; after stop it is dropped.
func (c *callbacks[T]) push(v T) {
	c.mu.Lock()
	if !c.stopped {
		c.q = append(c.q, v)
	}
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// run calls fn with the queued values until stop.
func (c *callbacks[T]) run() {
	defer close(c.done)
	for {
		c.mu.Lock()
		if c.stopped {
			c.mu.Unlock()
			return
		}
		var v T
		ok := len(c.q) > 0
		if ok {
			v = c.q[0]
			var zero T
			c.q[0] = zero
			c.q = c.q[1:]
		}
		c.mu.Unlock()
		if ok {
			c.fn(v)
			continue
		}
		<-c.wake
	}
}

// stop drops the values not yet handed over and makes run return after
// the call of fn in progress, if any. wait says whether to wait for that.
func (c *callbacks[T]) stop(wait bool) {
	c.mu.Lock()
	c.stopped = true
	c.q = nil
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	if wait {
		<-c.done
	}
}

// watchRegistry opens a watch of key in this node's copy of the registry,
// for WatchName and WatchGroup: it checks key (a registry name, described
// as what in errors) and fn, binds the registry, queues for fn the events
// that now returns, under the registry's lock, adds fn's queue to the
// watchers of key in the map that watchers returns, and runs the queue on
// a goroutine of the node's. op names the call in errors. The stop it
// returns removes the queue and waits for a call of fn in progress.
func watchRegistry[E any](ctx context.Context, n *Node, op, what, key string, fn func(E),
	watchers func(*registry) map[string]map[*callbacks[E]]struct{}, now func(*registry) []E) (stop func(), err error) {
	ctx, cancel := registryContext(ctx)
	defer cancel()
	switch {
	case !validRegistryName(key):
		return nil, errorf("cluster: %s %q: %w: not a %s", op, key, backplane.ErrInvalid, what)
	case fn == nil:
		return nil, errorf("cluster: %s %q: %w: nil func", op, key, backplane.ErrInvalid)
	}
	if _, err := n.reg.open(ctx); err != nil {
		return nil, errorf("cluster: %s %q: %w", op, key, err)
	}
	c := newCallbacks(fn)
	r := n.reg
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, errorf("cluster: %s %q: %w", op, key, ErrClosed)
	}
	for _, e := range now(r) {
		c.push(e)
	}
	w := watchers(r)
	if w[key] == nil {
		w[key] = make(map[*callbacks[E]]struct{})
	}
	w[key][c] = struct{}{}
	n.wg.Add(1)
	r.mu.Unlock()
	go func() {
		defer n.wg.Done()
		c.run()
	}()
	return func() {
		r.mu.Lock()
		delete(w[key], c)
		if len(w[key]) == 0 {
			delete(w, key)
		}
		r.mu.Unlock()
		c.stop(true)
	}, nil
}
