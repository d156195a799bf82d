package backplane_test

// The garbage collector's safety net: a *Device that becomes unreachable
// while connected is eventually dropped (FaultDrop), and its watchers are
// told exactly once. The collector is driven with runtime.GC in a loop
// bounded by a deadline; each round waits on the watcher's inbox with a
// short context timeout, so the tests wait on events, not on the clock.

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/internal/bridge"
)

// gcDeadline bounds how long a test drives the collector before it gives up.
const gcDeadline = 20 * time.Second

// gcAwait runs the collector until w receives a message, and returns it.
func gcAwait(t *testing.T, w *backplane.Device) backplane.Message {
	t.Helper()
	deadline := time.Now().Add(gcDeadline)
	for round := 1; ; round++ {
		runtime.GC()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		m, err := w.Receive(ctx)
		cancel()
		switch {
		case err == nil:
			return m
		case !errors.Is(err, context.DeadlineExceeded):
			t.Fatalf("receive: %v", err)
		case time.Now().After(deadline):
			t.Fatalf("no message after %d collections (%v)", round, gcDeadline)
		}
	}
}

// gcWantDrop checks that m tells of the drop of id.
func gcWantDrop(t *testing.T, m backplane.Message, id backplane.DeviceID) {
	t.Helper()
	if m.Kind() != backplane.Disconnected || m.From() != id || m.Fault() == nil || m.Fault().Kind != backplane.FaultDrop {
		t.Fatalf("got %v, want the drop of %v", m, id)
	}
}

// gcAbandon makes a device watched by w and forgets it, keeping only a
// Line. It is not inlined so that no *Device stays in the caller's frame.
//
//go:noinline
func gcAbandon(w *backplane.Device, mode backplane.LinkMode) backplane.Line {
	d := backplane.New(backplane.WithName("abandoned"))
	if err := w.Link(d, mode); err != nil {
		panic(err)
	}
	return d.Line()
}

// gcSettle proves that the collector has run the finalizers of everything
// unreachable so far: it abandons a fresh device and waits for its drop.
func gcSettle(t *testing.T) {
	t.Helper()
	w := backplane.New()
	defer w.Drop()
	l := gcAbandon(w, backplane.Monitor)
	gcWantDrop(t, gcAwait(t, w), l.ID())
}

func TestGC_UnreachableDeviceIsDropped(t *testing.T) {
	w := backplane.New()
	defer w.Drop()
	l := gcAbandon(w, backplane.Monitor)
	gcWantDrop(t, gcAwait(t, w), l.ID())
	if l.Alive() {
		t.Fatal("the dropped device is still alive")
	}
	select {
	case <-l.Done():
	default:
		t.Fatal("Done of the dropped device is open")
	}
	if err := w.Link(l, backplane.Monitor); !errors.Is(err, backplane.ErrLinkDown) {
		t.Fatalf("link to the dropped device: %v", err)
	}
	// Exactly one message, however many more collections run.
	gcSettle(t)
	gcSettle(t)
	if n := w.Pending(); n != 0 {
		t.Fatalf("%d more messages after the drop", n)
	}
}

func TestGC_LinesDoNotKeepDeviceAlive(t *testing.T) {
	// The watcher holds a Line and a Peer link (so the dropped device's
	// state points back at it); many Lines are kept on the side. None of
	// that holds the *Device.
	w := backplane.New()
	defer w.Drop()
	l := gcAbandon(w, backplane.Peer)
	kept := make([]backplane.Line, 100)
	for i := range kept {
		kept[i] = l.Line()
	}
	gcWantDrop(t, gcAwait(t, w), l.ID())
	for _, k := range kept {
		if k.Alive() {
			t.Fatal("a Line kept the device alive")
		}
	}
	if err := l.Shutdown(w.ID()); !errors.Is(err, backplane.ErrLinkDown) {
		t.Fatalf("shutdown through a Line to the dropped device: %v", err)
	}
}

func TestGC_DisconnectedDeviceIsNotDroppedAgain(t *testing.T) {
	w := backplane.New()
	defer w.Drop()
	id := func() backplane.DeviceID {
		d := backplane.New()
		w.Link(d, backplane.Monitor)
		d.Disconnect(nil)
		return d.ID()
	}()
	m, ok := w.TryReceive()
	if !ok || m.From() != id || m.Fault() != nil {
		t.Fatalf("got %v, %v; want a clean disconnect of %v", m, ok, id)
	}
	gcSettle(t)
	gcSettle(t)
	if n := w.Pending(); n != 0 {
		t.Fatalf("the collector told %d more times of a device that had disconnected", n)
	}
}

// gcStartManaged starts a managed device watched by w whose task blocks
// until release is closed, and forgets the *Device: only the goroutine
// running Manage holds it.
//
//go:noinline
func gcStartManaged(w *backplane.Device, release <-chan struct{}, res chan<- error) backplane.Line {
	d := backplane.New(backplane.WithName("managed"))
	if err := w.Link(d, backplane.Monitor); err != nil {
		panic(err)
	}
	started := make(chan struct{})
	go func(d *backplane.Device) {
		res <- d.Manage(context.Background(), func(context.Context) error {
			close(started)
			<-release
			return nil
		})
	}(d)
	<-started
	return d.Line()
}

func TestGC_ManagedDeviceNotDroppedWhileTaskRuns(t *testing.T) {
	w := backplane.New()
	defer w.Drop()
	release := make(chan struct{})
	res := make(chan error, 1)
	l := gcStartManaged(w, release, res)
	// Devices abandoned after it are dropped, so the collector has had
	// every chance to drop it too.
	for range 3 {
		gcSettle(t)
	}
	if !l.Alive() || w.Pending() != 0 {
		t.Fatalf("the device was dropped while its task ran: alive %v, watcher %d messages", l.Alive(), w.Pending())
	}
	close(release)
	timer := time.NewTimer(gcDeadline)
	defer timer.Stop()
	select {
	case err := <-res:
		if err != nil {
			t.Fatalf("Manage = %v", err)
		}
	case <-timer.C:
		t.Fatal("Manage did not return")
	}
	m, ok := w.TryReceive()
	if !ok || m.From() != l.ID() || m.Fault() != nil {
		t.Fatalf("got %v, %v; want the clean end of the managed device", m, ok)
	}
	gcSettle(t)
	if n := w.Pending(); n != 0 {
		t.Fatalf("%d more messages after the managed device ended", n)
	}
}

// gcAbandonAfterPartManage runs a successful PartManage on a device watched
// by w, then forgets it.
//
//go:noinline
func gcAbandonAfterPartManage(t *testing.T, w *backplane.Device) backplane.Line {
	d := backplane.New()
	if err := w.Link(d, backplane.Monitor); err != nil {
		t.Fatal(err)
	}
	if err := d.PartManage(context.Background(), func(context.Context) error { return nil }); err != nil {
		t.Fatal(err)
	}
	return d.Line()
}

func TestGC_DroppedAfterPartManage(t *testing.T) {
	// PartManage leaves the device connected, so the safety net must still
	// be armed for it.
	w := backplane.New()
	defer w.Drop()
	l := gcAbandonAfterPartManage(t, w)
	gcWantDrop(t, gcAwait(t, w), l.ID())
}

// gcAbandonOwned is gcAbandon for a device made with Owned.
//
//go:noinline
func gcAbandonOwned(w *backplane.Device) backplane.Line {
	d := backplane.New(bridge.Owned())
	if err := w.Link(d, backplane.Monitor); err != nil {
		panic(err)
	}
	return d.Line()
}

// TestGC_OwnedDeviceHasNoSafetyNet checks the documented cost of Owned: a
// device made with it and forgotten is never dropped, even after the
// collector has provably run the finalizers of everything unreachable.
func TestGC_OwnedDeviceHasNoSafetyNet(t *testing.T) {
	w := backplane.New()
	defer w.Drop()
	l := gcAbandonOwned(w)
	gcSettle(t)
	gcSettle(t)
	if !l.Alive() || w.Pending() != 0 {
		t.Fatalf("an Owned device was dropped (alive %v, %d messages)", l.Alive(), w.Pending())
	}
	if _, err := w.Unlink(l, backplane.Monitor); err != nil {
		t.Fatal(err)
	}
}

// TestGC_UserCleanupBesideSafetyNet checks what the Device doc promises a
// user who attaches a cleanup of their own to a *Device: it runs, and the
// safety net still drops the device.
func TestGC_UserCleanupBesideSafetyNet(t *testing.T) {
	w := backplane.New()
	defer w.Drop()
	ran := make(chan struct{})
	l := func() backplane.Line {
		d := backplane.New()
		if err := w.Link(d, backplane.Monitor); err != nil {
			t.Fatal(err)
		}
		runtime.AddCleanup(d, func(ch chan struct{}) { close(ch) }, ran)
		return d.Line()
	}()
	gcWantDrop(t, gcAwait(t, w), l.ID())
	deadline := time.Now().Add(gcDeadline)
	for {
		select {
		case <-ran:
			return
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the user's cleanup never ran")
		}
		runtime.GC()
		runtime.Gosched()
	}
}

// The safety net is armed lazily, the first time anyone but the handle's
// holder can observe the device (see Device). Each test below exposes a
// device in one way only and forgets it: the exposure must have armed the
// net, or the device is never dropped.

// gcAwaitDone runs the collector until done is closed.
func gcAwaitDone(t *testing.T, done <-chan struct{}) {
	t.Helper()
	deadline := time.Now().Add(gcDeadline)
	for round := 1; ; round++ {
		runtime.GC()
		select {
		case <-done:
			return
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("not dropped after %d collections (%v)", round, gcDeadline)
		}
	}
}

// gcAbandonExposed makes a device, lets expose expose it once, and forgets
// it, returning only its ID.
//
//go:noinline
func gcAbandonExposed(expose func(d *backplane.Device)) backplane.DeviceID {
	d := backplane.New()
	expose(d)
	return d.ID()
}

func TestGC_LazyNetArmedByEachExposure(t *testing.T) {
	for _, tc := range []struct {
		name string
		// link exposes d to w, or is nil for the cases that wait on Done.
		link func(w, d *backplane.Device) error
	}{
		{"watcher links the *Device", func(w, d *backplane.Device) error { return w.Link(d, backplane.Monitor) }},
		{"watcher is a peer of the *Device", func(w, d *backplane.Device) error { return w.Link(d, backplane.Peer) }},
		{"device links itself Notify", func(w, d *backplane.Device) error { return d.Link(w, backplane.Notify) }},
		{"device links itself Peer", func(w, d *backplane.Device) error { return d.Link(w, backplane.Peer) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := backplane.New()
			defer w.Drop()
			id := gcAbandonExposed(func(d *backplane.Device) {
				if err := tc.link(w, d); err != nil {
					t.Fatal(err)
				}
			})
			gcWantDrop(t, gcAwait(t, w), id)
		})
	}
	for _, tc := range []struct {
		name   string
		expose func(d *backplane.Device, out chan<- backplane.Line)
	}{
		{"a Line", func(d *backplane.Device, out chan<- backplane.Line) { out <- d.Line() }},
		{"LineOf in Watch", func(d *backplane.Device, out chan<- backplane.Line) {
			_, err := backplane.Watch(context.Background(), d, func(ctx context.Context) (int, error) {
				l, _ := backplane.LineOf(ctx)
				out <- l
				return 0, nil
			})
			if err != nil {
				panic(err)
			}
		}},
		{"LineOf in PartManage", func(d *backplane.Device, out chan<- backplane.Line) {
			err := d.PartManage(context.Background(), func(ctx context.Context) error {
				l, _ := backplane.LineOf(ctx)
				out <- l
				return nil
			})
			if err != nil {
				panic(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := make(chan backplane.Line, 1)
			gcAbandonExposed(func(d *backplane.Device) { tc.expose(d, out) })
			l := <-out
			gcAwaitDone(t, l.Done())
			if l.Alive() {
				t.Fatal("the dropped device is still alive")
			}
		})
	}
}
