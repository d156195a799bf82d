package backplane_test

// Bad inputs seen in trial programs: each gets a documented answer, never a
// nil dereference, and a message with the package's prefix exactly once.

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/backplane-go/backplane"
)

// TestNewNilOption: New ignores a nil Option instead of dereferencing it,
// and so does Group.Spawn.
func TestNewNilOption(t *testing.T) {
	d := backplane.New(nil)
	defer d.Drop()
	if !d.Alive() || d.Name() != "" {
		t.Fatalf("New(nil): alive %v, name %q", d.Alive(), d.Name())
	}
	n := backplane.New(nil, backplane.WithName("x"), nil)
	defer n.Drop()
	if n.Name() != "x" {
		t.Fatalf("New(nil, WithName(x), nil).Name() = %q", n.Name())
	}
	var g backplane.Group
	l, err := g.Spawn(context.Background(), d, backplane.Monitor, func(context.Context) error { return nil }, nil)
	if err != nil || l.IsZero() {
		t.Fatalf("Spawn with a nil option: %v, %v", l, err)
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
}

// TestDisconnectBadFault: a Fault of no valid kind is refused, and the
// device stays connected, its watchers untold.
func TestDisconnectBadFault(t *testing.T) {
	for _, f := range []*backplane.Fault{{}, {Kind: 200}, {Kind: backplane.FaultUnreachable + 1, Err: errors.New("x")}} {
		w, d := backplane.New(), backplane.New()
		if err := w.Link(d, backplane.Monitor); err != nil {
			t.Fatal(err)
		}
		err := d.Disconnect(f)
		var de *backplane.DeviceError
		if !errors.Is(err, backplane.ErrBadFault) || !errors.As(err, &de) || de.Device != d.ID() || de.Op != "disconnect" {
			t.Fatalf("Disconnect(%#v) = %v, want a *DeviceError naming %v with ErrBadFault", f, err, d.ID())
		}
		if !d.Alive() || w.Pending() != 0 {
			t.Fatalf("after a refused Disconnect: alive %v, watcher holds %d messages", d.Alive(), w.Pending())
		}
		if err := d.Disconnect(errors.New("real")); err != nil {
			t.Fatal(err)
		}
		if m, ok := w.TryReceive(); !ok || m.Fault() == nil || m.Fault().Kind != backplane.FaultError {
			t.Fatalf("watcher got %v, %v; want the real fault", m, ok)
		}
		w.Drop()
	}
	// A nil *Fault is a clean disconnect, as documented.
	d := backplane.New()
	if err := d.Disconnect((*backplane.Fault)(nil)); err != nil || d.Fault() != nil {
		t.Fatalf("Disconnect of a nil *Fault: %v, fault %v", err, d.Fault())
	}
}

// TestDeviceFaultIsNilError: Device.Fault returns an error whose nil is a
// nil error, while the device is connected and after a clean end, and the
// *Fault the watchers were told otherwise.
func TestDeviceFaultIsNilError(t *testing.T) {
	d := backplane.New()
	//lint:ignore ST1023 the declared type is the test: a typed nil would be a non-nil error
	var err error = d.Fault()
	if err != nil {
		t.Fatalf("Fault() of a live device = %#v, want a nil error", err)
	}
	_ = d.Disconnect(nil)
	if err = d.Fault(); err != nil {
		t.Fatalf("Fault() after a clean disconnect = %#v, want a nil error", err)
	}
	if err = (*backplane.Device)(nil).Fault(); err != nil {
		t.Fatalf("Fault() of a nil *Device = %#v, want a nil error", err)
	}

	w, f := backplane.New(), backplane.New()
	defer w.Drop()
	_ = w.Link(f, backplane.Monitor)
	_ = f.Disconnect(errors.New("boom"))
	m, _ := w.TryReceive()
	var got *backplane.Fault
	if !errors.As(f.Fault(), &got) || got != m.Fault() || got.Kind != backplane.FaultError {
		t.Fatalf("Fault() = %v, want the *Fault the watcher was told, %v", f.Fault(), m.Fault())
	}
}

// TestMessagesPrefixedOnce: every message of the package starts with
// "backplane: " and says it once, also when one of its errors wraps
// another of its errors, and names no device "#0".
func TestMessagesPrefixedOnce(t *testing.T) {
	ctx := context.Background()
	d := backplane.New()
	defer d.Drop()
	errs := map[string]error{}
	errs["manage nil task"] = d.Manage(ctx, nil)
	errs["manage invalid"] = (*backplane.Device)(nil).Manage(ctx, func(context.Context) error { return nil })
	var g backplane.Group
	_, errs["spawn nil task"] = g.Spawn(ctx, d, backplane.Monitor, nil)
	errs["receive invalid"] = func() error { _, err := (*backplane.Device)(nil).Receive(ctx); return err }()
	errs["link of zero lines"] = backplane.Line{}.Link(backplane.Line{}, backplane.Monitor)
	errs["shutdown of the zero line"] = backplane.Line{}.Shutdown(backplane.DeviceID{})

	// A task that returns an error of this package.
	gone := backplane.New()
	_ = gone.Disconnect(nil)
	_, recvErr := gone.Receive(ctx)
	t1 := backplane.New()
	errs["task error wrapping a backplane error"] = t1.Manage(ctx, func(context.Context) error { return recvErr })
	errs["its fault"] = t1.Fault()
	// A task that panics with an error of this package.
	t2 := backplane.New()
	errs["task panic with a backplane error"] = t2.Manage(ctx, func(context.Context) error { panic(backplane.ErrBusy) })
	// A killed device whose reason is an error of this package.
	t3 := backplane.New()
	_ = t3.Line().Kill(backplane.DeviceID{}, backplane.ErrLinkDown)
	errs["kill reason"] = t3.Fault()

	for name, err := range errs {
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "backplane: ") || strings.Count(msg, "backplane:") != 1 || strings.Contains(msg, "#0") {
			t.Errorf("%s: message %q: want the prefix \"backplane: \" once and no #0", name, msg)
		}
	}
	if got, want := errs["manage nil task"].Error(), "backplane: manage "+d.ID().String()+": nil context or task"; got != want {
		t.Errorf("message %q, want %q", got, want)
	}
	if got, want := errs["manage invalid"].Error(), "backplane: manage: nil or zero-value Device or Line"; got != want {
		t.Errorf("message %q, want %q", got, want)
	}
}
