package transport

import (
	"errors"
	"testing"
	"time"

	"github.com/backplane-go/backplane/cluster/internal/wire"
)

// gated is a Handler whose Receive blocks until open is closed, for frames
// from one peer.
type gated struct {
	*rec
	from string
	open chan struct{}
}

func (g *gated) Receive(f *wire.Frame) {
	if f.From.Name == g.from {
		<-g.open
	}
	g.rec.Receive(f)
}

// When a node falls behind and the NATS client drops frames (a slow
// consumer), only the sessions that lost frames end, with ErrGap; a session
// that lost nothing goes on, and what was delivered was delivered in
// order, exactly once.
func TestSlowConsumerEndsOnlyTheLosers(t *testing.T) {
	old := pendingLimits
	pendingLimits = func() (int, int) { return 64, 1 << 20 }
	defer func() { pendingLimits = old }()

	g := &gated{rec: newRec(), from: "b", open: make(chan struct{})}
	ta, err := Start(full(Config{Name: "a", Heartbeat: 50 * time.Millisecond, Timeout: 30 * time.Second}), g)
	if err != nil {
		t.Fatal(err)
	}
	a := &node{ta, g.rec}
	t.Cleanup(func() { ta.Close() })
	b := start(t, Config{Name: "b", URL: a.ClientURL(), Secret: a.Secret(), Timeout: 30 * time.Second})
	// c is quiet: it heartbeats every 10s, far beyond this test's window.
	c := start(t, Config{Name: "c", URL: a.ClientURL(), Secret: a.Secret(), Heartbeat: 10 * time.Second, Timeout: 30 * time.Second})
	close(g.open)
	connect(t, a, b)
	connect(t, a, c)
	g.open = make(chan struct{}) // a's dispatch now blocks on b's next frame

	// b sends more than a's queue and the pending limit hold.
	const n = framesQueued + 2000
	for i := range n {
		send(t, b, msg(a.Self(), uint64(i+2)))
	}
	// Wait until the NATS client has dropped some of them.
	deadline := time.After(2 * wait)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for a.Stats().Dropped == 0 {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("nothing dropped: %+v", a.Stats())
		}
	}
	close(g.open)
	d := expectDown(t, a, b.Self(), ErrGap)
	if errors.Is(d.reason, ErrConnLost) {
		t.Fatalf("Down %v", d.reason)
	}
	// b's frames arrived in order up to the gap, each once. Until a has
	// handled (or dropped) the rest of b's flood, b's session-less
	// Lookups, which follow it, are retried.
	next := uint64(2)
	retry := time.NewTicker(100 * time.Millisecond) // a few retries, not a flood of them
	defer retry.Stop()
	for ref := uint64(1); ; {
		select {
		case f := <-a.r.frames:
			if f.Kind == wire.KindLookup {
				goto synced
			}
			if f.From == b.Self() {
				if f.Target != next {
					t.Fatalf("after %d got %d", next-1, f.Target)
				}
				next++
			}
			continue
		case <-retry.C:
		case <-deadline:
			t.Fatal("a did not catch up")
		}
		if err := b.Send(&wire.Frame{Kind: wire.KindLookup, To: wire.Node{Name: "a"}, Ref: ref, Name: "sync"}); err != nil {
			t.Fatal(err)
		}
		ref++
	}
synced:
	// c's session lost nothing and lives.
	send(t, c, msg(a.Self(), 7))
	for {
		f := a.r.frame(t)
		if f.Kind == wire.KindLookup && f.From == b.Self() {
			continue // a late retry
		}
		if f.From != c.Self() || f.Target != 7 {
			t.Fatalf("a got %+v", f)
		}
		break
	}
	send(t, a, msg(c.Self(), 8))
	if f := c.r.frame(t); f.Target != 8 {
		t.Fatalf("c got %+v", f)
	}
	for len(a.r.downs) > 0 {
		if d := <-a.r.downs; d.peer != b.Self() {
			t.Fatalf("Down(%v, %v)", d.peer, d.reason)
		}
	}
	c.r.noDown(t)
}
