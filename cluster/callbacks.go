package cluster

import "sync"

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
