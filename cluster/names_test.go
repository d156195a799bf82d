package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/cluster"
	"github.com/backplane-go/backplane/internal/bridge"
)

// idOn returns the ID of dev, a device of owner, as node on names it: its
// local ID on its own node.
func idOn(on, owner *cluster.Node, dev *backplane.Device) backplane.DeviceID {
	if on == owner {
		return dev.ID()
	}
	return bridge.RemoteID(owner.ID(), dev.ID().Seq())
}

// waitHolder waits until n's copy of the registry says that name is held
// by want (zero: free), as WatchName tells.
func waitHolder(t *testing.T, n *cluster.Node, name string, want backplane.DeviceID) {
	t.Helper()
	got := make(chan backplane.DeviceID, 1024)
	stop, err := n.WatchName(ctxFor(t), name, func(e cluster.NameEvent) { got <- e.Holder })
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	ctx := ctxFor(t)
	var last backplane.DeviceID
	for {
		select {
		case h := <-got:
			if h == want {
				return
			}
			last = h
		case <-ctx.Done():
			t.Fatalf("%v: %s held by %v, want %v", n.ID(), name, last, want)
		}
	}
}

// trio starts three nodes: a embeds the NATS server, b and c connect to
// it.
func trio(t *testing.T) (a, b, c *cluster.Node) {
	a, b = pair(t)
	c = start(t, cluster.Config{Name: "c", URL: a.ClientURL(), Secret: a.Secret()})
	return a, b, c
}

func TestNameRegisterAndWhereIs(t *testing.T) {
	a, b := pair(t)
	dev := backplane.New()
	defer dev.Drop()
	ctx := ctxFor(t)
	if err := a.RegisterName(ctx, "db", dev); err != nil {
		t.Fatal(err)
	}
	// A registration is seen at once on its node.
	if l, err := a.WhereIs(ctx, "db"); err != nil || l.ID() != dev.ID() {
		t.Fatalf("WhereIs on a: %v, %v", l, err)
	}
	waitHolder(t, b, "db", idOn(b, a, dev))
	l, err := b.WhereIs(ctx, "db")
	if err != nil || l.ID() != idOn(b, a, dev) {
		t.Fatalf("WhereIs on b: %v, %v", l, err)
	}
	// The Line works: a watcher on b is told of the device's end.
	w := backplane.New()
	defer w.Drop()
	if err := w.Link(l, backplane.Monitor); err != nil {
		t.Fatal(err)
	}
	settle(t, b, a)
	names, err := b.Names(ctx)
	if err != nil || len(names) != 1 || names["db"] != idOn(b, a, dev) {
		t.Fatalf("Names on b: %v, %v", names, err)
	}
	other := backplane.New()
	defer other.Drop()
	err = b.RegisterName(ctx, "db", other)
	var te *cluster.NameTakenError
	if !errors.As(err, &te) || !errors.Is(err, cluster.ErrNameTaken) || te.Holder != idOn(b, a, dev) || te.Name != "db" {
		t.Fatalf("second registration: %v", err)
	}
	if _, err := b.WhereIs(ctx, "none"); !errors.Is(err, cluster.ErrNotFound) {
		t.Fatalf("unknown name: %v", err)
	}
	_ = dev.Disconnect(errors.New("gone"))
	if m := receive(t, w); m.Kind() != backplane.Disconnected || m.Fault() == nil {
		t.Fatalf("watcher got %v", m)
	}
}

// Many goroutines on three nodes race for each name, many rounds: exactly
// one wins, every other is told who did, and every node ends up with the
// same names.
func TestNameFirstRegistrationWins(t *testing.T) {
	a, b, c := trio(t)
	nodes := []*cluster.Node{a, b, c}
	const rounds, perNode = 30, 4
	ctx := ctxFor(t)
	type win struct {
		node *cluster.Node
		dev  *backplane.Device
	}
	winners := make([]win, rounds)
	for r := range rounds {
		name := fmt.Sprintf("race-%d", r)
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			wins []win
			errs []error
			devs = map[error]*cluster.Node{}
		)
		for _, n := range nodes {
			for range perNode {
				wg.Add(1)
				go func() {
					defer wg.Done()
					dev := backplane.New()
					t.Cleanup(dev.Drop)
					err := n.RegisterName(ctx, name, dev)
					mu.Lock()
					defer mu.Unlock()
					if err == nil {
						wins = append(wins, win{n, dev})
					} else {
						errs = append(errs, err)
						devs[err] = n
					}
				}()
			}
		}
		wg.Wait()
		if len(wins) != 1 {
			t.Fatalf("round %d: %d winners; errors %v", r, len(wins), errs)
		}
		w := wins[0]
		winners[r] = w
		for _, err := range errs {
			var te *cluster.NameTakenError
			if !errors.As(err, &te) || te.Holder != idOn(devs[err], w.node, w.dev) {
				t.Fatalf("round %d: loser got %v, want the winner %v", r, err, w.dev.ID())
			}
		}
	}
	for _, n := range nodes {
		for r, w := range winners {
			waitHolder(t, n, fmt.Sprintf("race-%d", r), idOn(n, w.node, w.dev))
		}
		names, err := n.Names(ctx)
		if err != nil || len(names) != rounds {
			t.Fatalf("%v: Names %v, %v", n.ID(), names, err)
		}
	}
}

// A name is freed when its device disconnects, and may then be taken
// again; a watch follows its holders.
func TestNameFreedOnDisconnect(t *testing.T) {
	a, b := pair(t)
	ctx := ctxFor(t)
	events := make(chan cluster.NameEvent, 16)
	stop, err := b.WatchName(ctx, "svc", func(e cluster.NameEvent) { events <- e })
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	next := func() cluster.NameEvent {
		t.Helper()
		select {
		case e := <-events:
			return e
		case <-ctx.Done():
			t.Fatal("no event")
		}
		return cluster.NameEvent{}
	}
	if e := next(); !e.Holder.IsZero() || e.Name != "svc" {
		t.Fatalf("first event %v, want svc free", e)
	}
	d1 := backplane.New()
	if err := a.RegisterName(ctx, "svc", d1); err != nil {
		t.Fatal(err)
	}
	if e := next(); e.Holder != idOn(b, a, d1) {
		t.Fatalf("event %v, want held by %v", e, d1.ID())
	}
	_ = d1.Disconnect(nil)
	if e := next(); !e.Holder.IsZero() {
		t.Fatalf("event %v, want free", e)
	}
	d2 := backplane.New()
	defer d2.Drop()
	if err := b.RegisterName(ctx, "svc", d2); err != nil {
		t.Fatal(err)
	}
	if e := next(); e.Holder != d2.ID() {
		t.Fatalf("event %v, want held by %v", e, d2.ID())
	}
	// Unregistered, it is free.
	if err := b.UnregisterName(ctx, "svc"); err != nil {
		t.Fatal(err)
	}
	if e := next(); !e.Holder.IsZero() {
		t.Fatalf("event %v, want free", e)
	}
	if _, err := b.WhereIs(ctx, "svc"); !errors.Is(err, cluster.ErrNotFound) {
		t.Fatalf("after UnregisterName: %v", err)
	}
	stop()
	stop() // idempotent
}

// A node that leaves takes its names with it: the nodes that see it go
// free them.
func TestNameFreedOnNodeLoss(t *testing.T) {
	a, b, c := trio(t)
	ctx := ctxFor(t)
	dev := backplane.New()
	defer dev.Drop()
	if err := c.RegisterName(ctx, "leader", dev); err != nil {
		t.Fatal(err)
	}
	waitHolder(t, a, "leader", idOn(a, c, dev))
	waitHolder(t, b, "leader", idOn(b, c, dev))
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	waitHolder(t, a, "leader", backplane.DeviceID{})
	waitHolder(t, b, "leader", backplane.DeviceID{})
	d := backplane.New()
	defer d.Drop()
	if err := b.RegisterName(ctx, "leader", d); err != nil {
		t.Fatal(err)
	}
}

func TestNameUnregister(t *testing.T) {
	a, b := pair(t)
	ctx := ctxFor(t)
	dev := backplane.New()
	defer dev.Drop()
	if err := a.RegisterName(ctx, "x", dev); err != nil {
		t.Fatal(err)
	}
	waitHolder(t, b, "x", idOn(b, a, dev))
	if err := b.UnregisterName(ctx, "x"); !errors.Is(err, cluster.ErrNameTaken) {
		t.Fatalf("UnregisterName of another node's name: %v", err)
	}
	if err := a.UnregisterName(ctx, "y"); !errors.Is(err, cluster.ErrNotFound) {
		t.Fatalf("UnregisterName of an unknown name: %v", err)
	}
	if err := a.UnregisterName(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	waitHolder(t, b, "x", backplane.DeviceID{})
}

func TestNameBadInput(t *testing.T) {
	a, b := pair(t)
	ctx := ctxFor(t)
	dev := backplane.New()
	defer dev.Drop()
	for _, name := range []string{"", strings.Repeat("n", 256), "a b", ".x", "x.", "a..b", "a/b", "é", "a*", "a>"} {
		if err := a.RegisterName(ctx, name, dev); !errors.Is(err, backplane.ErrInvalid) {
			t.Errorf("RegisterName(%q): %v", name, err)
		}
		if _, err := a.WhereIs(ctx, name); !errors.Is(err, backplane.ErrInvalid) {
			t.Errorf("WhereIs(%q): %v", name, err)
		}
		if err := a.Join(ctx, name, dev); !errors.Is(err, backplane.ErrInvalid) {
			t.Errorf("Join(%q): %v", name, err)
		}
	}
	if err := a.RegisterName(ctx, strings.Repeat("n", 255), dev); err != nil {
		t.Errorf("a name of 255 bytes: %v", err)
	}
	if err := a.RegisterName(ctx, "nil", nil); !errors.Is(err, backplane.ErrInvalid) {
		t.Errorf("nil device: %v", err)
	}
	if err := a.RegisterName(ctx, "zero", backplane.Line{}); !errors.Is(err, backplane.ErrInvalid) {
		t.Errorf("zero Line: %v", err)
	}
	gone := backplane.New()
	_ = gone.Disconnect(nil)
	if err := a.RegisterName(ctx, "gone", gone); !errors.Is(err, backplane.ErrLinkDown) {
		t.Errorf("disconnected device: %v", err)
	}
	if _, err := a.WhereIs(ctx, "gone"); !errors.Is(err, cluster.ErrNotFound) {
		t.Errorf("the name of a disconnected device: %v", err)
	}
	// A proxy is not a device of this node.
	if err := b.Register("dev", dev); err != nil {
		t.Fatal(err)
	}
	proxy := lookup(t, a, "b", "dev")
	if err := a.RegisterName(ctx, "proxy", proxy); !errors.Is(err, backplane.ErrInvalid) {
		t.Errorf("proxy: %v", err)
	}
	// Twice: the name is taken, by the device itself.
	if err := a.RegisterName(ctx, "twice", dev); err != nil {
		t.Fatal(err)
	}
	var te *cluster.NameTakenError
	if err := a.RegisterName(ctx, "twice", dev); !errors.As(err, &te) || te.Holder != dev.ID() {
		t.Errorf("registered twice: %v", err)
	}
	if _, err := a.WatchName(ctx, "w", nil); !errors.Is(err, backplane.ErrInvalid) {
		t.Errorf("nil func: %v", err)
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	fresh := start(t, cluster.Config{Name: "fresh", URL: a.ClientURL(), Secret: a.Secret()})
	if err := fresh.RegisterName(cancelled, "c", dev); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
	if err := a.RegisterName(cancelled, "c", dev); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context, registry open: %v", err)
	}
	_ = fresh.Close()
	if err := fresh.RegisterName(ctx, "closed", dev); !errors.Is(err, cluster.ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
	if _, err := fresh.WhereIs(ctx, "twice"); !errors.Is(err, cluster.ErrClosed) {
		t.Errorf("WhereIs after Close: %v", err)
	}
	if _, err := fresh.WatchName(ctx, "twice", func(cluster.NameEvent) {}); !errors.Is(err, cluster.ErrClosed) {
		t.Errorf("WatchName after Close: %v", err)
	}
	if err := fresh.Join(ctx, "g", dev); !errors.Is(err, cluster.ErrClosed) {
		t.Errorf("Join after Close: %v", err)
	}
}

// An external NATS server without JetStream: names and groups fail with
// ErrNoRegistry, at once.
func TestNameNoJetStream(t *testing.T) {
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	defer func() { s.Shutdown(); s.WaitForShutdown() }()
	if !s.ReadyForConnections(wait) {
		t.Fatal("server not ready")
	}
	n := start(t, cluster.Config{Name: "n", URL: s.ClientURL(), Insecure: true})
	dev := backplane.New()
	defer dev.Drop()
	if err := n.RegisterName(ctxFor(t), "x", dev); !errors.Is(err, cluster.ErrNoRegistry) || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("RegisterName: %v", err)
	}
	if err := n.Join(ctxFor(t), "g", dev); !errors.Is(err, cluster.ErrNoRegistry) {
		t.Fatalf("Join: %v", err)
	}
}

// The copy of the registry outlives the context of the call that made it:
// a node whose first call's context ended still follows the registry.
func TestNameCopyOutlivesFirstCall(t *testing.T) {
	a, b := pair(t)
	first, cancel := context.WithCancel(ctxFor(t))
	if _, err := b.Names(first); err != nil {
		t.Fatal(err)
	}
	cancel()
	dev := backplane.New()
	defer dev.Drop()
	if err := a.RegisterName(ctxFor(t), "later", dev); err != nil {
		t.Fatal(err)
	}
	waitHolder(t, b, "later", idOn(b, a, dev))
}
