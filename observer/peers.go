package observer

import (
	"net/http"
	"strings"
	"time"
)

// Peers supplies the models of other nodes of a cluster, so that one page
// shows them all (see WithPeers; package clusterview, a module of its own,
// gathers them over NATS). PeerSnapshots must be safe for concurrent use
// and must not block for long: it runs on every GET /api/cluster.
type Peers interface {
	PeerSnapshots() []PeerSnapshot
}

// PeerSnapshot is the model of one run of another node: its name, its
// incarnation (hexadecimal, as backplane.NodeID prints it), whether it is
// up (heard from lately), when it was last heard from, and its latest
// snapshot, with IDs as that node gives them ("#7" for its own devices).
type PeerSnapshot struct {
	Node        string    `json:"name"`
	Incarnation string    `json:"incarnation"`
	Up          bool      `json:"up"`
	LastSeen    time.Time `json:"last_seen"`
	Snapshot    *Snapshot `json:"-"`
}

// ClusterView is what GET /api/cluster serves: every peer, and every
// peer's devices with IDs as this node gives them ("#7@db/5f3a9c" for
// device 7 of node db; this node's own devices "#7"). The devices of a
// peer that is not up are shown down, with an "unreachable" fault.
type ClusterView struct {
	Nodes   []ClusterNode `json:"nodes"`
	Devices []DeviceInfo  `json:"devices"`
}

// ClusterNode is one peer of a ClusterView.
type ClusterNode struct {
	PeerSnapshot
	Alive int `json:"alive"` // its devices alive, as it last said
	Down  int `json:"down"`
}

// WithPeers makes the handler serve GET /api/cluster from p, and the page
// show the other nodes' devices beside this one's, with a list of nodes.
func WithPeers(p Peers) HandlerOption {
	return handlerOptionFunc(func(c *handlerConfig) { c.peers = p })
}

// clusterView merges the peers' snapshots.
func clusterView(peers []PeerSnapshot) ClusterView {
	v := ClusterView{Nodes: make([]ClusterNode, 0, len(peers)), Devices: []DeviceInfo{}}
	for _, p := range peers {
		n := ClusterNode{PeerSnapshot: p}
		if p.Snapshot != nil {
			n.Alive, n.Down = p.Snapshot.Stats.Alive, p.Snapshot.Stats.Down
			for _, d := range p.Snapshot.Devices {
				d = rebase(d, p.Node, p.Incarnation)
				if !p.Up && d.State == "alive" {
					d.State = "down"
					d.DownAt = p.LastSeen
					d.Fault = &FaultInfo{Kind: "unreachable", Error: "observer: node " + p.Node + " is not heard from"}
					d.Links = []LinkInfo{}
				}
				v.Devices = append(v.Devices, d)
			}
		}
		v.Nodes = append(v.Nodes, n)
	}
	return v
}

// rebase turns the IDs of a device of node/inc, as that node gives them,
// into IDs as this node gives them.
func rebase(d DeviceInfo, node, inc string) DeviceInfo {
	re := func(id string) string {
		if id == "" {
			return ""
		}
		if !strings.Contains(id, "@") {
			return id + "@" + node + "/" + inc
		}
		return id // another node's device: the same text everywhere
	}
	d.ID = re(d.ID)
	d.Node, d.Incarnation = node, inc
	d.Supervisor = re(d.Supervisor)
	links := make([]LinkInfo, len(d.Links))
	for i, l := range d.Links {
		links[i] = LinkInfo{Peer: re(l.Peer), Mode: l.Mode}
	}
	d.Links = links
	kids := make([]string, len(d.Children))
	for i, c := range d.Children {
		kids[i] = re(c)
	}
	d.Children = kids
	d.Fault = rebaseFault(d.Fault, re)
	if d.LastExit != nil {
		e := *d.LastExit
		e.Device = re(e.Device)
		e.Fault = rebaseFault(e.Fault, re)
		d.LastExit = &e
	}
	return d
}

func rebaseFault(f *FaultInfo, re func(string) string) *FaultInfo {
	if f == nil {
		return nil
	}
	g := *f
	g.RootDevice = re(f.RootDevice)
	g.Chain = make([]Hop, len(f.Chain))
	for i, h := range f.Chain {
		g.Chain[i] = Hop{Device: re(h.Device), Name: h.Name, Kind: h.Kind}
	}
	if len(g.Chain) == 0 {
		g.Chain = nil
	}
	g.Root = rebaseFault(f.Root, re)
	return &g
}

// cluster serves /api/cluster.
func (h *handler) cluster(w http.ResponseWriter, r *http.Request) {
	if err := parseQuery(r.URL.RawQuery); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if h.cfg.peers == nil {
		writeError(w, http.StatusNotFound, "no cluster view (see observer.WithPeers)")
		return
	}
	writeJSON(w, http.StatusOK, clusterView(h.cfg.peers.PeerSnapshots()))
}
