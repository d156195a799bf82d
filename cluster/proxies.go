package cluster

import (
	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/cluster/internal/wire"
)

// proxyTable holds a node's proxies, by the remote device's node and
// sequence number, so that a Down frame of many devices of one node looks
// that node up once and each device by its number alone, and the end of a
// session finds the node's proxies without a walk over all of them. A
// node's map goes when its last proxy does. The zero proxyTable is empty
// and ready; it is guarded by Node.mu.
type proxyTable struct {
	nodes map[backplane.NodeID]map[uint64]*backplane.Device
	n     int
}

// get returns the proxy for id.
func (t *proxyTable) get(id backplane.DeviceID) (*backplane.Device, bool) {
	p, ok := t.nodes[id.Node()][id.Seq()]
	return p, ok
}

// put records p as the proxy for id.
func (t *proxyTable) put(id backplane.DeviceID, p *backplane.Device) {
	node := id.Node()
	m := t.nodes[node]
	if m == nil {
		if t.nodes == nil {
			t.nodes = make(map[backplane.NodeID]map[uint64]*backplane.Device)
		}
		m = make(map[uint64]*backplane.Device)
		t.nodes[node] = m
	}
	if _, ok := m[id.Seq()]; !ok {
		t.n++
	}
	m[id.Seq()] = p
}

// take removes the proxy for id and returns it, if p is nil or is that
// proxy.
func (t *proxyTable) take(id backplane.DeviceID, p *backplane.Device) (*backplane.Device, bool) {
	node := id.Node()
	m := t.nodes[node]
	q, ok := m[id.Seq()]
	if !ok || (p != nil && q != p) {
		return nil, false
	}
	t.remove(node, m, id.Seq())
	return q, true
}

// takeDowns removes the proxies of the devices of node that downs names,
// and puts each one found at its entry's index in out (as long as downs),
// leaving the others nil.
func (t *proxyTable) takeDowns(node backplane.NodeID, downs []wire.Down, out []*backplane.Device) {
	m := t.nodes[node]
	for i, d := range downs {
		if q, ok := m[d.Seq]; ok {
			out[i] = q
			delete(m, d.Seq)
			t.n--
		}
	}
	if m != nil && len(m) == 0 {
		delete(t.nodes, node)
	}
}

func (t *proxyTable) remove(node backplane.NodeID, m map[uint64]*backplane.Device, seq uint64) {
	delete(m, seq)
	t.n--
	if len(m) == 0 {
		delete(t.nodes, node)
	}
}

// takeNode removes the proxies of node's devices and returns them.
func (t *proxyTable) takeNode(node backplane.NodeID) []*backplane.Device {
	m := t.nodes[node]
	if m == nil {
		return nil
	}
	delete(t.nodes, node)
	t.n -= len(m)
	gone := make([]*backplane.Device, 0, len(m))
	for _, p := range m {
		gone = append(gone, p)
	}
	return gone
}

// len returns the number of proxies.
func (t *proxyTable) len() int { return t.n }
