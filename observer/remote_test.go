package observer_test

import (
	"errors"
	"strconv"
	"testing"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/internal/bridge"
	"github.com/backplane-go/backplane/observer"
)

// nopRemote is a transport that does nothing, for proxies in tests.
type nopRemote struct{}

func (nopRemote) Watch(backplane.DeviceID, backplane.Line) error           { return nil }
func (nopRemote) Unwatch(backplane.DeviceID, backplane.Line) error         { return nil }
func (nopRemote) Shutdown(backplane.DeviceID, backplane.DeviceID) error    { return nil }
func (nopRemote) Kill(backplane.DeviceID, backplane.DeviceID, error) error { return nil }

// shutRemote is a transport that records the devices asked to shut down.
type shutRemote struct {
	nopRemote
	to *[]backplane.DeviceID
}

func (r shutRemote) Shutdown(to, _ backplane.DeviceID) error {
	*r.to = append(*r.to, to)
	return nil
}

// Devices of other nodes (proxies) are kept apart from local devices with
// the same sequence number, and from each other, exactly: even two runs of
// one node, and even many nodes, never share an ID. Their IDs name the node
// and its incarnation, and a shutdown request reaches exactly the device
// it names.
func TestRecorderRemoteDevices(t *testing.T) {
	rec := newRecorder(t)
	local := backplane.New(backplane.WithName("local"))
	defer local.Drop()
	seq := local.ID().Seq()
	type node struct {
		name string
		inc  uint64
	}
	// Many nodes, so that a hash of a few bits would have merged two.
	nodes := []node{{"db", 1}, {"db", 2}, {"cache", 1}}
	for i := range 3000 {
		nodes = append(nodes, node{"n" + strconv.Itoa(i), 0x5f3a9c})
	}
	var proxies []*backplane.Device
	var asked []backplane.DeviceID
	for _, n := range nodes {
		p, err := bridge.NewProxy(bridge.RemoteID(backplane.NodeID{Name: n.name, Incarnation: n.inc}, seq), shutRemote{to: &asked})
		if err != nil {
			t.Fatal(err)
		}
		proxies = append(proxies, p)
		if err := local.Link(p, backplane.Monitor); err != nil {
			t.Fatal(err)
		}
	}
	defer func() {
		for _, p := range proxies {
			_ = p.Disconnect(nil)
		}
	}()
	s := rec.Snapshot(observer.SnapshotOptions{})
	if len(s.Devices) != len(nodes)+1 || s.Stats.Links != len(nodes) {
		t.Fatalf("%d devices, %d links, want %d and %d", len(s.Devices), s.Stats.Links, len(nodes)+1, len(nodes))
	}
	byID := map[string]observer.DeviceInfo{}
	for _, d := range s.Devices {
		byID[d.ID] = d
	}
	if d := byID["#"+strconv.FormatUint(seq, 10)]; d.Name != "local" || d.Node != "" || d.Incarnation != "" {
		t.Errorf("local device: %+v", d)
	}
	want := "#" + strconv.FormatUint(seq, 10) + "@db/2"
	if d, ok := byID[want]; !ok || d.Node != "db" || d.Incarnation != "2" {
		t.Errorf("device %s: %+v (present %v)", want, d, ok)
	}
	if len(s.Nodes) != len(nodes) || s.Nodes[0].Name != "cache" || s.Nodes[1] != (observer.NodeInfo{Name: "db", Incarnation: "1", Alive: 1}) {
		t.Errorf("nodes: %d, first %+v", len(s.Nodes), s.Nodes[:min(3, len(s.Nodes))])
	}
	for _, d := range s.Devices {
		id, err := observer.ParseID(d.ID)
		if err != nil || idText(id) != d.ID {
			t.Errorf("ParseID(%q) = %v, %v", d.ID, id, err)
		}
	}
	if l := device(t, s, local.ID()).Links; len(l) != len(nodes) {
		t.Errorf("links of the local device: %d", len(l))
	}

	// Shutdown names the device exactly: db/2, not db/1.
	target, err := observer.ParseID(want)
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.RequestShutdown(target); err != nil || len(asked) != 1 || asked[0] != proxies[1].ID() {
		t.Errorf("shutdown of %s: %v; the transport was asked to stop %v", want, err, asked)
	}

	_ = proxies[0].Disconnect(&backplane.Fault{Kind: backplane.FaultUnreachable, Err: errors.New("node lost")})
	s = rec.Snapshot(observer.SnapshotOptions{})
	if len(s.Faults) != 1 || s.Faults[0].Device != "#"+strconv.FormatUint(seq, 10)+"@db/1" || s.Faults[0].Fault.Kind != "unreachable" {
		t.Errorf("faults: %+v", s.Faults)
	}
	if d := byIDOf(s, "#"+strconv.FormatUint(seq, 10)+"@db/2"); d.State != "alive" {
		t.Errorf("db/2 after db/1 went down: %+v", d)
	}
}

// idText is the observer's text for id, written apart from its own.
func idText(id backplane.DeviceID) string {
	if id.Node().IsZero() {
		return id.String()
	}
	return id.String() + "/" + strconv.FormatUint(id.Node().Incarnation, 16)
}

func byIDOf(s *observer.Snapshot, id string) observer.DeviceInfo {
	for _, d := range s.Devices {
		if d.ID == id {
			return d
		}
	}
	return observer.DeviceInfo{}
}

func TestParseID(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" for an error
	}{
		{"#7", "#7"},
		{"7", "#7"},
		{"#7@db/5f3a9c", "#7@db/5f3a9c"},
		{"#7@a/b/c", "#7@a/b/c"},
		{"#7@db", ""},
		{"#7@/1", ""},
		{"#7@db/", ""},
		{"#7@db/xyz", ""},
		{"#7@db/-1", ""},
		{"#7@db/11112222333344445", ""},
		{"#0", ""},
		{"#", ""},
		{"", ""},
		{"#-7", ""},
		{"##7", ""},
		{"#99999999999999999999", ""},
	}
	for _, tt := range tests {
		id, err := observer.ParseID(tt.in)
		switch {
		case tt.want == "" && err == nil:
			t.Errorf("ParseID(%q) = %v, want an error", tt.in, id)
		case tt.want != "" && (err != nil || idText(id) != tt.want):
			t.Errorf("ParseID(%q) = %q, %v; want %q", tt.in, idText(id), err, tt.want)
		}
	}
}
