package observer_test

import (
	"errors"
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

// Devices of other nodes (proxies) are kept apart from local devices with
// the same sequence number, and carry their ID as text.
func TestRecorderRemoteDevices(t *testing.T) {
	rec := newRecorder(t)
	local := backplane.New(backplane.WithName("local"))
	defer local.Drop()
	seq := local.ID().Seq()
	var proxies []*backplane.Device
	for _, node := range []string{"db", "cache"} {
		p, err := bridge.NewProxy(bridge.RemoteID(backplane.NodeID{Name: node, Incarnation: 1}, seq), nopRemote{})
		if err != nil {
			t.Fatal(err)
		}
		proxies = append(proxies, p)
		if err := local.Link(p, backplane.Monitor); err != nil {
			t.Fatal(err)
		}
	}
	s := rec.Snapshot(observer.SnapshotOptions{})
	if len(s.Devices) != 3 || s.Stats.Links != 2 {
		t.Fatalf("%d devices, %d links, want 3 and 2: %+v", len(s.Devices), s.Stats.Links, s.Devices)
	}
	keys := map[uint64]string{}
	for _, d := range s.Devices {
		keys[d.ID] = d.Ref
	}
	if keys[seq] != "" {
		t.Errorf("local device has ref %q", keys[seq])
	}
	var remoteKeys []uint64
	for k, ref := range keys {
		if k != seq {
			remoteKeys = append(remoteKeys, k)
			if ref != "#"+itoa(seq)+"@db" && ref != "#"+itoa(seq)+"@cache" {
				t.Errorf("remote device %d has ref %q", k, ref)
			}
		}
	}
	if len(remoteKeys) != 2 {
		t.Fatalf("remote keys %v", remoteKeys)
	}
	if l := device(t, s, local.ID()).Links; len(l) != 2 || (l[0].Peer != remoteKeys[0] && l[0].Peer != remoteKeys[1]) {
		t.Errorf("links of the local device: %+v", l)
	}

	_ = proxies[0].Disconnect(&backplane.Fault{Kind: backplane.FaultUnreachable, Err: errors.New("node lost")})
	s = rec.Snapshot(observer.SnapshotOptions{})
	if len(s.Faults) != 1 || s.Faults[0].Ref != proxies[0].ID().String() || s.Faults[0].Fault.Kind != "unreachable" {
		t.Errorf("faults: %+v", s.Faults)
	}
	_ = proxies[1].Disconnect(nil)
}

func itoa(n uint64) string { return bridge.LocalID(n).String()[1:] }
