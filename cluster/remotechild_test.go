package cluster_test

import (
	"context"
	"testing"
	"time"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/cluster"
	"github.com/backplane-go/backplane/supervisor"
)

// events records a supervisor's events, for a test to wait on.
type events struct {
	c    chan supervisor.Event
	seen []supervisor.Event
}

func newEvents() *events { return &events{c: make(chan supervisor.Event, 1024)} }

// hook is the supervisor's event hook. It never blocks the supervisor for
// long: the channel holds more than any test makes.
func (e *events) hook(ev supervisor.Event) { e.c <- ev }

// await returns the first event, after those already awaited, for which ok
// holds; it fails the test after wait.
func (e *events) await(t *testing.T, what string, ok func(supervisor.Event) bool) supervisor.Event {
	t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case ev := <-e.c:
			e.seen = append(e.seen, ev)
			if ok(ev) {
				return ev
			}
		case <-deadline:
			t.Fatalf("no %s after %v; saw %v", what, wait, e.seen)
		}
	}
}

// started waits for the child id to start or restart, and returns the node
// its device's task runs on, as the started task reported it.
func (e *events) started(t *testing.T, id string) supervisor.Instance {
	t.Helper()
	ev := e.await(t, "start of "+id, func(ev supervisor.Event) bool {
		switch ev := ev.(type) {
		case supervisor.ChildStarted:
			return ev.Child == id
		case supervisor.ChildRestarted:
			return ev.Child == id
		}
		return false
	})
	switch ev := ev.(type) {
	case supervisor.ChildStarted:
		return ev.Instance
	case supervisor.ChildRestarted:
		return ev.Instance
	}
	panic("unreachable")
}

// exited waits for the child id to exit, and returns its event.
func (e *events) exited(t *testing.T, id string) supervisor.ChildExited {
	t.Helper()
	return e.await(t, "exit of "+id, func(ev supervisor.Event) bool {
		x, ok := ev.(supervisor.ChildExited)
		return ok && x.Child == id
	}).(supervisor.ChildExited)
}

// run is a task started for a remote child: where it runs and its device.
type run struct {
	node string
	line backplane.Line
	arg  string
}

// workers registers on each node the kind "work": a task that reports its
// start on runs, waits for its context, and reports the cause of its end on
// ends.
func workers(t *testing.T, runs chan<- run, ends chan<- error, nodes ...*cluster.Node) {
	t.Helper()
	for _, n := range nodes {
		name := n.ID().Name
		err := n.RegisterKind("work", func(ctx context.Context, arg []byte) error {
			l, _ := backplane.LineOf(ctx)
			runs <- run{node: name, line: l, arg: string(arg)}
			<-ctx.Done()
			if ends != nil {
				ends <- context.Cause(ctx)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// serve runs sup until the test ends, and returns what Serve returned.
func serve(t *testing.T, sup *supervisor.Supervisor) <-chan error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	res := make(chan error, 1)
	go func() { res <- sup.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-res
	})
	return res
}

// nextRun receives the next task start.
func nextRun(t *testing.T, runs <-chan run) run {
	t.Helper()
	select {
	case r := <-runs:
		return r
	case <-time.After(wait):
		t.Fatal("no task started")
	}
	return run{}
}

// A child placed on b by turn fails over to c when b leaves, and its fault
// names the task it stood for; the restart skips b, gone. Its argument
// reaches every start.
func TestRemoteChildFailover(t *testing.T) {
	a := start(t, cluster.Config{Name: "a"})
	b := start(t, cluster.Config{Name: "b", URL: a.ClientURL(), Secret: a.Secret()})
	c := start(t, cluster.Config{Name: "c", URL: a.ClientURL(), Secret: a.Secret()})
	runs := make(chan run, 16)
	workers(t, runs, nil, b, c)
	ev := newEvents()
	sup, err := supervisor.New(supervisor.WithEventHook(ev.hook), supervisor.WithChildren(
		a.RemoteChild(cluster.RemoteSpec{ID: "w", Kind: "work", Arg: []byte("x"), Placement: cluster.RoundRobin("b", "c")}),
	))
	if err != nil {
		t.Fatal(err)
	}
	serve(t, sup)
	first := ev.started(t, "w")
	r := nextRun(t, runs)
	if r.node != "b" || r.arg != "x" {
		t.Fatalf("first start on %s with %q, want b with x", r.node, r.arg)
	}
	if load, _ := cluster.PlacedChildren(ctxFor(t), a, "b"); load != 1 {
		t.Errorf("placed on b: %v, want 1", load)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	x := ev.exited(t, "w")
	if x.Device != first.Device || x.Fault == nil || x.Fault.Kind != backplane.FaultCascade || x.Stopped {
		t.Fatalf("exit %v, want a cascade of generation %v", x, first)
	}
	if root, _ := x.Fault.Root(); root.Node() != b.ID() || root.Seq() != r.line.ID().Seq() {
		t.Errorf("root of the exit %v, want the task on b", root)
	}
	ev.started(t, "w")
	if r := nextRun(t, runs); r.node != "c" || r.arg != "x" {
		t.Fatalf("restart on %s with %q, want c with x", r.node, r.arg)
	}
	if load, _ := cluster.PlacedChildren(ctxFor(t), a, "b"); load != 0 {
		t.Errorf("placed on b after failover: %v, want 0", load)
	}
}
