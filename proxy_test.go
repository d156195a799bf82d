package backplane_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/backplane-go/backplane"
)

// recRemote records what a proxy hands to its transport.
type recRemote struct {
	mu      sync.Mutex
	msgs    []backplane.Message
	to      []backplane.DeviceID
	kills   []backplane.DeviceID
	killErr error
}

func (r *recRemote) Forward(to backplane.DeviceID, m backplane.Message) {
	r.mu.Lock()
	r.msgs = append(r.msgs, m)
	r.to = append(r.to, to)
	r.mu.Unlock()
}

func (r *recRemote) Kill(to, from backplane.DeviceID, reason error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.kills = append(r.kills, from)
	return r.killErr
}

var nodeB = backplane.NodeID{Name: "b", Incarnation: 7}

func newProxy(t *testing.T, seq uint64) (*backplane.Device, *recRemote) {
	t.Helper()
	r := new(recRemote)
	p, err := backplane.NewProxy(backplane.RemoteID(nodeB, seq), r, backplane.WithName("remote"))
	if err != nil {
		t.Fatal(err)
	}
	return p, r
}

func TestRemoteID(t *testing.T) {
	id := backplane.RemoteID(nodeB, 42)
	if !id.IsRemote() || id.IsZero() || id.Seq() != 42 || id.Node() != nodeB {
		t.Fatalf("RemoteID = %v: remote %v zero %v seq %d node %v", id, id.IsRemote(), id.IsZero(), id.Seq(), id.Node())
	}
	if got := id.String(); got != "#42@b" {
		t.Errorf("String = %q", got)
	}
	if id != backplane.RemoteID(nodeB, 42) {
		t.Error("equal remote IDs compare unequal")
	}
	other := nodeB
	other.Incarnation++
	if id == backplane.RemoteID(other, 42) {
		t.Error("IDs of two incarnations compare equal")
	}
	local := backplane.New(backplane.Owned())
	defer local.Drop()
	if local.ID().IsRemote() || !local.ID().Node().IsZero() {
		t.Errorf("local ID %v claims a node %v", local.ID(), local.ID().Node())
	}
	if local.ID() == backplane.RemoteID(nodeB, local.ID().Seq()) {
		t.Error("a local ID equals a remote one with the same sequence number")
	}
	for _, bad := range []backplane.DeviceID{
		backplane.RemoteID(nodeB, 0),
		backplane.RemoteID(backplane.NodeID{}, 1),
		backplane.RemoteID(backplane.NodeID{Incarnation: 1}, 1),
	} {
		if !bad.IsZero() || bad.IsRemote() {
			t.Errorf("invalid RemoteID gave %v", bad)
		}
	}
	if s := (backplane.NodeID{}).String(); s != "local" {
		t.Errorf("zero NodeID = %q", s)
	}
	if s := nodeB.String(); s != "b/7" {
		t.Errorf("NodeID = %q", s)
	}
}

func TestNewProxyErrors(t *testing.T) {
	if _, err := backplane.NewProxy(backplane.DeviceID{}, new(recRemote)); !errors.Is(err, backplane.ErrNotRemote) {
		t.Errorf("zero ID: %v", err)
	}
	local := backplane.New(backplane.Owned())
	defer local.Drop()
	if _, err := backplane.NewProxy(local.ID(), new(recRemote)); !errors.Is(err, backplane.ErrNotRemote) {
		t.Errorf("local ID: %v", err)
	}
	if _, err := backplane.NewProxy(backplane.RemoteID(nodeB, 1), nil); !errors.Is(err, backplane.ErrNilArg) {
		t.Errorf("nil remote: %v", err)
	}
}

func TestProxyIdentity(t *testing.T) {
	p, _ := newProxy(t, 5)
	defer p.Drop()
	if p.ID() != backplane.RemoteID(nodeB, 5) || p.Line().ID() != p.ID() || p.Name() != "remote" {
		t.Fatalf("proxy ID %v line %v name %q", p.ID(), p.Line().ID(), p.Name())
	}
	if !p.Line().IsProxy() {
		t.Error("IsProxy false for a proxy")
	}
	local := backplane.New(backplane.Owned())
	defer local.Drop()
	if local.Line().IsProxy() || (backplane.Line{}).IsProxy() {
		t.Error("IsProxy true for a local device or the zero Line")
	}
}

// A local device that monitors a proxy is told with the remote device's ID
// and fault, and a managed one cascades naming it.
func TestProxyDisconnectReachesWatchers(t *testing.T) {
	p, _ := newProxy(t, 9)
	watcher := backplane.New(backplane.Owned())
	defer watcher.Drop()
	if err := watcher.Link(p, backplane.Monitor); err != nil {
		t.Fatal(err)
	}
	managed := backplane.New(backplane.Owned())
	if err := managed.Link(p, backplane.Monitor); err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	res := make(chan error, 1)
	go func() {
		res <- managed.Manage(context.Background(), func(ctx context.Context) error {
			close(started)
			<-ctx.Done()
			return nil
		})
	}()
	<-started
	remoteFault := backplane.ErrorFault(errors.New("remote boom"))
	if err := p.Disconnect(remoteFault); err != nil {
		t.Fatal(err)
	}
	m, ok := watcher.TryReceive()
	if !ok || m.Kind() != backplane.Disconnected || m.From() != p.ID() || m.Fault() != remoteFault {
		t.Fatalf("watcher got %v (ok %v)", m, ok)
	}
	var crash *backplane.Crash
	if err := <-res; !errors.As(err, &crash) || crash.Kind != backplane.CrashCascade || crash.Device != p.ID() {
		t.Fatalf("managed watcher: %v", err)
	}
	if root, f := crash.Fault.Root(); root != p.ID() || f != remoteFault {
		t.Errorf("cascade root %v %v", root, f)
	}
}

// What a local device would queue for the remote one goes to Forward, in
// order; Kill goes to the transport; the proxy runs no task.
func TestProxyForwards(t *testing.T) {
	p, r := newProxy(t, 11)
	defer p.Drop()
	a := backplane.New(backplane.Owned())
	b := backplane.New(backplane.Owned())
	for _, d := range []*backplane.Device{a, b} {
		if err := d.Link(p, backplane.Notify); err != nil { // p watches d
			t.Fatal(err)
		}
	}
	if err := p.Line().Shutdown(a.ID()); err != nil {
		t.Fatal(err)
	}
	if err := p.Line().Shutdown(backplane.DeviceID{}); err != nil {
		t.Fatal(err)
	}
	_ = a.Disconnect(errors.New("a failed"))
	_ = b.Disconnect(nil)

	r.mu.Lock()
	msgs, to := r.msgs, r.to
	r.mu.Unlock()
	if len(msgs) != 4 {
		t.Fatalf("forwarded %d messages: %v", len(msgs), msgs)
	}
	for _, id := range to {
		if id != p.ID() {
			t.Errorf("forwarded to %v", id)
		}
	}
	want := []struct {
		kind  backplane.MessageKind
		from  backplane.DeviceID
		fault bool
	}{
		{backplane.Shutdown, a.ID(), false},
		{backplane.Shutdown, backplane.DeviceID{}, false},
		{backplane.Disconnected, a.ID(), true},
		{backplane.Disconnected, b.ID(), false},
	}
	for i, w := range want {
		m := msgs[i]
		if m.Kind() != w.kind || m.From() != w.from || (m.Fault() != nil) != w.fault {
			t.Errorf("message %d = %v, want %v from %v (fault %v)", i, m, w.kind, w.from, w.fault)
		}
	}
	if p.Pending() != 0 {
		t.Errorf("proxy inbox holds %d messages", p.Pending())
	}

	r.killErr = errors.New("sent")
	if err := p.Line().Kill(a.ID(), nil); err != r.killErr {
		t.Errorf("Kill = %v", err)
	}
	if !p.Alive() {
		t.Error("Kill took the proxy itself down")
	}
	ctx := context.Background()
	if err := p.Manage(ctx, func(context.Context) error { return nil }); !errors.Is(err, backplane.ErrProxy) {
		t.Errorf("Manage = %v", err)
	}
	if err := p.PartManage(ctx, func(context.Context) error { return nil }); !errors.Is(err, backplane.ErrProxy) {
		t.Errorf("PartManage = %v", err)
	}
	if _, err := backplane.Watch(ctx, p, func(context.Context) (int, error) { return 0, nil }); !errors.Is(err, backplane.ErrProxy) {
		t.Errorf("Watch = %v", err)
	}
	_ = p.Disconnect(nil)
	if err := p.Line().Kill(a.ID(), nil); !errors.Is(err, backplane.ErrLinkDown) {
		t.Errorf("Kill after disconnect = %v", err)
	}
}

// A Shutdown from a device to an idle device names the requester; from a
// remote requester too.
func TestShutdownMessageNamesRequester(t *testing.T) {
	d := backplane.New(backplane.Owned())
	defer d.Drop()
	from := backplane.RemoteID(nodeB, 3)
	if err := d.Line().Shutdown(from); err != nil {
		t.Fatal(err)
	}
	m, ok := d.TryReceive()
	if !ok || m.Kind() != backplane.Shutdown || m.From() != from || m.Fault() != nil {
		t.Fatalf("got %v", m)
	}
}
