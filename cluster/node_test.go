package cluster_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/cluster"
	"github.com/backplane-go/backplane/cluster/internal/wire"
	"github.com/backplane-go/backplane/internal/bridge"
)

func TestMain(m *testing.M) {
	if os.Getenv(envNode) != "" {
		nodeMain() // this process is a node of a multi-process test
		return
	}
	if os.Getenv(envChaosNode) != "" {
		chaosMain() // this process is a node of TestChaos
		return
	}
	// nats-server keeps one goroutine for the whole process that ticks
	// while any of its JetStream stores is open; a clustered server shut
	// down while a replica is being caught up may leave a store unclosed,
	// and the goroutine with it. It is the server's, shared, and not one
	// per server: the servers themselves are checked to stop (their other
	// goroutines).
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/nats-io/nats-server/v2/server/ats.Register.func1"))
}

// wait is how long a test waits for something that should happen soon: long
// enough for a loaded machine, and only ever spent when a test fails.
const wait = 20 * time.Second

func ctxFor(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	return ctx
}

func start(t *testing.T, cfg cluster.Config) *cluster.Node {
	t.Helper()
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = 20 * time.Millisecond
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 2 * time.Second
	}
	n, err := cluster.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close() })
	return n
}

// pair starts two nodes: a embeds the NATS server, b connects to it.
func pair(t *testing.T) (a, b *cluster.Node) {
	a = start(t, cluster.Config{Name: "a"})
	b = start(t, cluster.Config{Name: "b", URL: a.ClientURL(), Secret: a.Secret()})
	return a, b
}

// remote registers dev on its node under name and returns its Line as seen
// from the other node, with the watch on it established.
func remote(t *testing.T, on, from *cluster.Node, name string, dev *backplane.Device) backplane.Line {
	t.Helper()
	if err := on.Register(name, dev); err != nil {
		t.Fatal(err)
	}
	l, err := from.Lookup(ctxFor(t), on.ID().Name, name)
	if err != nil {
		t.Fatal(err)
	}
	if l.ID() != bridge.RemoteID(on.ID(), dev.ID().Seq()) || !bridge.IsProxy(l) {
		t.Fatalf("lookup gave %v, want the proxy of %v on %v", l, dev.ID(), on.ID())
	}
	settle(t, from, on)
	return l
}

// settle returns once on has handled everything from sent it so far.
func settle(t *testing.T, from, on *cluster.Node) {
	t.Helper()
	if err := from.Ping(ctxFor(t), on.ID()); err != nil {
		t.Fatal(err)
	}
}

func receive(t *testing.T, d *backplane.Device) backplane.Message {
	t.Helper()
	m, err := d.Receive(ctxFor(t))
	if err != nil {
		t.Fatalf("%v: no message: %v", d.ID(), err)
	}
	return m
}

// manage runs a task on dev that waits for its context, and returns
// Manage's result on a channel.
func manage(dev *backplane.Device) <-chan error {
	res := make(chan error, 1)
	go func() {
		res <- dev.Manage(context.Background(), func(ctx context.Context) error {
			<-ctx.Done()
			return nil
		})
	}()
	return res
}

func crashOf(t *testing.T, res <-chan error) *backplane.Crash {
	t.Helper()
	select {
	case err := <-res:
		var c *backplane.Crash
		if !errors.As(err, &c) {
			t.Fatalf("Manage returned %v, want a Crash", err)
		}
		return c
	case <-time.After(wait):
		t.Fatal("Manage did not return")
	}
	return nil
}

func TestRemoteMonitor(t *testing.T) {
	a, b := pair(t)
	for _, tc := range []struct {
		name string
		end  func(*backplane.Device)
		want backplane.FaultKind // 0: clean
	}{
		{"clean", func(d *backplane.Device) { _ = d.Disconnect(nil) }, 0},
		{"error", func(d *backplane.Device) { _ = d.Disconnect(errors.New("boom")) }, backplane.FaultError},
		{"drop", func(d *backplane.Device) { d.Drop() }, backplane.FaultDrop},
		{"panic", func(d *backplane.Device) {
			_ = d.Manage(context.Background(), func(context.Context) error { panic("kaboom") })
		}, backplane.FaultPanic},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dev := backplane.New()
			l := remote(t, b, a, "dev-"+tc.name, dev)
			w := backplane.New()
			defer w.Drop()
			if err := w.Link(l, backplane.Monitor); err != nil {
				t.Fatal(err)
			}
			tc.end(dev)
			m := receive(t, w)
			if m.Kind() != backplane.Disconnected || m.From() != l.ID() {
				t.Fatalf("got %v, want disconnected %v", m, l.ID())
			}
			if tc.want == 0 {
				if m.Fault() != nil {
					t.Fatalf("fault %v, want clean", m.Fault())
				}
				return
			}
			if m.Fault() == nil || m.Fault().Kind != tc.want {
				t.Fatalf("fault %v, want %v", m.Fault(), tc.want)
			}
			if tc.want == backplane.FaultError && m.Fault().Err.Error() != "boom" {
				t.Errorf("remote error %q", m.Fault().Err)
			}
			if tc.want == backplane.FaultPanic && (m.Fault().Value != "kaboom" || len(m.Fault().Stack) == 0) {
				t.Errorf("remote panic %v, stack %d bytes", m.Fault().Value, len(m.Fault().Stack))
			}
			if _, ok := w.TryReceive(); ok {
				t.Error("told twice")
			}
		})
	}
}

// A managed task on one node that watches a device on another cascades
// when it faults, naming it; the other way round too (Notify made on the
// watched device's node).
func TestRemoteCascadeBothWays(t *testing.T) {
	a, b := pair(t)

	// a's task depends on b's device.
	dep := backplane.New()
	l := remote(t, b, a, "dep", dep)
	task := backplane.New()
	if err := task.Link(l, backplane.Monitor); err != nil {
		t.Fatal(err)
	}
	res := manage(task)
	_ = dep.Disconnect(errors.New("db down"))
	c := wantCascade(t, res, l.ID())
	if root, f := c.Fault.Root(); root != l.ID() || f.Err.Error() != "db down" {
		t.Errorf("root %v %v", root, f)
	}

	// b's task is made to depend on a's device, by a link made on a.
	bt := backplane.New()
	bl := remote(t, b, a, "bt", bt)
	res = manage(bt)
	local := backplane.New()
	if err := local.Link(bl, backplane.Notify); err != nil { // bt watches local
		t.Fatal(err)
	}
	settle(t, a, b)
	_ = local.Disconnect(errors.New("local failure"))
	wantCascade(t, res, bridge.RemoteID(a.ID(), local.ID().Seq()))
}

// A shutdown request and a kill reach the remote device, naming the
// requester.
func TestRemoteShutdownAndKill(t *testing.T) {
	a, b := pair(t)
	dev := backplane.New()
	l := remote(t, b, a, "svc", dev)
	res := manage(dev)
	asker := backplane.New()
	defer asker.Drop()
	if err := l.Shutdown(asker.ID()); err != nil {
		t.Fatal(err)
	}
	c := crashOf(t, res)
	if c.Kind != backplane.CrashPowerOff || c.Device != bridge.RemoteID(a.ID(), asker.ID().Seq()) {
		t.Fatalf("crash %v", c)
	}

	dev2 := backplane.New()
	l2 := remote(t, b, a, "svc2", dev2)
	res = manage(dev2)
	if err := l2.Kill(asker.ID(), errors.New("too slow")); err != nil {
		t.Fatal(err)
	}
	c = crashOf(t, res)
	if c.Kind != backplane.CrashKilled || c.Fault.Err.Error() != "too slow" {
		t.Fatalf("crash %v", c)
	}
}

// When a node leaves, every edge to its devices fires once with
// FaultUnreachable.
func TestCloseFiresUnreachable(t *testing.T) {
	a, b := pair(t)
	var ls []backplane.Line
	for _, name := range []string{"x", "y"} {
		d := backplane.New()
		defer d.Drop()
		ls = append(ls, remote(t, b, a, name, d))
	}
	ws := watchersOf(t, 3, ls)
	_ = b.Close()
	toldUnreachableOnce(t, ws, ls)
}

// watchersOf returns n devices, each monitoring every device of ls, dropped
// at the end of the test.
func watchersOf(t *testing.T, n int, ls []backplane.Line) []*backplane.Device {
	t.Helper()
	ws := make([]*backplane.Device, n)
	for i := range ws {
		w := backplane.New()
		t.Cleanup(w.Drop)
		for _, l := range ls {
			if err := w.Link(l, backplane.Monitor); err != nil {
				t.Fatal(err)
			}
		}
		ws[i] = w
	}
	return ws
}

// wantCascade checks that Manage's result on res is a cascade from want.
func wantCascade(t *testing.T, res <-chan error, want backplane.DeviceID) *backplane.Crash {
	t.Helper()
	c := crashOf(t, res)
	if c.Kind != backplane.CrashCascade || c.Device != want {
		t.Fatalf("crash %v, want a cascade from %v", c, want)
	}
	return c
}

// toldUnreachableOnce checks that each watcher in ws is told once, with
// FaultUnreachable, about each device of ls, and about nothing else.
func toldUnreachableOnce(t *testing.T, ws []*backplane.Device, ls []backplane.Line) {
	t.Helper()
	for _, w := range ws {
		seen := map[backplane.DeviceID]bool{}
		for range ls {
			m := receive(t, w)
			f := m.Fault()
			if f == nil || f.Kind != backplane.FaultUnreachable || !errors.Is(f, cluster.ErrUnreachable) {
				t.Fatalf("got %v, want unreachable", m)
			}
			if seen[m.From()] {
				t.Fatalf("told twice about %v", m.From())
			}
			seen[m.From()] = true
		}
		if m, ok := w.TryReceive(); ok {
			t.Fatalf("extra message %v", m)
		}
	}
}

func TestLookupErrors(t *testing.T) {
	a, _ := pair(t)
	if _, err := a.Lookup(ctxFor(t), "b", "nobody"); !errors.Is(err, cluster.ErrNotFound) {
		t.Errorf("unknown name: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := a.Lookup(ctx, "no-such-node", "x")
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, cluster.ErrUnknownNode) {
		t.Errorf("unknown node: %v", err)
	}
}

// A node that is known but does not answer in time is not reported as
// unknown: the lookup fails with the context's cause alone.
func TestLookupKnownNodeSilent(t *testing.T) {
	a := start(t, cluster.Config{Name: "a"})
	mute := attack(t, a.ClientURL(), a.Secret(), "mute", a)
	mute.sync() // a has heard from mute in a live session
	ctx, cancel := context.WithCancel(ctxFor(t))
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := a.Lookup(ctx, "mute", "x")
		done <- err
	}()
	for f := mute.next(); f.Kind != wire.KindLookup; f = mute.next() {
	}
	cancel()
	err := <-done
	if !errors.Is(err, context.Canceled) || errors.Is(err, cluster.ErrUnknownNode) {
		t.Errorf("lookup of a silent node: %v", err)
	}
}
