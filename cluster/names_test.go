package cluster_test

import (
	"context"
	"errors"
	"testing"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/cluster"
	"github.com/backplane-go/backplane/internal/bridge"
)

// holderOn returns id as node on names it: the local ID on its own node.
func holderOn(on *cluster.Node, owner *cluster.Node, dev *backplane.Device) backplane.DeviceID {
	if on == owner {
		return dev.ID()
	}
	return bridge.RemoteID(owner.ID(), dev.ID().Seq())
}

// waitHolder waits until n's copy of the registry says that name is held
// by want (zero: free).
func waitHolder(t *testing.T, n *cluster.Node, name string, want backplane.DeviceID) {
	t.Helper()
	got := make(chan backplane.DeviceID, 64)
	stop, err := n.WatchName(ctxFor(t), name, func(e cluster.NameEvent) { got <- e.Holder })
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	ctx := ctxFor(t)
	for {
		select {
		case h := <-got:
			if h == want {
				return
			}
		case <-ctx.Done():
			t.Fatalf("%v: %s not held by %v", n.ID(), name, want)
		}
	}
}

func TestNameRegisterAndWhereIs(t *testing.T) {
	a, b := pair(t)
	dev := backplane.New()
	defer dev.Drop()
	ctx := ctxFor(t)
	if err := a.RegisterName(ctx, "db", dev); err != nil {
		t.Fatal(err)
	}
	if l, err := a.WhereIs(ctx, "db"); err != nil || l.ID() != dev.ID() {
		t.Fatalf("WhereIs on a: %v, %v", l, err)
	}
	waitHolder(t, b, "db", holderOn(b, a, dev))
	l, err := b.WhereIs(ctx, "db")
	if err != nil || l.ID() != holderOn(b, a, dev) {
		t.Fatalf("WhereIs on b: %v, %v", l, err)
	}
	other := backplane.New()
	defer other.Drop()
	err = b.RegisterName(ctx, "db", other)
	var te *cluster.NameTakenError
	if !errors.As(err, &te) || !errors.Is(err, cluster.ErrNameTaken) || te.Holder != holderOn(b, a, dev) {
		t.Fatalf("second registration: %v", err)
	}
	if _, err := b.WhereIs(ctx, "none"); !errors.Is(err, cluster.ErrNotFound) {
		t.Fatalf("unknown name: %v", err)
	}
	_ = context.Background
}
