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
	res, done := make(chan error, 1), make(chan struct{})
	go func() {
		defer close(done)
		res <- sup.Serve(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
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

// Restarts on other nodes count against the intensity as any other: with
// one restart allowed, the first node lost moves the child, the second
// makes the supervisor give up.
func TestRemoteChildIntensityAcrossFailovers(t *testing.T) {
	a := start(t, cluster.Config{Name: "a"})
	b := start(t, cluster.Config{Name: "b", URL: a.ClientURL(), Secret: a.Secret()})
	c := start(t, cluster.Config{Name: "c", URL: a.ClientURL(), Secret: a.Secret()})
	d := start(t, cluster.Config{Name: "d", URL: a.ClientURL(), Secret: a.Secret()})
	runs := make(chan run, 16)
	workers(t, runs, nil, b, c, d)
	ev := newEvents()
	sup, err := supervisor.New(supervisor.WithEventHook(ev.hook), supervisor.WithIntensity(1, time.Hour), supervisor.WithChildren(
		a.RemoteChild(cluster.RemoteSpec{ID: "w", Kind: "work", Placement: cluster.RoundRobin("b", "c", "d")}),
	))
	if err != nil {
		t.Fatal(err)
	}
	res := serve(t, sup)
	for i, n := range []*cluster.Node{b, c} {
		ev.started(t, "w")
		if r := nextRun(t, runs); r.node != n.ID().Name {
			t.Fatalf("start %d on %s, want %s", i, r.node, n.ID().Name)
		}
		if err := n.Close(); err != nil {
			t.Fatal(err)
		}
		ev.exited(t, "w")
	}
	select {
	case err := <-res:
		var rl *supervisor.RestartLimitError
		if !errors.As(err, &rl) || rl.Child != "w" {
			t.Fatalf("Serve returned %v, want the restart limit", err)
		}
	case <-time.After(wait):
		t.Fatal("the supervisor did not give up")
	}
	select {
	case r := <-runs:
		t.Errorf("started again on %s past the limit", r.node)
	default:
	}
}

// A placement that fails, or finds no node, fails the start with a
// documented error: the supervisor's Serve, at its first start; a restart,
// retried and counted, until the intensity runs out.
func TestRemoteChildPlacementErrors(t *testing.T) {
	a := start(t, cluster.Config{Name: "a"})
	b := start(t, cluster.Config{Name: "b", URL: a.ClientURL(), Secret: a.Secret()})
	workers(t, make(chan run, 16), nil, b)
	boom := errors.New("no capacity")
	for _, tt := range []struct {
		name string
		spec cluster.RemoteSpec
		want error
	}{
		{"error", cluster.RemoteSpec{Placement: func(context.Context, *cluster.Node) (string, error) { return "", boom }}, boom},
		{"empty", cluster.RemoteSpec{Placement: func(context.Context, *cluster.Node) (string, error) { return "", nil }}, cluster.ErrNoNode},
		{"round robin of none", cluster.RemoteSpec{Placement: cluster.RoundRobin()}, cluster.ErrNoNode},
		{"least loaded of none", cluster.RemoteSpec{Placement: cluster.LeastLoaded(cluster.PlacedChildren)}, cluster.ErrNoNode},
		{"least loaded, loads fail", cluster.RemoteSpec{Placement: cluster.LeastLoaded(
			func(context.Context, *cluster.Node, string) (float64, error) { return 0, boom }, "b")}, boom},
		{"nil placement", cluster.RemoteSpec{}, backplane.ErrNilArg},
		{"unknown kind", cluster.RemoteSpec{Kind: "nope", Placement: cluster.Fixed("b")}, cluster.ErrUnknownKind},
		{"unknown node", cluster.RemoteSpec{Placement: cluster.Fixed("nobody"), StartTimeout: 100 * time.Millisecond}, cluster.ErrUnknownNode},
	} {
		t.Run(tt.name, func(t *testing.T) {
			spec := tt.spec
			spec.ID = "w"
			if spec.Kind == "" {
				spec.Kind = "work"
			}
			sup, err := supervisor.New(supervisor.WithChildren(a.RemoteChild(spec)))
			if err != nil {
				t.Fatal(err)
			}
			err = sup.Serve(ctxFor(t))
			var se *supervisor.StartError
			if !errors.As(err, &se) || se.Child != "w" || !errors.Is(err, tt.want) {
				t.Fatalf("Serve: %v, want a start error wrapping %v", err, tt.want)
			}
			if strings.Count(err.Error(), "cluster:") > 1 {
				t.Errorf("%q names the package twice", err)
			}
		})
	}

	// At a restart: the placement fails from the second start on; each
	// retry counts, and the supervisor gives up.
	starts := 0
	place := func(context.Context, *cluster.Node) (string, error) {
		if starts++; starts > 1 {
			return "", fmt.Errorf("%w: all full", cluster.ErrNoNode)
		}
		return "b", nil
	}
	runs := make(chan run, 16)
	c := start(t, cluster.Config{Name: "c", URL: a.ClientURL(), Secret: a.Secret()})
	workers(t, runs, nil, c)
	ev := newEvents()
	sup, err := supervisor.New(supervisor.WithEventHook(ev.hook), supervisor.WithIntensity(3, time.Hour), supervisor.WithChildren(
		a.RemoteChild(cluster.RemoteSpec{ID: "w", Kind: "work", Placement: func(ctx context.Context, n *cluster.Node) (string, error) {
			node, err := place(ctx, n)
			if node == "b" {
				node = "c"
			}
			return node, err
		}}),
	))
	if err != nil {
		t.Fatal(err)
	}
	res := serve(t, sup)
	ev.started(t, "w")
	nextRun(t, runs)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		f := ev.await(t, "a failed start", func(e supervisor.Event) bool { _, ok := e.(supervisor.ChildStartFailed); return ok })
		if !errors.Is(f.(supervisor.ChildStartFailed).Err, cluster.ErrNoNode) {
			t.Errorf("start failed with %v, want ErrNoNode", f)
		}
	}
	select {
	case err := <-res:
		if !errors.As(err, new(*supervisor.RestartLimitError)) {
			t.Fatalf("Serve returned %v, want the restart limit", err)
		}
	case <-time.After(wait):
		t.Fatal("the supervisor did not give up")
	}
}

// Stopping the supervisor stops the remote task: asked to shut down, it
// ends cleanly; with BrutalKill, it is killed.
func TestRemoteChildShutdown(t *testing.T) {
	a := start(t, cluster.Config{Name: "a"})
	b := start(t, cluster.Config{Name: "b", URL: a.ClientURL(), Secret: a.Secret()})
	runs, ends := make(chan run, 16), make(chan error, 16)
	workers(t, runs, ends, b)
	for _, tt := range []struct {
		name     string
		shutdown time.Duration
		want     backplane.CrashKind
	}{
		{"grace", 0, backplane.CrashPowerOff},
		{"infinity", supervisor.Infinity, backplane.CrashPowerOff},
		{"brutal kill", supervisor.BrutalKill, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sup, err := supervisor.New(supervisor.WithChildren(
				a.RemoteChild(cluster.RemoteSpec{ID: "w", Kind: "work", Placement: cluster.Fixed("b"), Shutdown: tt.shutdown}),
			))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			res := make(chan error, 1)
			go func() { res <- sup.Serve(ctx) }()
			r := nextRun(t, runs)
			w := backplane.New()
			defer w.Drop()
			if err := w.Link(r.line, backplane.Monitor); err != nil {
				t.Fatal(err)
			}
			cancel()
			if err := <-res; err != nil && !errors.Is(err, context.Canceled) {
				t.Fatalf("Serve: %v", err)
			}
			if err := sup.WaitAbandoned(ctxFor(t)); err != nil {
				t.Fatal(err)
			}
			m := receive(t, w)
			var crash *backplane.Crash
			cause := <-ends
			switch {
			case tt.want != 0:
				if m.Fault() != nil || !errors.As(cause, &crash) || crash.Kind != tt.want {
					t.Errorf("remote task ended with %v (cause %v), want a clean %v", m.Fault(), cause, tt.want)
				}
			default:
				if m.Fault() == nil {
					t.Errorf("remote task ended cleanly (cause %v), want killed", cause)
				}
			}
		})
	}
	if load, _ := cluster.PlacedChildren(ctxFor(t), a, "b"); load != 0 {
		t.Errorf("placed on b after the shutdowns: %v, want 0", load)
	}
}

// LeastLoaded places on the node with the fewest children placed; Fixed
// on its node; RoundRobin in turn.
func TestPlacements(t *testing.T) {
	a := start(t, cluster.Config{Name: "a"})
	b := start(t, cluster.Config{Name: "b", URL: a.ClientURL(), Secret: a.Secret()})
	c := start(t, cluster.Config{Name: "c", URL: a.ClientURL(), Secret: a.Secret()})
	runs := make(chan run, 64)
	workers(t, runs, nil, a, b, c)
	var specs []supervisor.ChildSpec
	least := cluster.LeastLoaded(cluster.PlacedChildren, "b", "c")
	for i := range 4 {
		specs = append(specs, a.RemoteChild(cluster.RemoteSpec{ID: fmt.Sprint("least", i), Kind: "work", Placement: least}))
	}
	specs = append(specs, a.RemoteChild(cluster.RemoteSpec{ID: "here", Kind: "work", Placement: cluster.Fixed("a")}))
	sup, err := supervisor.New(supervisor.WithChildren(specs...))
	if err != nil {
		t.Fatal(err)
	}
	serve(t, sup)
	on := map[string]int{}
	for range specs {
		on[nextRun(t, runs).node]++
	}
	if on["a"] != 1 || on["b"] != 2 || on["c"] != 2 {
		t.Errorf("placed %v, want 1 on a, 2 on b and c", on)
	}

	rr := cluster.RoundRobin("b", "c", "a")
	var got []string
	for range 4 {
		node, err := rr(ctxFor(t), a)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, node)
	}
	if strings.Join(got, " ") != "b c a b" {
		t.Errorf("round robin: %v, want b c a b", got)
	}

	// A node known down is passed by, whatever its turn.
	d := start(t, cluster.Config{Name: "d", URL: a.ClientURL(), Secret: a.Secret()})
	if err := a.Ping(ctxFor(t), d.ID()); err != nil {
		t.Fatal(err)
	}
	w, _ := monitorNode(t, a, d.ID())
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	receive(t, w) // a knows d is gone
	rr = cluster.RoundRobin("d", "b")
	for range 2 {
		if node, err := rr(ctxFor(t), a); err != nil || node != "b" {
			t.Errorf("round robin past a node down: %q, %v, want b", node, err)
		}
	}
}

// A node process killed with SIGKILL: the child that ran there ends with
// a cascade from its task's FaultUnreachable, and the supervisor restarts
// it on the other node; stopping the supervisor then stops the task there.
func TestProcessRemoteChildFailover(t *testing.T) {
	p := procNode(t)
	c1 := spawn(t, "c1", p.ClientURL(), p.Secret())
	c2 := spawn(t, "c2", p.ClientURL(), p.Secret())
	ev := newEvents()
	sup, err := supervisor.New(supervisor.WithEventHook(ev.hook), supervisor.WithChildren(
		p.RemoteChild(cluster.RemoteSpec{ID: "w", Kind: "report", Arg: []byte("w"), Placement: cluster.RoundRobin("c1", "c2")}),
	))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	res := make(chan error, 1)
	go func() { res <- sup.Serve(ctx) }()
	defer func() {
		cancel()
		<-res
	}()
	first := ev.started(t, "w")
	c1.expect("run w")
	if err := c1.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	x := ev.exited(t, "w")
	root, rf := x.Fault.Root()
	var ue *cluster.UnreachableError
	if x.Device != first.Device || x.Fault.Kind != backplane.FaultCascade || rf.Kind != backplane.FaultUnreachable ||
		!errors.As(x.Fault, &ue) || ue.Node != root.Node() || root.Node().Name != "c1" || !errors.Is(x.Fault, cluster.ErrUnreachable) {
		t.Fatalf("exit %v (root %v: %v), want a cascade from the task's unreachability on c1", x, root, rf)
	}
	second := ev.started(t, "w")
	if second.Generation != first.Generation+1 {
		t.Errorf("restarted as generation %d, want %d", second.Generation, first.Generation+1)
	}
	c2.expect("run w")
	cancel()
	if err := <-res; !errors.Is(err, context.Canceled) {
		t.Errorf("Serve: %v", err)
	}
	res <- nil // for the deferred wait
	c2.expect("stop w power-off")
	c2.none("run w")
}

// Many remote children at once, placed by load on two nodes, then all
// those of one node failing over together: every one is restarted once,
// on the node left, and the placement counts follow.
func TestRemoteChildContention(t *testing.T) {
	const children = 40
	a := start(t, cluster.Config{Name: "a"})
	b := start(t, cluster.Config{Name: "b", URL: a.ClientURL(), Secret: a.Secret()})
	c := start(t, cluster.Config{Name: "c", URL: a.ClientURL(), Secret: a.Secret()})
	runs := make(chan run, 4*children)
	workers(t, runs, nil, b, c)
	ev := newEvents()
	least := cluster.LeastLoaded(cluster.PlacedChildren, "b", "c")
	var specs []supervisor.ChildSpec
	for i := range children {
		specs = append(specs, a.RemoteChild(cluster.RemoteSpec{ID: fmt.Sprint("w", i), Kind: "work", Arg: []byte(fmt.Sprint(i)), Placement: least}))
	}
	sup, err := supervisor.New(supervisor.WithEventHook(ev.hook), supervisor.WithStrategy(supervisor.Dynamic),
		supervisor.WithIntensity(children, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	serve(t, sup)
	<-sup.Ready()
	var wg sync.WaitGroup
	for _, spec := range specs { // added from many goroutines at once
		wg.Go(func() {
			if _, err := sup.AddChild(ctxFor(t), spec); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	on := map[string]int{}
	for range children {
		on[nextRun(t, runs).node]++
	}
	if on["b"] != children/2 || on["c"] != children/2 {
		t.Fatalf("placed %v, want %d on b and c", on, children/2)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	moved := map[string]bool{}
	for range children / 2 {
		r := nextRun(t, runs)
		if r.node != "c" || moved[r.arg] {
			t.Fatalf("restart of %s on %s (moved before: %v), want once on c", r.arg, r.node, moved[r.arg])
		}
		moved[r.arg] = true
	}
	for range children / 2 { // counted once started
		ev.await(t, "a restart", func(e supervisor.Event) bool { _, ok := e.(supervisor.ChildRestarted); return ok })
	}
	if load, _ := cluster.PlacedChildren(ctxFor(t), a, "c"); load != children {
		t.Errorf("placed on c: %v, want %d", load, children)
	}
	select {
	case r := <-runs:
		t.Errorf("one more start, of %s on %s", r.arg, r.node)
	default:
	}
}

// One RoundRobin shared by many goroutines deals the nodes in turn.
func TestRoundRobinContention(t *testing.T) {
	a := start(t, cluster.Config{Name: "a"})
	rr := cluster.RoundRobin("x", "y", "z")
	const per = 300
	var (
		mu  sync.Mutex
		got = map[string]int{}
		wg  sync.WaitGroup
	)
	for range 6 {
		wg.Go(func() {
			for range per {
				node, err := rr(context.Background(), a)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				got[node]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if got["x"] != 2*per || got["y"] != 2*per || got["z"] != 2*per {
		t.Errorf("dealt %v, want %d each", got, 2*per)
	}
}

// The task's own end is the child's: a clean return ends a transient
// child cleanly, for good; an error cascades to it, with the task's error
// at the root, and it is restarted.
func TestRemoteChildTaskEnds(t *testing.T) {
	a := start(t, cluster.Config{Name: "a"})
	b := start(t, cluster.Config{Name: "b", URL: a.ClientURL(), Secret: a.Secret()})
	fails := make(chan struct{}, 1)
	fails <- struct{}{} // the first run fails, the next ones return cleanly
	err := b.RegisterKind("once", func(ctx context.Context, _ []byte) error {
		select {
		case <-fails:
			return errors.New("disk full")
		default:
			return nil
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	ev := newEvents()
	sup, err := supervisor.New(supervisor.WithEventHook(ev.hook), supervisor.WithChildren(
		a.RemoteChild(cluster.RemoteSpec{ID: "w", Kind: "once", Placement: cluster.Fixed("b"), Restart: supervisor.Transient}),
	))
	if err != nil {
		t.Fatal(err)
	}
	serve(t, sup)
	x := ev.exited(t, "w")
	_, rf := x.Fault.Root()
	var re *cluster.RemoteError
	if x.Fault == nil || x.Fault.Kind != backplane.FaultCascade || rf.Kind != backplane.FaultError ||
		!errors.As(x.Fault, &re) || re.Text != "disk full" {
		t.Fatalf("first exit %v, want a cascade from the task's error", x)
	}
	ev.await(t, "the restart", func(e supervisor.Event) bool { _, ok := e.(supervisor.ChildRestarted); return ok })
	if x := ev.exited(t, "w"); x.Fault != nil || x.Stopped {
		t.Fatalf("second exit %v, want a clean end", x)
	}
	children, err := sup.Children(ctxFor(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(children) != 1 || children[0].State != supervisor.ChildStopped {
		t.Errorf("children %+v, want w stopped", children)
	}
	if load, _ := cluster.PlacedChildren(ctxFor(t), a, "b"); load != 0 {
		t.Errorf("placed on b: %v, want 0", load)
	}
}

// InGroup places in turn on the nodes that have members in the group, as
// the placing node's copy of the registry knows them, and fails with
// ErrNoNode while the group is empty.
func TestPlacementInGroup(t *testing.T) {
	a, b, c := trio(t)
	ctx := ctxFor(t)
	place := cluster.InGroup("workers")
	if _, err := place(ctx, a); !errors.Is(err, cluster.ErrNoNode) {
		t.Fatalf("empty group: %v, want ErrNoNode", err)
	}
	var ms []member
	for _, n := range []*cluster.Node{c, b, c} { // c twice: a node counts once
		dev := backplane.New()
		defer dev.Drop()
		if err := n.Join(ctx, "workers", dev); err != nil {
			t.Fatal(err)
		}
		ms = append(ms, member{n, dev})
	}
	waitMembers(t, a, "workers", idsOn(a, ms))
	var got []string
	for range 4 {
		node, err := place(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, node)
	}
	if strings.Join(got, " ") != "b c b c" {
		t.Errorf("in group: %v, want b c b c", got)
	}
	// b's member leaves: only c is left to place on.
	if err := b.Leave(ctx, "workers", ms[1].dev); err != nil {
		t.Fatal(err)
	}
	waitMembers(t, a, "workers", idsOn(a, []member{ms[0], ms[2]}))
	for range 2 {
		if node, err := place(ctx, a); err != nil || node != "c" {
			t.Errorf("in group after b left: %q, %v, want c", node, err)
		}
	}
	// A member of the placing node itself places there.
	dev := backplane.New()
	defer dev.Drop()
	if err := a.Join(ctx, "local", dev); err != nil {
		t.Fatal(err)
	}
	waitMembers(t, a, "local", idsOn(a, []member{{a, dev}}))
	if node, err := cluster.InGroup("local")(ctx, a); err != nil || node != "a" {
		t.Errorf("in group of this node: %q, %v, want a", node, err)
	}
}
