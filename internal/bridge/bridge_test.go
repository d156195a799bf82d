package bridge_test

import (
	"errors"
	"testing"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/internal/bridge"
)

// TestBridge: the plumbing reaches the core (the core's proxy tests cover
// proxies in depth).
func TestBridge(t *testing.T) {
	node := backplane.NodeID{Name: "db", Incarnation: 3}
	id := bridge.RemoteID(node, 7)
	if !bridge.IsRemote(id) || id.Node() != node || id.Seq() != 7 || id.String() != "#7@db" {
		t.Fatalf("RemoteID = %v (node %v, remote %v)", id, id.Node(), bridge.IsRemote(id))
	}
	if !bridge.RemoteID(backplane.NodeID{}, 7).IsZero() || !bridge.RemoteID(node, 0).IsZero() {
		t.Fatal("RemoteID of no node or no sequence number is not the zero ID")
	}
	local := backplane.New(bridge.Owned())
	defer local.Drop()
	if l := bridge.LocalID(local.ID().Seq()); l != local.ID() || bridge.IsRemote(l) {
		t.Fatalf("LocalID = %v, want %v", l, local.ID())
	}
	if bridge.IsProxy(local.Line()) || bridge.IsProxy(backplane.Line{}) {
		t.Fatal("IsProxy true for a local device or the zero Line")
	}
	if _, err := bridge.NewProxy(local.ID(), nil); !errors.Is(err, bridge.ErrNotRemote) {
		t.Fatalf("NewProxy of a local ID = %v, want ErrNotRemote", err)
	}
	if _, err := bridge.NewProxy(id, nil); !errors.Is(err, backplane.ErrNilArg) {
		t.Fatalf("NewProxy with no Remote = %v, want ErrNilArg", err)
	}
}
