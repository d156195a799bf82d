package cluster

import (
	"context"
	"errors"
	"strings"
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
