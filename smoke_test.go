package backplane

import (
	"context"
	"errors"
	"testing"
)

func TestSmoke(t *testing.T) {
	a, b := New(), New()
	if err := a.Link(b, Monitor); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	b.Disconnect(boom)
	m, ok := a.TryReceive()
	if !ok || m.Kind() != Disconnected || m.From() != b.ID() || !errors.Is(m.Fault(), boom) {
		t.Fatalf("got %v %v", m, ok)
	}
	t.Log(m)
	// cascade chain
	c := New()
	d := New()
	c.Link(d, Monitor)
	var g Group
	done := make(chan error, 1)
	go func() {
		done <- c.Manage(context.Background(), func(ctx context.Context) error { <-ctx.Done(); return context.Cause(ctx) })
	}()
	d.Disconnect(boom)
	err := <-done
	var cr *Crash
	if !errors.As(err, &cr) || cr.Kind != CrashCascade || !errors.Is(err, boom) {
		t.Fatalf("%v", err)
	}
	t.Log(err)
	p := New()
	l, err := g.Spawn(context.Background(), p, Peer, func(ctx context.Context) error { return boom })
	if err != nil {
		t.Fatal(err)
	}
	msg, err := p.Receive(context.Background())
	t.Log(msg, err, l)
	g.Wait()
	a.Drop()
}
