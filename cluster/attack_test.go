package cluster_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/cluster"
	"github.com/backplane-go/backplane/cluster/internal/wire"
	"github.com/backplane-go/backplane/internal/bridge"
)

// The attacks of SECURITY.md, played against the default Config. A member
// is a client holding the cluster's secret; a stranger holds nothing.

// A process without the cluster's secret cannot connect to a node's NATS
// server, so it can neither read frames nor send a Kill or a Shutdown; a
// node without it cannot join. With the secret, it can.
func TestAttackStrangerCannotConnect(t *testing.T) {
	a := start(t, cluster.Config{Name: "a"})
	if a.Secret() == "" {
		t.Fatal("a lone node has no secret")
	}
	if nc, err := dial(a.ClientURL(), ""); err == nil {
		nc.Close()
		t.Fatal("a client without credentials connected")
	}
	if nc, err := dial(a.ClientURL(), a.Secret()+"x"); err == nil {
		nc.Close()
		t.Fatal("a client with a wrong secret connected")
	}
	for _, cfg := range []cluster.Config{
		{Name: "intruder", URL: a.ClientURL(), Insecure: true},
		{Name: "guesser", URL: a.ClientURL(), Secret: "guess"},
	} {
		if n, err := cluster.Start(cfg); err == nil {
			_ = n.Close()
			t.Fatalf("%s joined", cfg.Name)
		}
	}
	// Without credentials, and without saying Insecure, a node does not
	// even try.
	if n, err := cluster.Start(cluster.Config{Name: "careless", URL: a.ClientURL()}); !errors.Is(err, cluster.ErrInsecure) {
		if err == nil {
			_ = n.Close()
		}
		t.Fatalf("a node without credentials: %v, want ErrInsecure", err)
	}
	nc, err := dial(a.ClientURL(), a.Secret())
	if err != nil {
		t.Fatalf("a member could not connect: %v", err)
	}
	nc.Close()
}

// A member cannot report the fault of a device of another node: a Down
// about b's device, sent by the attacker in its own session with a, does
// not reach a's watcher, and is counted. b's real report still does.
func TestAttackForgedDown(t *testing.T) {
	a, b := pair(t)
	dev := backplane.New()
	l := remote(t, b, a, "dev", dev)
	w := backplane.New()
	defer w.Drop()
	if err := w.Link(l, backplane.Monitor); err != nil {
		t.Fatal(err)
	}
	evil := attack(t, a.ClientURL(), a.Secret(), "evil", a)
	evil.send(&wire.Frame{Kind: wire.KindDown, Source: device(b.ID(), dev.ID().Seq()),
		Fault: &wire.Fault{Kind: uint8(backplane.FaultPanic), Text: "FORGED panic", Stack: []byte("forged stack")}})
	evil.sync()
	if m, ok := w.TryReceive(); ok {
		t.Fatalf("the watcher was told %v", m)
	}
	if !l.Alive() {
		t.Fatal("the proxy went down")
	}
	if got := forged(a); got != 1 {
		t.Errorf("Forged = %d, want 1", got)
	}

	_ = dev.Disconnect(errors.New("real"))
	m := receive(t, w)
	if f := m.Fault(); f == nil || f.Kind != backplane.FaultError || f.Err.Error() != "real" {
		t.Fatalf("got %v, want b's own fault", m)
	}
}

// A member cannot shut down, kill or watch a device in the name of a
// device of another node. In its own name, as the cookie model allows, it
// can: a Kill then names the attacker's device.
func TestAttackForgedShutdownKillWatch(t *testing.T) {
	a, b := pair(t)
	bdev := backplane.New()
	defer bdev.Drop()
	if err := b.Register("b-dev", bdev); err != nil {
		t.Fatal(err)
	}
	of := device(b.ID(), bdev.ID().Seq()) // whom the attacker claims to be
	dev := backplane.New()
	if err := a.Register("svc", dev); err != nil {
		t.Fatal(err)
	}
	running := make(chan struct{})
	res := make(chan error, 1)
	go func() {
		res <- dev.Manage(context.Background(), func(ctx context.Context) error {
			close(running)
			<-ctx.Done()
			return nil
		})
	}()
	<-running

	evil := attack(t, a.ClientURL(), a.Secret(), "evil", a)
	evil.send(&wire.Frame{Kind: wire.KindShutdown, Target: dev.ID().Seq(), Source: of})
	evil.send(&wire.Frame{Kind: wire.KindKill, Target: dev.ID().Seq(), Source: of, Reason: "killed by b"})
	evil.send(&wire.Frame{Kind: wire.KindWatch, Target: dev.ID().Seq(), Source: of})
	got := evil.sync()
	if !dev.Alive() {
		t.Fatalf("the device went down: %v", crashOf(t, res))
	}
	if len(got) != 0 {
		t.Fatalf("the node answered %v", got[0])
	}
	if st := a.Stats(); st.Forged != 3 || st.Peers != 0 {
		t.Errorf("Forged %d, Peers %d: want 3 forged frames and no watch made", st.Forged, st.Peers)
	}

	evil.send(&wire.Frame{Kind: wire.KindKill, Target: dev.ID().Seq(), Source: evil.own(7), Reason: "member"})
	evil.sync()
	c := crashOf(t, res)
	want := bridge.RemoteID(backplane.NodeID{Name: evil.self.Name, Incarnation: evil.self.Inc}, 7)
	if c.Kind != backplane.CrashKilled || c.Device != want || c.Fault.Err.Error() != "member" {
		t.Fatalf("crash %v, want killed by %v", c, want)
	}
}

// A member cannot answer a lookup sent to another node: it sees a's
// Lookup for node "ghost" (a member may subscribe to any subject) and
// answers it, in its own session with a, with a device of its own.
func TestAttackForgedLookupReply(t *testing.T) {
	a := start(t, cluster.Config{Name: "a"})
	spy, err := dial(a.ClientURL(), a.Secret())
	if err != nil {
		t.Fatal(err)
	}
	defer spy.Close()
	asked := make(chan *nats.Msg, 64)
	for _, sub := range subjectsTo("ghost", "a") {
		if _, err := spy.ChanSubscribe(sub, asked); err != nil {
			t.Fatal(err)
		}
	}
	if err := spy.Flush(); err != nil {
		t.Fatal(err)
	}
	evil := attack(t, a.ClientURL(), a.Secret(), "evil", a)

	ctx, cancel := context.WithCancel(ctxFor(t))
	defer cancel()
	type result struct {
		l   backplane.Line
		err error
	}
	done := make(chan result, 1)
	go func() {
		l, err := a.Lookup(ctx, "ghost", "db")
		done <- result{l, err}
	}()
	m := <-asked
	q, err := wire.Decode(m.Data)
	if err != nil || q.Kind != wire.KindLookup {
		t.Fatalf("spied %v, %v", q, err)
	}
	evil.send(&wire.Frame{Kind: wire.KindLookupReply, Ref: q.Ref, Source: evil.own(9)})
	evil.sync()
	cancel()
	r := <-done
	if r.err == nil {
		t.Fatalf("lookup of ghost answered by the attacker: %v", r.l.ID())
	}
	if !errors.Is(r.err, context.Canceled) || !errors.Is(r.err, cluster.ErrUnknownNode) {
		t.Errorf("lookup failed with %v, want the context's cause and ErrUnknownNode", r.err)
	}
	if got := forged(a); got != 1 {
		t.Errorf("Forged = %d, want 1", got)
	}
}

// A forged frame is logged at level Debug, with why it was dropped.
func TestAttackLogged(t *testing.T) {
	var buf syncBuffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a := start(t, cluster.Config{Name: "a", Logger: logger})
	evil := attack(t, a.ClientURL(), a.Secret(), "evil", a)
	evil.send(&wire.Frame{Kind: wire.KindDown, Source: wire.Device{Node: wire.Node{Name: "b", Inc: 1}, Seq: 3}})
	evil.sync()
	if out := buf.String(); !strings.Contains(out, "forged frame dropped") || !strings.Contains(out, "down of a device of another node") {
		t.Errorf("log:\n%s", out)
	}
}

// A member cannot fire another node's line, nor its own with a fault of its
// choosing: a node line fires only when the session ends. A Down about the
// node itself (its reserved sequence number) is dropped and counted.
func TestAttackForgedNodeDown(t *testing.T) {
	a := start(t, cluster.Config{Name: "a"})
	evil := attack(t, a.ClientURL(), a.Secret(), "evil", a)
	self := backplane.NodeID{Name: evil.self.Name, Incarnation: evil.self.Inc}
	w, l := monitorNode(t, a, self)
	before := forged(a)
	evil.send(&wire.Frame{Kind: wire.KindDown, Source: evil.own(^uint64(0)),
		Fault: &wire.Fault{Kind: uint8(backplane.FaultError), Text: "FORGED"}})
	evil.sync()
	if m, ok := w.TryReceive(); ok {
		t.Fatalf("the node's watcher was told %v", m)
	}
	if !l.Alive() {
		t.Fatal("the node line went down on the node's word")
	}
	if got := forged(a) - before; got != 1 {
		t.Errorf("forged count grew by %d, want 1", got)
	}
	// The attacker falls silent: the line fires, as unreachable.
	evil.nc.Close()
	toldNodeGone(t, w, self, nil)
}
