package cluster_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/cluster"
	"github.com/backplane-go/backplane/internal/bridge"
)

// Nodes with embedded servers joined by NATS routes.
func TestRoutes(t *testing.T) {
	a := start(t, cluster.Config{Name: "a", RouteListen: "127.0.0.1:0"})
	if a.RouteURL() == "" {
		t.Fatal("no route URL")
	}
	b := start(t, cluster.Config{Name: "b", Routes: []string{a.RouteURL()}, Secret: a.Secret()})
	dev := backplane.New()
	if err := b.Register("dev", dev); err != nil {
		t.Fatal(err)
	}
	// Interest crosses the route asynchronously: the lookup is retried
	// until answered.
	l, err := a.Lookup(ctxFor(t), "b", "dev")
	if err != nil {
		t.Fatal(err)
	}
	w := backplane.New()
	defer w.Drop()
	if err := w.Link(l, backplane.Monitor); err != nil {
		t.Fatal(err)
	}
	settle(t, a, b)
	_ = dev.Disconnect(errors.New("over the route"))
	if m := receive(t, w); m.Fault() == nil || m.Fault().Err.Error() != "over the route" {
		t.Fatalf("got %v", m)
	}
}

func TestRegisterAndLineErrors(t *testing.T) {
	a, b := pair(t)
	d := backplane.New()
	defer d.Drop()
	if err := a.Register("", d); err == nil {
		t.Error("empty name accepted")
	}
	if err := a.Register("x", nil); !errors.Is(err, backplane.ErrInvalid) {
		t.Errorf("nil device: %v", err)
	}
	if err := a.Register("d", d); err != nil {
		t.Fatal(err)
	}
	if err := a.Register("d", d); err != nil {
		t.Errorf("registering again: %v", err)
	}
	other := backplane.New()
	defer other.Drop()
	if err := a.Register("d", other); err == nil {
		t.Error("a taken name was given to another device")
	}
	rd := backplane.New()
	defer rd.Drop()
	l := remote(t, b, a, "rd", rd)
	if err := a.Register("proxy", l); err == nil {
		t.Error("a proxy was registered")
	}
	gone := backplane.New()
	_ = gone.Disconnect(nil)
	if err := a.Register("gone", gone); err == nil {
		t.Error("a disconnected device was registered")
	}
	a.Unregister("d")
	if _, err := b.Lookup(ctxFor(t), "a", "d"); !errors.Is(err, cluster.ErrNotFound) {
		t.Errorf("lookup after Unregister: %v", err)
	}
	if _, err := a.Lookup(ctxFor(t), "a", "nobody"); !errors.Is(err, cluster.ErrNotFound) {
		t.Errorf("own lookup: %v", err)
	}

	if _, err := a.Line(backplane.DeviceID{}); !errors.Is(err, backplane.ErrInvalid) {
		t.Errorf("zero ID: %v", err)
	}
	if _, err := a.Line(other.ID()); !errors.Is(err, cluster.ErrLocalID) {
		t.Errorf("unexported local ID: %v", err)
	}
	if got, err := a.Line(d.ID()); err != nil || got != d.Line() {
		t.Errorf("exported local ID: %v, %v", got, err)
	}
	_ = a.Close()
	if _, err := a.Line(bridge.RemoteID(b.ID(), 99)); !errors.Is(err, cluster.ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
	if err := a.Register("late", other); !errors.Is(err, cluster.ErrClosed) {
		t.Errorf("Register after Close: %v", err)
	}
}

// A device its node does not know is reported with ErrNoDevice.
func TestUnknownRemoteDevice(t *testing.T) {
	a, b := pair(t)
	d := backplane.New()
	defer d.Drop()
	known := remote(t, b, a, "d", d) // a session, and b's incarnation
	l, err := a.Line(bridge.RemoteID(known.ID().Node(), d.ID().Seq()+1000))
	if err != nil {
		t.Fatal(err)
	}
	w := backplane.New()
	defer w.Drop()
	if err := w.Link(l, backplane.Monitor); err != nil && !errors.Is(err, backplane.ErrLinkDown) {
		t.Fatal(err)
	}
	<-l.Done()
	// Linked before or after the answer: either told, or refused.
	if m, ok := w.TryReceive(); ok && !errors.Is(m.Fault(), cluster.ErrNoDevice) {
		t.Fatalf("got %v, want ErrNoDevice", m)
	}
}

// A node restarted under the same name is a new incarnation: edges to the
// old one fire Unreachable, and the name finds the new one.
func TestNodeRestart(t *testing.T) {
	a := start(t, cluster.Config{Name: "a"})
	b1 := start(t, cluster.Config{Name: "b", URL: a.ClientURL(), Secret: a.Secret()})
	d1 := backplane.New()
	defer d1.Drop()
	l1 := remote(t, b1, a, "svc", d1)
	w := backplane.New()
	defer w.Drop()
	if err := w.Link(l1, backplane.Monitor); err != nil {
		t.Fatal(err)
	}
	_ = b1.Close()
	if m := receive(t, w); m.From() != l1.ID() || m.Fault() == nil || m.Fault().Kind != backplane.FaultUnreachable {
		t.Fatalf("got %v", m)
	}
	b2 := start(t, cluster.Config{Name: "b", URL: a.ClientURL(), Secret: a.Secret()})
	d2 := backplane.New()
	defer d2.Drop()
	l2 := remote(t, b2, a, "svc", d2)
	if l2.ID().Node() == l1.ID().Node() || l2.ID().Node().Name != "b" {
		t.Fatalf("new incarnation %v, old %v", l2.ID().Node(), l1.ID().Node())
	}
	if _, err := a.Line(l1.ID()); err != nil {
		t.Fatal(err)
	}
}

// Links made on one node between two devices of other nodes: the watcher's
// node makes the edge.
func TestLinkBetweenTwoRemoteDevices(t *testing.T) {
	a := start(t, cluster.Config{Name: "a"})
	b := start(t, cluster.Config{Name: "b", URL: a.ClientURL(), Secret: a.Secret()})
	c := start(t, cluster.Config{Name: "c", URL: a.ClientURL(), Secret: a.Secret()})
	watcher := backplane.New()
	watched := backplane.New()
	lw := remote(t, b, a, "w", watcher)
	lt := remote(t, c, a, "t", watched)
	res := manage(watcher)
	if err := lw.Link(lt, backplane.Monitor); err != nil { // b's device watches c's
		t.Fatal(err)
	}
	settle(t, a, b)
	settle(t, b, c) // b's proxy for c's device is watched on c
	_ = watched.Disconnect(errors.New("on c"))
	wantCascade(t, res, bridge.RemoteID(c.ID(), watched.ID().Seq()))
	noneForged(t, a, b, c)
}

// noneForged checks that honest nodes took no frame of each other for a
// forgery.
func noneForged(t *testing.T, nodes ...*cluster.Node) {
	t.Helper()
	for _, n := range nodes {
		if f := n.Stats().Forged; f != 0 {
			t.Errorf("%v: %d frames taken for forgeries", n.ID(), f)
		}
	}
}

// A node speaks only for its own devices: a shutdown asked of a device of
// b on behalf of a device of c reaches b as a request from no device,
// and a kill on behalf of a's own device names it.
func TestShutdownOnBehalfOfAnotherNode(t *testing.T) {
	a := start(t, cluster.Config{Name: "a"})
	b := start(t, cluster.Config{Name: "b", URL: a.ClientURL(), Secret: a.Secret()})
	c := start(t, cluster.Config{Name: "c", URL: a.ClientURL(), Secret: a.Secret()})
	cdev := backplane.New()
	defer cdev.Drop()
	onC := remote(t, c, a, "c-dev", cdev)
	for _, tc := range []struct {
		name string
		from backplane.DeviceID
		want backplane.DeviceID
	}{
		{"of c", onC.ID(), backplane.DeviceID{}},
		{"of a", cdev.ID(), bridge.RemoteID(a.ID(), cdev.ID().Seq())}, // a local ID: a's own
	} {
		t.Run(tc.name, func(t *testing.T) {
			dev := backplane.New()
			l := remote(t, b, a, "svc-"+tc.name, dev)
			res := manage(dev)
			if err := l.Shutdown(tc.from); err != nil {
				t.Fatal(err)
			}
			if c := crashOf(t, res); c.Kind != backplane.CrashPowerOff || c.Device != tc.want {
				t.Fatalf("crash %v by %v, want a shutdown by %v", c, c.Device, tc.want)
			}
		})
	}
	noneForged(t, a, b, c)
}

// An unlink made here reaches the watcher's node before the watched
// device's end.
func TestRemoteUnlink(t *testing.T) {
	a, b := pair(t)
	r := backplane.New()
	lr := remote(t, b, a, "r", r)
	res := manage(r)
	x := backplane.New()
	if err := x.Link(lr, backplane.Notify); err != nil { // r watches x
		t.Fatal(err)
	}
	if err := a.Register("x", x); err != nil {
		t.Fatal(err)
	}
	if ok, err := x.Unlink(lr, backplane.Notify); !ok || err != nil {
		t.Fatalf("Unlink = %v, %v", ok, err)
	}
	// A second watcher on b sees x's end: by then b has handled the unlink.
	v := backplane.New()
	defer v.Drop()
	lx, err := b.Lookup(ctxFor(t), "a", "x")
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Link(lx, backplane.Monitor); err != nil {
		t.Fatal(err)
	}
	settle(t, b, a)
	_ = x.Disconnect(errors.New("x failed"))
	receive(t, v)
	settle(t, a, b) // b has finished handling x's end
	if !r.Alive() {
		t.Fatalf("r cascaded after the unlink: %v", crashOf(t, res))
	}
	_ = lr.Shutdown(backplane.DeviceID{})
	if c := crashOf(t, res); c.Kind != backplane.CrashPowerOff {
		t.Fatalf("crash %v", c)
	}
}

// Many goroutines link and unlink across two nodes while the remote devices
// fail: every watcher still linked is told exactly once.
func TestRemoteLinksUnderContention(t *testing.T) {
	a, b := pair(t)
	const devices, watchers = 8, 16
	var lines []backplane.Line
	var devs []*backplane.Device
	for i := range devices {
		d := backplane.New()
		devs = append(devs, d)
		lines = append(lines, remote(t, b, a, fmt.Sprintf("d%d", i), d))
	}
	ws := make([]*backplane.Device, watchers)
	var wg sync.WaitGroup
	for i := range ws {
		w := backplane.New()
		ws[i] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := range 50 {
				l := lines[(i+round)%devices]
				_ = w.Link(l, backplane.Monitor)
				if round%3 == 0 {
					_, _ = w.Unlink(l, backplane.Monitor)
				}
			}
			for _, l := range lines { // finally linked to all
				if err := w.Link(l, backplane.Monitor); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	settle(t, a, b)
	for i, d := range devs {
		_ = d.Disconnect(fmt.Errorf("d%d failed", i))
	}
	for _, w := range ws {
		seen := map[backplane.DeviceID]bool{}
		for range devices {
			m, err := w.Receive(ctxFor(t))
			if err != nil {
				t.Fatal(err)
			}
			if seen[m.From()] || m.Fault() == nil || m.Fault().Kind != backplane.FaultError {
				t.Fatalf("%v: %v (seen before: %v)", w.ID(), m, seen[m.From()])
			}
			seen[m.From()] = true
		}
		if m, ok := w.TryReceive(); ok {
			t.Fatalf("extra %v", m)
		}
		w.Drop()
	}
	noneForged(t, a, b)
}

// A node with a Logger reports the end of a session, and the transport's
// details at level Debug.
func TestLogger(t *testing.T) {
	var buf syncBuffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a := start(t, cluster.Config{Name: "a", Logger: logger})
	b := start(t, cluster.Config{Name: "b", URL: a.ClientURL(), Secret: a.Secret()})
	d := backplane.New()
	defer d.Drop()
	l := remote(t, b, a, "d", d)
	w := backplane.New()
	defer w.Drop()
	if err := w.Link(l, backplane.Monitor); err != nil {
		t.Fatal(err)
	}
	_ = b.Close()
	receive(t, w) // a's session with b has ended
	out := buf.String()
	for _, want := range []string{"cluster: session ended", "peer=b/", "unreachable_devices=1", "level=DEBUG", "session up"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
