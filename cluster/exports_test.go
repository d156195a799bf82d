package cluster

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/backplane-go/backplane"
)

// exportsPair starts two nodes, a (embedding the server) and b, and n
// devices on a, each watched by one device w on b through a link made on
// a (Line.Link with Notify: remote.Watch, hence watchFor). It returns once
// b has made every edge, with a's proxy for w.
func exportsPair(t *testing.T, n int) (a, b *Node, srcs []*backplane.Device, w *backplane.Device, lw backplane.Line) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	a = startNode(t, Config{Name: "a"})
	b = startNode(t, Config{Name: "b", URL: a.ClientURL(), Secret: a.Secret()})
	w = backplane.New()
	t.Cleanup(w.Drop)
	if err := b.Register("w", w); err != nil {
		t.Fatal(err)
	}
	lw, err := a.Lookup(ctx, "b", "w")
	if err != nil {
		t.Fatal(err)
	}
	for range n {
		d := backplane.New()
		t.Cleanup(d.Drop)
		if err := d.Link(lw, backplane.Notify); err != nil { // w watches d
			t.Fatal(err)
		}
		srcs = append(srcs, d)
	}
	if err := a.Ping(ctx, b.ID()); err != nil {
		t.Fatal(err)
	}
	if got := a.Stats().Exported; got != n {
		t.Fatalf("%d devices exported, want %d", got, n)
	}
	// The peer's watch is the only one: exportsDev has no link to them.
	a.mu.Lock()
	for seq, e := range a.exports {
		if e.watched {
			t.Errorf("export %d is watched by the exports watcher too", seq)
		}
	}
	a.mu.Unlock()
	return a, b, srcs, w, lw
}

var errExports = errors.New("exports test: failed")

// A device exported to be watched by a peer is forgotten by the time the
// peer hears of its end, by the peer's report goroutine: its node keeps no
// export of it, though nothing but the peer's watch watches it.
func TestExportsForgottenWithTheirDowns(t *testing.T) {
	const n = 300
	a, _, srcs, w, _ := exportsPair(t, n)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for round := range 2 { // half, then the rest: two bursts
		half := srcs[round*n/2 : (round+1)*n/2]
		for _, d := range half {
			_ = d.Disconnect(errExports)
		}
		for range half {
			m, err := w.Receive(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if m.Kind() != backplane.Disconnected || m.Fault() == nil || m.Fault().Kind != backplane.FaultError {
				t.Fatalf("got %v, want a Disconnected with an error", m)
			}
		}
		if got, want := a.Stats().Exported, n-(round+1)*n/2; got != want {
			t.Fatalf("after %d of %d devices disconnected and reported: %d exported, want %d", (round+1)*n/2, n, got, want)
		}
	}
}

// When the session with the peer ends, the devices its watch watched are
// still exported, now watched by exportsDev: each is forgotten when it
// disconnects, though no peer reports it.
func TestExportsOrphanedWhenTheSessionEnds(t *testing.T) {
	const n = 50
	a, b, srcs, _, lw := exportsPair(t, n)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// a's Down for the session hands the exports over before it
	// disconnects its proxies: seen goes down after that.
	seen := backplane.New()
	defer seen.Drop()
	if err := seen.Link(lw, backplane.Monitor); err != nil {
		t.Fatal(err)
	}
	for _, d := range srcs[:n/2] {
		_ = d.Disconnect(errExports) // reported, or orphaned and found down
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := seen.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	a.mu.Lock()
	for seq, e := range a.exports {
		if !e.watched {
			t.Errorf("export %d is watched by nobody after its session ended", seq)
		}
	}
	a.mu.Unlock()
	for _, d := range srcs[n/2:] {
		_ = d.Disconnect(errExports)
	}
	// forgetExports runs on its own goroutine: wait for it, within the
	// test's patience (polling, bounded by the deadline).
	for a.Stats().Exported != 0 {
		if ctx.Err() != nil {
			t.Fatalf("%d devices still exported after they all disconnected", a.Stats().Exported)
		}
		time.Sleep(time.Millisecond)
	}
}
