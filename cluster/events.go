package cluster

import (
	"fmt"
	"sync"

	"github.com/backplane-go/backplane"
)

// NodeEvent tells that a session with another node incarnation came up or
// ended (Config.OnNode). Nodes connect lazily, as Erlang's do: a session
// opens when one node first sends another something (a Lookup, a link, a
// NodeLine, a Ping), and the other node is Up from the first frame
// received in it. Every Up is followed, once, by the Down of the same
// incarnation, when its session ends; a node that comes back is a new
// incarnation, with an Up of its own.
type NodeEvent struct {
	// Node is the node incarnation.
	Node backplane.NodeID
	// Up is true when the session came up, false when it ended.
	Up bool
	// Reason is, for a Down, why the session ended: an *UnreachableError
	// naming Node, wrapping ErrUnreachable and the transport's reason (a
	// heartbeat timeout, a gap, the peer's goodbye or restart, the closing
	// of the peer's NATS connection, the loss of this node's, or
	// ErrClosed). Nil for an Up.
	Reason error
}

// String describes the event, e.g. "db/12 up".
func (e NodeEvent) String() string {
	if e.Up {
		return fmt.Sprintf("%v up", e.Node)
	}
	return fmt.Sprintf("%v down: %v", e.Node, e.Reason)
}

// events hands NodeEvents to Config.OnNode, in order, on its own
// goroutine. The handler's goroutine queues them without waiting.
type events struct {
	fn   func(NodeEvent)
	mu   sync.Mutex
	q    []NodeEvent
	shut bool
	wake chan struct{} // buffered: one pending wake-up
}

func newEvents(fn func(NodeEvent)) *events {
	if fn == nil {
		return nil
	}
	return &events{fn: fn, wake: make(chan struct{}, 1)}
}

// push queues e. It is a no-op on a nil events (no OnNode).
func (ev *events) push(e NodeEvent) {
	if ev == nil {
		return
	}
	ev.mu.Lock()
	ev.q = append(ev.q, e)
	ev.mu.Unlock()
	ev.signal()
}

func (ev *events) signal() {
	select {
	case ev.wake <- struct{}{}:
	default:
	}
}

// close makes run return once the events queued so far are delivered.
func (ev *events) close() {
	if ev == nil {
		return
	}
	ev.mu.Lock()
	ev.shut = true
	ev.mu.Unlock()
	ev.signal()
}

// run delivers events until close.
func (ev *events) run() {
	for {
		ev.mu.Lock()
		q, shut := ev.q, ev.shut
		ev.q = nil
		ev.mu.Unlock()
		for _, e := range q {
			ev.fn(e)
		}
		if len(q) == 0 {
			if shut {
				return
			}
			<-ev.wake
		}
	}
}
