package cluster_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/cluster"
)

// nodeEvents records the NodeEvents of a node, for Config.OnNode.
type nodeEvents struct {
	mu  sync.Mutex
	all []cluster.NodeEvent
	c   chan struct{} // signalled on every event
}

func newNodeEvents() *nodeEvents { return &nodeEvents{c: make(chan struct{}, 1)} }

func (e *nodeEvents) on(ev cluster.NodeEvent) {
	e.mu.Lock()
	e.all = append(e.all, ev)
	e.mu.Unlock()
	select {
	case e.c <- struct{}{}:
	default:
	}
}

// await waits until ok holds for the events so far, and returns them.
func (e *nodeEvents) await(t *testing.T, what string, ok func([]cluster.NodeEvent) bool) []cluster.NodeEvent {
	t.Helper()
	deadline := time.After(wait)
	for {
		e.mu.Lock()
		all := append([]cluster.NodeEvent(nil), e.all...)
		e.mu.Unlock()
		if ok(all) {
			return all
		}
		select {
		case <-e.c:
		case <-deadline:
			t.Fatalf("no %s in %v", what, all)
		}
	}
}

// has reports whether all holds an event for node, up or down.
func has(all []cluster.NodeEvent, node backplane.NodeID, up bool) int {
	n := 0
	for _, e := range all {
		if e.Node == node && e.Up == up {
			n++
		}
	}
	return n
}

// monitorNode links a new device to the node line of node, as seen from n.
func monitorNode(t *testing.T, n *cluster.Node, node backplane.NodeID) (*backplane.Device, backplane.Line) {
	t.Helper()
	l, err := n.NodeLine(ctxFor(t), node)
	if err != nil {
		t.Fatal(err)
	}
	w := backplane.New()
	t.Cleanup(func() { _ = w.Disconnect(nil) })
	if err := w.Link(l, backplane.Monitor); err != nil {
		t.Fatal(err)
	}
	return w, l
}

// toldNodeGone checks that w was told once that node is unreachable, for
// reason.
func toldNodeGone(t *testing.T, w *backplane.Device, node backplane.NodeID, reason error) {
	t.Helper()
	m := receive(t, w)
	f := m.Fault()
	var ue *cluster.UnreachableError
	switch {
	case m.Kind() != backplane.Disconnected || m.From().Node() != node || !cluster.IsNodeLine(m.From()):
		t.Fatalf("got %v from %v, want Disconnected from the node line of %v", m.Kind(), m.From(), node)
	case f == nil || f.Kind != backplane.FaultUnreachable:
		t.Fatalf("fault %v, want FaultUnreachable", f)
	case !errors.As(f, &ue) || ue.Node != node || !errors.Is(f, cluster.ErrUnreachable):
		t.Fatalf("fault %v does not wrap an UnreachableError for %v", f, node)
	case reason != nil && !errors.Is(f, reason):
		t.Fatalf("fault %v, want one wrapping %v", f, reason)
	}
}

// A node line fires once when its node closes, and the node's up and down
// are told to OnNode; a restarted node is a new incarnation with its own up
// event and node line, and the old incarnation's line fires at once.
func TestNodeLine(t *testing.T) {
	ev := newNodeEvents()
	a := start(t, cluster.Config{Name: "a", OnNode: ev.on})
	b := start(t, cluster.Config{Name: "b", URL: a.ClientURL(), Secret: a.Secret()})
	old := b.ID()

	w, l := monitorNode(t, a, backplane.NodeID{Name: "b"})
	if l.ID().Node() != old || !cluster.IsNodeLine(l.ID()) {
		t.Fatalf("node line %v, want one of %v", l.ID(), old)
	}
	if l2, err := a.NodeLine(ctxFor(t), old); err != nil || l2 != l {
		t.Fatalf("NodeLine of the incarnation = %v, %v; want %v", l2, err, l)
	}
	if l2, err := a.Line(l.ID()); err != nil || l2 != l {
		t.Fatalf("Line of the node line's ID = %v, %v; want %v", l2, err, l)
	}
	ev.await(t, "up of b", func(all []cluster.NodeEvent) bool { return has(all, old, true) == 1 })
	if err := l.Shutdown(backplane.DeviceID{}); !errors.Is(err, cluster.ErrNodeLine) {
		t.Errorf("Shutdown of a node line: %v, want ErrNodeLine", err)
	}
	if err := l.Kill(backplane.DeviceID{}, nil); !errors.Is(err, cluster.ErrNodeLine) {
		t.Errorf("Kill of a node line: %v, want ErrNodeLine", err)
	}
	if err := l.Link(backplane.New(), backplane.Monitor); !errors.Is(err, cluster.ErrNodeLine) {
		t.Errorf("node line watching a device: %v, want ErrNodeLine", err)
	}

	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	toldNodeGone(t, w, old, nil)
	all := ev.await(t, "down of b", func(all []cluster.NodeEvent) bool { return has(all, old, false) == 1 })
	for _, e := range all {
		if e.Node == old && !e.Up && !errors.Is(e.Reason, cluster.ErrUnreachable) {
			t.Errorf("down event %v does not wrap ErrUnreachable", e)
		}
	}

	// b again: a new incarnation, up, with a node line of its own.
	b2 := start(t, cluster.Config{Name: "b", URL: a.ClientURL(), Secret: a.Secret()})
	w2, l2 := monitorNode(t, a, backplane.NodeID{Name: "b"})
	if l2.ID().Node() != b2.ID() || l2 == l {
		t.Fatalf("node line %v after the restart, want one of %v", l2.ID(), b2.ID())
	}
	ev.await(t, "up of b again", func(all []cluster.NodeEvent) bool { return has(all, b2.ID(), true) == 1 })
	// The old incarnation is known gone: its line is down already, with
	// the fault, and a link to it fails as to any device that is gone.
	_, err := a.NodeLine(ctxFor(t), old)
	var ue *cluster.UnreachableError
	if !errors.Is(err, cluster.ErrUnreachable) || !errors.As(err, &ue) || ue.Node != old {
		t.Errorf("NodeLine of a dead incarnation: %v, want an UnreachableError for %v", err, old)
	}

	// Closing a fires the live line with ErrClosed, once, and tells OnNode
	// of b's down before Close returns.
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	toldNodeGone(t, w2, b2.ID(), cluster.ErrClosed)
	if has(ev.all, b2.ID(), false) != 1 {
		t.Errorf("events after Close: %v, want one down of %v", ev.all, b2.ID())
	}
	for _, d := range []*backplane.Device{w, w2} {
		if d.Pending() != 0 {
			t.Errorf("%v: %d more messages", d.ID(), d.Pending())
		}
	}
	// Every up is followed by exactly one down of the same incarnation.
	for _, e := range ev.all {
		if e.Up && has(ev.all, e.Node, false) != 1 {
			t.Errorf("events %v: %v is not down once", ev.all, e.Node)
		}
	}
}

// Bad input to NodeLine gets documented errors.
func TestNodeLineBadInput(t *testing.T) {
	a, _ := pair(t)
	for _, name := range []string{"", "no spaces", "a"} {
		if _, err := a.NodeLine(ctxFor(t), backplane.NodeID{Name: name}); !errors.Is(err, backplane.ErrInvalid) {
			t.Errorf("NodeLine(%q) = %v, want ErrInvalid", name, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := a.NodeLine(ctx, backplane.NodeID{Name: "nobody"}); !errors.Is(err, cluster.ErrUnknownNode) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("NodeLine of an unknown node = %v, want ErrUnknownNode and the deadline", err)
	}
	// An incarnation that never answers fires after the timeout.
	w, _ := monitorNode(t, a, backplane.NodeID{Name: "nobody", Incarnation: 7})
	toldNodeGone(t, w, backplane.NodeID{Name: "nobody", Incarnation: 7}, nil)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.NodeLine(ctxFor(t), backplane.NodeID{Name: "b"}); !errors.Is(err, cluster.ErrClosed) {
		t.Errorf("NodeLine after Close = %v, want ErrClosed", err)
	}
}

// A node process killed with SIGKILL fires its node line once, as
// unreachable after the timeout.
func TestProcessNodeLineKill(t *testing.T) {
	ev := newNodeEvents()
	p := start(t, cluster.Config{Name: "p", Heartbeat: procTimeout / 10, Timeout: procTimeout, OnNode: ev.on})
	c := spawn(t, "c1", p.ClientURL(), p.Secret())
	ws := make([]*backplane.Device, 3)
	var node backplane.NodeID
	for i := range ws {
		var l backplane.Line
		ws[i], l = monitorNode(t, p, backplane.NodeID{Name: "c1"})
		node = l.ID().Node()
	}
	if err := c.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	for _, w := range ws {
		toldNodeGone(t, w, node, nil)
	}
	ev.await(t, "down of c1", func(all []cluster.NodeEvent) bool { return has(all, node, false) == 1 })
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	for _, w := range ws {
		if w.Pending() != 0 {
			t.Errorf("%v: %d more messages", w.ID(), w.Pending())
		}
	}
	if has(ev.all, node, true) != 1 || has(ev.all, node, false) != 1 {
		t.Errorf("events %v, want one up and one down of %v", ev.all, node)
	}
}
