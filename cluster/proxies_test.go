package cluster

import (
	"testing"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/cluster/internal/wire"
	"github.com/backplane-go/backplane/internal/bridge"
)

// The proxy table finds, takes and counts proxies by node and number, and
// forgets a node with its last proxy.
func TestProxyTable(t *testing.T) {
	var tab proxyTable
	x, y := backplane.NodeID{Name: "x", Incarnation: 1}, backplane.NodeID{Name: "y", Incarnation: 1}
	xOld := backplane.NodeID{Name: "x", Incarnation: 0x10}
	id := bridge.RemoteID
	devs := map[backplane.DeviceID]*backplane.Device{}
	for _, i := range []backplane.DeviceID{id(x, 1), id(x, 2), id(x, 3), id(y, 1), id(xOld, 1)} {
		d := backplane.New()
		t.Cleanup(d.Drop)
		devs[i] = d
		tab.put(i, d)
	}
	tab.put(id(x, 1), devs[id(x, 1)]) // again: no change
	if tab.len() != 5 || len(tab.nodes) != 3 {
		t.Fatalf("%d proxies of %d nodes, want 5 of 3", tab.len(), len(tab.nodes))
	}
	for i, d := range devs {
		if p, ok := tab.get(i); !ok || p != d {
			t.Fatalf("get(%v) = %v, %v", i, p, ok)
		}
	}
	if _, ok := tab.get(id(x, 9)); ok {
		t.Fatal("found a proxy never put")
	}
	if _, ok := tab.take(id(x, 2), devs[id(y, 1)]); ok {
		t.Fatal("took a proxy for another one")
	}
	if p, ok := tab.take(id(x, 2), devs[id(x, 2)]); !ok || p != devs[id(x, 2)] {
		t.Fatalf("take = %v, %v", p, ok)
	}
	out := make([]*backplane.Device, 4)
	tab.takeDowns(x, []wire.Down{{Seq: 3}, {Seq: 2}, {Seq: 1}, {Seq: 3}}, out)
	if out[0] != devs[id(x, 3)] || out[1] != nil || out[2] != devs[id(x, 1)] || out[3] != nil {
		t.Fatalf("takeDowns = %v", out)
	}
	if _, ok := tab.nodes[x]; ok || tab.len() != 2 {
		t.Fatalf("after x's last proxy: x kept %v, %d proxies, want 2", ok, tab.len())
	}
	if gone := tab.takeNode(y); len(gone) != 1 || gone[0] != devs[id(y, 1)] {
		t.Fatalf("takeNode(y) = %v", gone)
	}
	if p, ok := tab.get(id(xOld, 1)); !ok || p != devs[id(xOld, 1)] || tab.len() != 1 {
		t.Fatal("another incarnation's proxy was taken")
	}
}
