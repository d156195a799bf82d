package backplane_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/internal/bridge"
)

// recRemote records what a proxy asks of its transport, as strings.
type recRemote struct {
	mu    sync.Mutex
	calls []string
	err   error // returned by every call when set
}

func (r *recRemote) rec(format string, args ...any) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, fmt.Sprintf(format, args...))
	return r.err
}

func (r *recRemote) Watch(to backplane.DeviceID, t backplane.Line) error {
	return r.rec("watch %v %v", to, t.ID())
}

func (r *recRemote) Unwatch(to backplane.DeviceID, t backplane.Line) error {
	return r.rec("unwatch %v %v", to, t.ID())
}

func (r *recRemote) Shutdown(to, from backplane.DeviceID) error {
	return r.rec("shutdown %v %v", to, from)
}

func (r *recRemote) Kill(to, from backplane.DeviceID, reason error) error {
	return r.rec("kill %v %v %v", to, from, reason)
}

func (r *recRemote) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.calls
	r.calls = nil
	return c
}

var nodeB = backplane.NodeID{Name: "b", Incarnation: 7}

func newProxy(t *testing.T, seq uint64) (*backplane.Device, *recRemote) {
	t.Helper()
	r := new(recRemote)
	p, err := bridge.NewProxy(bridge.RemoteID(nodeB, seq), r, backplane.WithName("remote"))
	if err != nil {
		t.Fatal(err)
	}
	return p, r
}

func TestRemoteID(t *testing.T) {
	id := bridge.RemoteID(nodeB, 42)
	if !bridge.IsRemote(id) || id.IsZero() || id.Seq() != 42 || id.Node() != nodeB {
		t.Fatalf("RemoteID = %v: remote %v zero %v seq %d node %v", id, bridge.IsRemote(id), id.IsZero(), id.Seq(), id.Node())
	}
	if got := id.String(); got != "#42@b" {
		t.Errorf("String = %q", got)
	}
	if id != bridge.RemoteID(nodeB, 42) {
		t.Error("equal remote IDs compare unequal")
	}
	other := nodeB
	other.Incarnation++
	if id == bridge.RemoteID(other, 42) {
		t.Error("IDs of two incarnations compare equal")
	}
	local := backplane.New(bridge.Owned())
	defer local.Drop()
	if bridge.IsRemote(local.ID()) || !local.ID().Node().IsZero() {
		t.Errorf("local ID %v claims a node %v", local.ID(), local.ID().Node())
	}
	if bridge.LocalID(local.ID().Seq()) != local.ID() || !bridge.LocalID(0).IsZero() {
		t.Error("LocalID does not give back a local device's ID")
	}
	if local.ID() == bridge.RemoteID(nodeB, local.ID().Seq()) {
		t.Error("a local ID equals a remote one with the same sequence number")
	}
	for _, bad := range []backplane.DeviceID{
		bridge.RemoteID(nodeB, 0),
		bridge.RemoteID(backplane.NodeID{}, 1),
		bridge.RemoteID(backplane.NodeID{Incarnation: 1}, 1),
	} {
		if !bad.IsZero() || bridge.IsRemote(bad) {
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
	if _, err := bridge.NewProxy(backplane.DeviceID{}, new(recRemote)); !errors.Is(err, bridge.ErrNotRemote) {
		t.Errorf("zero ID: %v", err)
	}
	local := backplane.New(bridge.Owned())
	defer local.Drop()
	if _, err := bridge.NewProxy(local.ID(), new(recRemote)); !errors.Is(err, bridge.ErrNotRemote) {
		t.Errorf("local ID: %v", err)
	}
	if _, err := bridge.NewProxy(bridge.RemoteID(nodeB, 1), nil); !errors.Is(err, backplane.ErrNilArg) {
		t.Errorf("nil remote: %v", err)
	}
}

func TestProxyIdentity(t *testing.T) {
	p, _ := newProxy(t, 5)
	defer p.Drop()
	if p.ID() != bridge.RemoteID(nodeB, 5) || p.Line().ID() != p.ID() || p.Name() != "remote" {
		t.Fatalf("proxy ID %v line %v name %q", p.ID(), p.Line().ID(), p.Name())
	}
	if !bridge.IsProxy(p.Line()) {
		t.Error("IsProxy false for a proxy")
	}
	local := backplane.New(bridge.Owned())
	defer local.Drop()
	if bridge.IsProxy(local.Line()) || bridge.IsProxy(backplane.Line{}) {
		t.Error("IsProxy true for a local device or the zero Line")
	}
}

// A local device that monitors a proxy is told with the remote device's ID
// and fault, and a managed one cascades naming it.
func TestProxyDisconnectReachesWatchers(t *testing.T) {
	p, _ := newProxy(t, 9)
	watcher := backplane.New(bridge.Owned())
	defer watcher.Drop()
	if err := watcher.Link(p, backplane.Monitor); err != nil {
		t.Fatal(err)
	}
	managed := backplane.New(bridge.Owned())
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

func wantCalls(t *testing.T, r *recRemote, want ...string) {
	t.Helper()
	got := r.take()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("remote calls %q, want %q", got, want)
	}
}

// The directions of a link in which a proxy would watch go to its
// transport; the others are local edges. Shutdown and Kill go to the
// transport; the proxy runs no task and its inbox stays empty.
func TestProxyRemoteHalves(t *testing.T) {
	p, r := newProxy(t, 11)
	a := backplane.New(bridge.Owned())
	b := backplane.New(bridge.Owned())
	defer a.Drop()
	defer b.Drop()
	pid := p.ID()

	if err := a.Link(p, backplane.Notify); err != nil { // p watches a: remote
		t.Fatal(err)
	}
	wantCalls(t, r, fmt.Sprintf("watch %v %v", pid, a.ID()))
	if err := b.Link(p, backplane.Peer); err != nil { // both: one remote, one local
		t.Fatal(err)
	}
	wantCalls(t, r, fmt.Sprintf("watch %v %v", pid, b.ID()))
	if err := p.Line().Link(a, backplane.Notify); err != nil { // a watches p: local
		t.Fatal(err)
	}
	wantCalls(t, r)
	if ok, err := a.Unlink(p, backplane.Notify); !ok || err != nil {
		t.Errorf("Unlink of a remote half = %v, %v", ok, err)
	}
	wantCalls(t, r, fmt.Sprintf("unwatch %v %v", pid, a.ID()))

	if err := p.Line().Shutdown(a.ID()); err != nil {
		t.Fatal(err)
	}
	if err := p.Line().Kill(b.ID(), nil); err != nil {
		t.Fatal(err)
	}
	wantCalls(t, r, fmt.Sprintf("shutdown %v %v", pid, a.ID()), fmt.Sprintf("kill %v %v <nil>", pid, b.ID()))
	if !p.Alive() || p.Pending() != 0 {
		t.Errorf("proxy alive %v, pending %d", p.Alive(), p.Pending())
	}

	ctx := context.Background()
	if err := p.Manage(ctx, func(context.Context) error { return nil }); !errors.Is(err, bridge.ErrProxy) {
		t.Errorf("Manage = %v", err)
	}
	if err := p.PartManage(ctx, func(context.Context) error { return nil }); !errors.Is(err, bridge.ErrProxy) {
		t.Errorf("PartManage = %v", err)
	}
	if _, err := backplane.Watch(ctx, p, func(context.Context) (int, error) { return 0, nil }); !errors.Is(err, bridge.ErrProxy) {
		t.Errorf("Watch = %v", err)
	}

	// The local halves fire when the proxy goes down.
	f := backplane.ErrorFault(errors.New("remote failure"))
	_ = p.Disconnect(f)
	for _, d := range []*backplane.Device{a, b} {
		if m, ok := d.TryReceive(); !ok || m.From() != pid || m.Fault() != f {
			t.Errorf("%v got %v", d.ID(), m)
		}
	}
	if err := p.Line().Kill(a.ID(), nil); !errors.Is(err, backplane.ErrLinkDown) {
		t.Errorf("Kill after disconnect = %v", err)
	}
	if err := p.Line().Shutdown(a.ID()); !errors.Is(err, backplane.ErrLinkDown) {
		t.Errorf("Shutdown after disconnect = %v", err)
	}
	if err := a.Link(p, backplane.Notify); !errors.Is(err, backplane.ErrLinkDown) {
		t.Errorf("Link after disconnect = %v", err)
	}
	if ok, err := b.Unlink(p, backplane.Notify); err != nil {
		t.Errorf("Unlink after disconnect = %v, %v", ok, err)
	}
	wantCalls(t, r)
}

// A link whose remote half fails leaves no edge behind, here or there.
func TestProxyLinkFailureLeavesNoEdge(t *testing.T) {
	p, r := newProxy(t, 12)
	a := backplane.New(bridge.Owned())
	defer a.Drop()
	r.err = errors.New("node unreachable")
	if err := a.Link(p, backplane.Peer); !errors.Is(err, r.err) {
		t.Fatalf("Link = %v", err)
	}
	wantCalls(t, r, fmt.Sprintf("watch %v %v", p.ID(), a.ID()))
	_ = p.Disconnect(backplane.ErrorFault(errors.New("x")))
	if m, ok := a.TryReceive(); ok {
		t.Errorf("failed link delivered %v", m)
	}
}

// Two proxies linked: each direction goes to the watcher's transport.
func TestProxyToProxy(t *testing.T) {
	p, r := newProxy(t, 13)
	q, s := newProxy(t, 14)
	defer p.Drop()
	defer q.Drop()
	if err := p.Line().Link(q, backplane.Peer); err != nil {
		t.Fatal(err)
	}
	wantCalls(t, r, fmt.Sprintf("watch %v %v", p.ID(), q.ID()))
	wantCalls(t, s, fmt.Sprintf("watch %v %v", q.ID(), p.ID()))
}

// A Shutdown from a device to an idle device names the requester; from a
// remote requester too.
func TestShutdownMessageNamesRequester(t *testing.T) {
	d := backplane.New(bridge.Owned())
	defer d.Drop()
	from := bridge.RemoteID(nodeB, 3)
	if err := d.Line().Shutdown(from); err != nil {
		t.Fatal(err)
	}
	m, ok := d.TryReceive()
	if !ok || m.Kind() != backplane.Shutdown || m.From() != from || m.Fault() != nil {
		t.Fatalf("got %v", m)
	}
}
