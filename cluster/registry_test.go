package cluster

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/cluster/internal/wire"
)

func TestValidRegistryName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"db", true},
		{"db.primary", true},
		{"a_b-C.9", true},
		{strings.Repeat("x", 255), true},
		{"", false},
		{strings.Repeat("x", 256), false},
		{".db", false},
		{"db.", false},
		{"a..b", false},
		{"a/b", false},
		{"a b", false},
		{"a*", false},
		{"a>", false},
		{"é", false},
		{"\x00ping", false},
	}
	for _, tt := range tests {
		if got := validRegistryName(tt.name); got != tt.ok {
			t.Errorf("validRegistryName(%q) = %v, want %v", tt.name, got, tt.ok)
		}
	}
}

func TestDeviceValue(t *testing.T) {
	d := wire.Device{Node: wire.Node{Name: "db.primary", Inc: 1<<64 - 1}, Seq: 42}
	if got, ok := parseDevice(formatDevice(d)); !ok || got != d {
		t.Fatalf("round trip of %v: %v, %v", d, got, ok)
	}
	for _, bad := range []string{"", "db", "db 1", "db 1 2 3", "db 0 2", "db 1 0", "db -1 2", "a*b 1 2", "db x 2", "db 1 18446744073709551616"} {
		if got, ok := parseDevice([]byte(bad)); ok {
			t.Errorf("parseDevice(%q) = %v, want refused", bad, got)
		}
	}
	key := memberKey("workers.eu", d)
	if g, ok := groupOf(key); !ok || g != "workers.eu" {
		t.Fatalf("groupOf(%q) = %q, %v", key, g, ok)
	}
	if _, ok := groupOf("g/"); ok {
		t.Fatal("groupOf of an empty key")
	}
}

// A free names the revision it saw: an entry freed and taken again
// meanwhile stays.
func TestFreeIsConditional(t *testing.T) {
	n, err := Start(Config{Name: "a"})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	d1, d2 := backplane.New(), backplane.New()
	defer d1.Drop()
	defer d2.Drop()
	if err := n.RegisterName(ctx, "x", d1); err != nil {
		t.Fatal(err)
	}
	n.reg.mu.Lock()
	old := n.reg.names["x"].rev
	kv := n.reg.kv
	n.reg.mu.Unlock()
	if err := n.UnregisterName(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	if err := n.RegisterName(ctx, "x", d2); err != nil {
		t.Fatal(err)
	}
	if err := free(ctx, kv, nameKeyPrefix+"x", old); !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		t.Fatalf("free of an old revision: %v", err)
	}
	if l, err := n.WhereIs(ctx, "x"); err != nil || l.ID() != d2.ID() {
		t.Fatalf("after the free of an old revision: %v, %v", l, err)
	}
}

// An entry that names a device no one holds is freed: by the device's
// node if it does not hold it, and by every node that finds the named
// node unreachable if there is no such node.
func TestForgedEntriesFreed(t *testing.T) {
	a := startNode(t, Config{Name: "a"})
	b := startNode(t, Config{Name: "b", URL: a.ClientURL(), Secret: a.Secret()})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := a.Names(ctx); err != nil {
		t.Fatal(err)
	}
	kv, err := b.reg.open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	forged := map[string]wire.Device{
		"a-never-held": {Node: a.self, Seq: 1 << 40},                              // a's, not held
		"a-earlier":    {Node: wire.Node{Name: "a", Inc: a.self.Inc + 1}, Seq: 1}, // another incarnation of a
		"ghost":        {Node: wire.Node{Name: "ghost", Inc: 7}, Seq: 1},          // no such node
	}
	for name, d := range forged {
		rev, err := kv.Create(ctx, nameKeyPrefix+name, formatDevice(d))
		if err != nil {
			t.Fatal(err)
		}
		b.reg.waitRev(ctx, rev) // so that a free is a change the watch sees
	}
	for name := range forged {
		freed := make(chan struct{})
		var once sync.Once
		stop, err := b.WatchName(ctx, name, func(e NameEvent) {
			if e.Holder.IsZero() {
				once.Do(func() { close(freed) })
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		select {
		case <-freed:
		case <-ctx.Done():
			t.Fatalf("%s not freed", name)
		}
		stop()
	}
}
