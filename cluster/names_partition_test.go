package cluster_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/cluster"
)

// A node cut off from the registry (its NATS connection blackholed): the
// other side frees its names; it cannot register, and reads its last
// copy; once healed, it learns that its names were freed, and the names
// of the other side survive the frees it tried while cut off.
func TestNamePartition(t *testing.T) {
	a := start(t, cluster.Config{Name: "a", Timeout: time.Second})
	fw := forwarder(t, a.ClientURL())
	b := start(t, cluster.Config{Name: "b", URL: fw.URL(), Secret: a.Secret(), Timeout: time.Second})
	ctx := ctxFor(t)
	da, db := backplane.New(), backplane.New()
	defer da.Drop()
	defer db.Drop()
	if err := a.RegisterName(ctx, "on-a", da); err != nil {
		t.Fatal(err)
	}
	if err := b.RegisterName(ctx, "on-b", db); err != nil {
		t.Fatal(err)
	}
	for _, n := range []*cluster.Node{a, b} {
		waitHolder(t, n, "on-a", idOn(n, a, da))
		waitHolder(t, n, "on-b", idOn(n, b, db))
	}

	fw.Blackhole()
	waitHolder(t, a, "on-b", backplane.DeviceID{}) // the side with the registry frees b's name
	short, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	dx := backplane.New()
	defer dx.Drop()
	if err := b.RegisterName(short, "cut-off", dx); !errors.Is(err, cluster.ErrNoRegistry) {
		t.Fatalf("RegisterName cut off: %v", err)
	}
	if l, err := b.WhereIs(ctx, "on-a"); err != nil || l.ID() != idOn(b, a, da) {
		t.Fatalf("WhereIs cut off: %v, %v; want the last holder known", l, err)
	}
	if l, err := b.WhereIs(ctx, "on-b"); err != nil || l.ID() != db.ID() {
		t.Fatalf("WhereIs cut off: %v, %v; want the last holder known", l, err)
	}

	fw.Pass()
	waitHolder(t, b, "on-b", backplane.DeviceID{}) // b learns
	if err := b.Ping(ctx, a.ID()); err != nil {    // a session with a again
		t.Fatal(err)
	}
	if err := b.RegisterName(ctx, "on-b", db); err != nil {
		t.Fatal(err)
	}
	for _, n := range []*cluster.Node{a, b} {
		waitHolder(t, n, "on-a", idOn(n, a, da))
		waitHolder(t, n, "on-b", idOn(n, b, db))
	}
}
