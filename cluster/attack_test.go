package cluster_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

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

// spawnAt has a start a task on the attacker, and returns the Spawn frame
// the attacker receives and the channel where Spawn's result goes.
func spawnAt(t *testing.T, a *cluster.Node, evil *attacker, ctx context.Context) (*wire.Frame, <-chan error, *backplane.Device) {
	t.Helper()
	evil.sync() // a has heard from evil: a session is live
	parent := backplane.New()
	t.Cleanup(parent.Drop)
	res := make(chan error, 1)
	go func() {
		l, err := a.Spawn(ctx, evil.self.Name, "job", []byte("arg"), parent, backplane.Monitor)
		if err == nil && l.ID() != bridge.RemoteID(backplane.NodeID{Name: evil.self.Name, Incarnation: evil.self.Inc}, 5) {
			err = errors.New("spawn gave " + l.ID().String())
		}
		res <- err
	}()
	for {
		f := evil.next()
		if f.Kind != wire.KindSpawn {
			continue
		}
		if f.Name != "job" || string(f.Arg) != "arg" || f.Mode != uint8(backplane.Monitor) || f.Source != device(a.ID(), parent.ID().Seq()) {
			t.Fatalf("spawn frame %+v", f)
		}
		return f, res, parent
	}
}

func pending(t *testing.T, res <-chan error) {
	t.Helper()
	select {
	case err := <-res:
		t.Fatalf("Spawn returned %v", err)
	default:
	}
}

// A Spawn's answer counts only from the node asked, naming a device of
// its own: others are dropped as forged. The Spawn ends with ErrClosed when
// its node closes, and with ErrUnreachable when the session ends.
func TestAttackForgedSpawnReply(t *testing.T) {
	a := start(t, cluster.Config{Name: "a"})
	evil := attack(t, a.ClientURL(), a.Secret(), "evil", a)
	other := attack(t, a.ClientURL(), a.Secret(), "other", a)
	req, res, _ := spawnAt(t, a, evil, ctxFor(t))

	before := forged(a)
	other.send(&wire.Frame{Kind: wire.KindSpawnReply, Ref: req.Ref, Source: other.own(5)})
	other.sync()
	evil.send(&wire.Frame{Kind: wire.KindSpawnReply, Ref: req.Ref, Source: other.own(5)})
	evil.sync()
	pending(t, res)
	if got := forged(a) - before; got != 2 {
		t.Errorf("forged count grew by %d, want 2", got)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-res; !errors.Is(err, cluster.ErrClosed) {
		t.Errorf("Spawn during Close: %v, want ErrClosed", err)
	}
}

func TestAttackSpawnSessionEnds(t *testing.T) {
	a := start(t, cluster.Config{Name: "a"})
	evil := attack(t, a.ClientURL(), a.Secret(), "evil", a)
	_, res, _ := spawnAt(t, a, evil, ctxFor(t))
	evil.nc.Close() // silent from now on
	var ue *cluster.UnreachableError
	if err := <-res; !errors.Is(err, cluster.ErrUnreachable) || !errors.As(err, &ue) || ue.Node.Name != "evil" {
		t.Errorf("Spawn while the node is lost: %v, want an UnreachableError", err)
	}
}

// An honest answer gives the task's Line; an answer after the Spawn gave
// up waiting is met with a Kill of the task.
func TestAttackSpawnAnswers(t *testing.T) {
	a := start(t, cluster.Config{Name: "a"})
	evil := attack(t, a.ClientURL(), a.Secret(), "evil", a)
	req, res, _ := spawnAt(t, a, evil, ctxFor(t))
	evil.send(&wire.Frame{Kind: wire.KindSpawnReply, Ref: req.Ref, Source: evil.own(5)})
	if err := <-res; err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	req, res, _ = spawnAt(t, a, evil, ctx)
	cancel()
	if err := <-res; !errors.Is(err, context.Canceled) {
		t.Fatalf("Spawn whose context ended: %v", err)
	}
	evil.send(&wire.Frame{Kind: wire.KindSpawnReply, Ref: req.Ref, Source: evil.own(6)})
	killed := false
	for _, f := range evil.sync() {
		killed = killed || f.Kind == wire.KindKill && f.Target == 6
	}
	if !killed {
		t.Error("the task of an abandoned Spawn was not killed")
	}

	// Refusals, as a node sends them.
	for reason, want := range map[string]error{"closing": cluster.ErrUnreachable, "unknown kind": cluster.ErrUnknownKind} {
		req, res, _ = spawnAt(t, a, evil, ctxFor(t))
		evil.send(&wire.Frame{Kind: wire.KindSpawnReply, Ref: req.Ref, Reason: reason})
		if err := <-res; !errors.Is(err, want) {
			t.Errorf("Spawn refused with %q: %v, want %v", reason, err, want)
		}
	}
}

// A member cannot start a task linked to another node's device: a Spawn
// whose parent is not the sender's is dropped, unanswered, and counted.
func TestAttackForgedSpawn(t *testing.T) {
	a, b := pair(t)
	started := make(chan struct{}, 1)
	if err := a.RegisterKind("job", func(context.Context, []byte) error { started <- struct{}{}; return nil }); err != nil {
		t.Fatal(err)
	}
	victim := backplane.New()
	defer victim.Drop()
	if err := b.Register("victim", victim); err != nil {
		t.Fatal(err)
	}
	evil := attack(t, a.ClientURL(), a.Secret(), "evil", a)
	before := forged(a)
	evil.send(&wire.Frame{Kind: wire.KindSpawn, Ref: 1, Name: "job", Source: device(b.ID(), victim.ID().Seq()), Mode: uint8(backplane.Peer)})
	for _, f := range evil.sync() {
		if f.Kind == wire.KindSpawnReply {
			t.Errorf("a forged spawn was answered: %+v", f)
		}
	}
	if got := forged(a) - before; got != 1 {
		t.Errorf("forged count grew by %d, want 1", got)
	}
	// The same request in its own name is honoured.
	evil.send(&wire.Frame{Kind: wire.KindSpawn, Ref: 2, Name: "job", Source: evil.own(1), Mode: uint8(backplane.Monitor)})
	select {
	case <-started:
	case <-time.After(wait):
		t.Fatal("an honest spawn did not start")
	}
}
