package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/cluster"
	"github.com/backplane-go/backplane/internal/bridge"
)

// kinds registers the task kinds of the spawn tests on n: "fail" returns
// its argument as an error, "panic" panics with it, "wait" waits for its
// context and returns nil.
func kinds(t *testing.T, n *cluster.Node) {
	t.Helper()
	for kind, task := range map[string]cluster.Task{
		"fail":  func(_ context.Context, arg []byte) error { return errors.New(string(arg)) },
		"panic": func(_ context.Context, arg []byte) error { panic(string(arg)) },
		"wait": func(ctx context.Context, _ []byte) error {
			<-ctx.Done()
			return nil
		},
	} {
		if err := n.RegisterKind(kind, task); err != nil {
			t.Fatal(err)
		}
	}
}

func spawnOn(t *testing.T, from *cluster.Node, node, kind, arg string, parent backplane.Linkable, mode backplane.LinkMode) backplane.Line {
	t.Helper()
	l, err := from.Spawn(ctxFor(t), node, kind, []byte(arg), parent, mode)
	if err != nil {
		t.Fatalf("spawn %s on %s: %v", kind, node, err)
	}
	return l
}

// endOf receives from w the end of the device l, and returns its fault.
func endOf(t *testing.T, w *backplane.Device, l backplane.Line) *backplane.Fault {
	t.Helper()
	m := receive(t, w)
	if m.Kind() != backplane.Disconnected || m.From() != l.ID() {
		t.Fatalf("got %v from %v, want the end of %v", m.Kind(), m.From(), l.ID())
	}
	return m.Fault()
}

// A task started on another node, in every link mode: the parent that
// monitors it is told its end, error or panic, even though the task ends
// at once (the link is made before it runs); a task that watches its
// parent cascades when the parent faults.
func TestSpawnModes(t *testing.T) {
	a, b := pair(t)
	kinds(t, b)
	kinds(t, a)
	for _, node := range []string{"b", "a"} { // another node, and this one
		for _, mode := range []backplane.LinkMode{backplane.Monitor, backplane.Peer} {
			parent := backplane.New()
			l := spawnOn(t, a, node, "fail", "boom "+node, parent, mode)
			if (node == "b") != bridge.IsProxy(l) {
				t.Errorf("spawn on %s gave %v", node, l.ID())
			}
			f := endOf(t, parent, l)
			if f == nil || f.Kind != backplane.FaultError || f.Err.Error() != "boom "+node {
				t.Errorf("%s %v: parent told %v, want the task's error", node, mode, f)
			}
			_ = parent.Disconnect(nil)
		}
		parent := backplane.New()
		l := spawnOn(t, a, node, "panic", "oops", parent, backplane.Monitor)
		if f := endOf(t, parent, l); f == nil || f.Kind != backplane.FaultPanic || f.Value != "oops" || len(f.Stack) == 0 {
			t.Errorf("%s: parent told %v, want the task's panic with its stack", node, f)
		}
		_ = parent.Disconnect(nil)

		for _, mode := range []backplane.LinkMode{backplane.Notify, backplane.Peer} {
			parent := backplane.New()
			l := spawnOn(t, a, node, "wait", "", parent, mode)
			w := backplane.New()
			if err := w.Link(l, backplane.Monitor); err != nil {
				t.Fatal(err)
			}
			if node == "b" {
				settle(t, a, b)
			}
			_ = parent.Disconnect(errors.New("parent failed"))
			f := endOf(t, w, l)
			root, rf := f.Root()
			if f.Kind != backplane.FaultCascade || root != parent.ID() || rf == nil || rf.Err == nil || rf.Err.Error() != "parent failed" {
				t.Errorf("%s %v: task ended with %v, want a cascade from its parent", node, mode, f)
			}
			_ = w.Disconnect(nil)
		}
	}
}

// A parent that only notifies is not told of the task's end; the task's
// Line still is, for other watchers.
func TestSpawnNotifyOnly(t *testing.T) {
	a, b := pair(t)
	kinds(t, b)
	parent := backplane.New()
	defer parent.Drop()
	l := spawnOn(t, a, "b", "wait", "", parent, backplane.Notify)
	w := backplane.New()
	defer w.Drop()
	if err := w.Link(l, backplane.Monitor); err != nil {
		t.Fatal(err)
	}
	settle(t, a, b)
	if err := l.Shutdown(backplane.DeviceID{}); err != nil {
		t.Fatal(err)
	}
	if f := endOf(t, w, l); f != nil {
		t.Errorf("task stopped on request ended with %v, want a clean end", f)
	}
	settle(t, a, b)
	if m, ok := parent.TryReceive(); ok {
		t.Errorf("the notifying parent was told %v", m)
	}
}

// The node the task runs on closes: the task is killed and Close waits for
// it; the parent is told, with the kill or as unreachable, once.
func TestSpawnTargetCloses(t *testing.T) {
	a, b := pair(t)
	kinds(t, b)
	parent := backplane.New()
	defer parent.Drop()
	l := spawnOn(t, a, "b", "wait", "", parent, backplane.Monitor)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	f := endOf(t, parent, l)
	if f == nil || f.Kind != backplane.FaultKilled && f.Kind != backplane.FaultUnreachable {
		t.Errorf("parent told %v, want a kill or unreachable", f)
	}
	// The name b no longer resolves.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := a.Spawn(ctx, "b", "wait", nil, parent, backplane.Monitor); !errors.Is(err, cluster.ErrUnknownNode) {
		t.Errorf("spawn on a closed node: %v, want ErrUnknownNode", err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if parent.Pending() != 0 {
		t.Errorf("parent has %d more messages", parent.Pending())
	}
}

// Bad input gets documented errors, and starts nothing.
func TestSpawnBadInput(t *testing.T) {
	a, b := pair(t)
	kinds(t, b)
	parent := backplane.New()
	defer parent.Drop()
	gone := backplane.New()
	_ = gone.Disconnect(nil)
	proxy := spawnOn(t, a, "b", "wait", "", parent, backplane.Monitor)
	short := func() context.Context {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		t.Cleanup(cancel)
		return ctx
	}
	for _, tc := range []struct {
		name   string
		ctx    context.Context
		node   string
		kind   string
		arg    []byte
		parent backplane.Linkable
		mode   backplane.LinkMode
		want   error
	}{
		{"unknown kind", ctxFor(t), "b", "nope", nil, parent, backplane.Monitor, cluster.ErrUnknownKind},
		{"unknown kind here", ctxFor(t), "a", "nope", nil, parent, backplane.Monitor, cluster.ErrUnknownKind},
		{"empty kind", ctxFor(t), "b", "", nil, parent, backplane.Monitor, cluster.ErrUnknownKind},
		{"kind too long", ctxFor(t), "b", strings.Repeat("k", 256), nil, parent, backplane.Monitor, cluster.ErrUnknownKind},
		{"unknown node", short(), "nobody", "wait", nil, parent, backplane.Monitor, cluster.ErrUnknownNode},
		{"bad node name", ctxFor(t), "no/such", "wait", nil, parent, backplane.Monitor, backplane.ErrInvalid},
		{"arg too large", ctxFor(t), "b", "wait", make([]byte, cluster.MaxArgLen+1), parent, backplane.Monitor, cluster.ErrArgTooLarge},
		{"no mode", ctxFor(t), "b", "wait", nil, parent, 0, backplane.ErrInvalid},
		{"bad mode", ctxFor(t), "b", "wait", nil, parent, 4, backplane.ErrInvalid},
		{"nil parent", ctxFor(t), "b", "wait", nil, nil, backplane.Monitor, backplane.ErrNilArg},
		{"parent down", ctxFor(t), "b", "wait", nil, gone, backplane.Monitor, backplane.ErrLinkDown},
		{"parent down here", ctxFor(t), "a", "wait", nil, gone, backplane.Monitor, backplane.ErrLinkDown},
		{"remote parent", ctxFor(t), "b", "wait", nil, proxy, backplane.Monitor, backplane.ErrInvalid},
	} {
		l, err := a.Spawn(tc.ctx, tc.node, tc.kind, tc.arg, tc.parent, tc.mode)
		if !errors.Is(err, tc.want) || !l.IsZero() {
			t.Errorf("%s: Spawn = %v, %v; want %v", tc.name, l, err, tc.want)
		}
	}
	if m, ok := parent.TryReceive(); ok {
		t.Errorf("parent was told %v", m)
	}

	task := func(context.Context, []byte) error { return nil }
	for _, tc := range []struct {
		name string
		kind string
		task cluster.Task
		want error
	}{
		{"empty", "", task, backplane.ErrInvalid},
		{"too long", strings.Repeat("k", 256), task, backplane.ErrInvalid},
		{"zero byte", "\x00k", task, backplane.ErrInvalid},
		{"nil task", "k", nil, backplane.ErrNilArg},
	} {
		if err := b.RegisterKind(tc.kind, tc.task); !errors.Is(err, tc.want) {
			t.Errorf("RegisterKind %s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if err := b.RegisterKind("wait", task); err == nil {
		t.Error("RegisterKind of a kind taken succeeded")
	}
	b.UnregisterKind("wait")
	if _, err := a.Spawn(ctxFor(t), "b", "wait", nil, parent, backplane.Monitor); !errors.Is(err, cluster.ErrUnknownKind) {
		t.Errorf("spawn of an unregistered kind: %v, want ErrUnknownKind", err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Spawn(ctxFor(t), "b", "fail", nil, parent, backplane.Monitor); !errors.Is(err, cluster.ErrClosed) {
		t.Errorf("spawn after Close: %v, want ErrClosed", err)
	}
	if err := a.RegisterKind("late", task); !errors.Is(err, cluster.ErrClosed) {
		t.Errorf("RegisterKind after Close: %v, want ErrClosed", err)
	}
}

// A node process killed with SIGKILL while tasks started there run: every
// parent is told once, as unreachable; a task started after the node came
// back runs on its new incarnation.
func TestProcessSpawnKill(t *testing.T) {
	p := procNode(t)
	c := spawn(t, "c1", p.ClientURL(), p.Secret())
	parents := make([]*backplane.Device, 3)
	lines := make([]backplane.Line, len(parents))
	for i, mode := range []backplane.LinkMode{backplane.Monitor, backplane.Peer, backplane.Monitor} {
		parents[i] = backplane.New()
		t.Cleanup(parents[i].Drop)
		lines[i] = spawnOn(t, p, "c1", "wait", "", parents[i], mode)
	}
	if err := c.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	for i, parent := range parents {
		f := endOf(t, parent, lines[i])
		var ue *cluster.UnreachableError
		if f == nil || f.Kind != backplane.FaultUnreachable || !errors.As(f, &ue) || ue.Node != lines[i].ID().Node() {
			t.Errorf("parent %d told %v, want unreachable", i, f)
		}
	}
	c.stop()

	spawn(t, "c1", p.ClientURL(), p.Secret()) // c1 again: a new incarnation
	parent := backplane.New()
	defer parent.Drop()
	l := spawnOn(t, p, "c1", "wait", "", parent, backplane.Monitor)
	if l.ID().Node() == lines[0].ID().Node() {
		t.Errorf("a task on the restarted node runs on %v, the old incarnation", l.ID().Node())
	}
	if err := l.Shutdown(backplane.DeviceID{}); err != nil {
		t.Fatal(err)
	}
	if f := endOf(t, parent, l); f != nil {
		t.Errorf("task stopped on request: %v, want a clean end", f)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	for _, parent := range append(parents, parent) {
		if parent.Pending() != 0 {
			t.Errorf("%v: %d more messages", parent.ID(), parent.Pending())
		}
	}
}

// Many Spawns at once, from both nodes to each other: every parent is told
// its own task's end, once.
func TestSpawnContention(t *testing.T) {
	a, b := pair(t)
	kinds(t, a)
	kinds(t, b)
	const k = 100
	errs := make(chan error, 2*k)
	var wg sync.WaitGroup
	for i := range 2 * k {
		from, to := a, "b"
		if i%2 == 1 {
			from, to = b, "a"
		}
		wg.Go(func() {
			parent := backplane.New()
			defer parent.Drop()
			want := fmt.Sprintf("task %d", i)
			l, err := from.Spawn(ctxFor(t), to, "fail", []byte(want), parent, backplane.Peer)
			if err != nil {
				errs <- err
				return
			}
			m, err := parent.Receive(ctxFor(t))
			switch {
			case err != nil:
				errs <- err
			case m.From() != l.ID() || m.Fault() == nil || m.Fault().Err == nil || m.Fault().Err.Error() != want:
				errs <- fmt.Errorf("parent of %s told %v from %v", want, m.Fault(), m.From())
			case parent.Pending() != 0:
				errs <- fmt.Errorf("parent of %s has %d more messages", want, parent.Pending())
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
