package backplane_test

// Misuse and error values: nil and zero-value Devices and Lines, self
// links, operations on devices that are gone, bad modes and nil arguments.
// Every failure must be a clear error (a sentinel reached with errors.Is,
// inside a *LinkError or *DeviceError reached with errors.As), never a
// panic.

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/backplane-go/backplane"
)

// errsNoPanic runs f and fails the test if it panics.
func errsNoPanic(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s panicked: %v", what, r)
		}
	}()
	f()
}

// errsWantLink checks that err is sentinel inside a *LinkError of op op.
func errsWantLink(t *testing.T, what string, err, sentinel error, op string) *backplane.LinkError {
	t.Helper()
	var le *backplane.LinkError
	if !errors.Is(err, sentinel) || !errors.As(err, &le) || le.Op != op {
		t.Errorf("%s: got %v, want %v in a *LinkError (op %q)", what, err, sentinel, op)
		return nil
	}
	errsWantText(t, what, err, sentinel)
	return le
}

// errsWantDevice checks that err is sentinel inside a *DeviceError of op op.
func errsWantDevice(t *testing.T, what string, err, sentinel error, op string) *backplane.DeviceError {
	t.Helper()
	var de *backplane.DeviceError
	if !errors.Is(err, sentinel) || !errors.As(err, &de) || de.Op != op {
		t.Errorf("%s: got %v, want %v in a *DeviceError (op %q)", what, err, sentinel, op)
		return nil
	}
	errsWantText(t, what, err, sentinel)
	return de
}

// errsWantText checks that a wrapped error's text starts with the package
// name once, and carries the sentinel's reason.
func errsWantText(t *testing.T, what string, err, sentinel error) {
	t.Helper()
	s := err.Error()
	reason := strings.TrimPrefix(sentinel.Error(), "backplane: ")
	if !strings.HasPrefix(s, "backplane: ") || strings.Count(s, "backplane:") != 1 || !strings.HasSuffix(s, reason) {
		t.Errorf("%s: message %q, want one %q prefix and the reason %q", what, s, "backplane: ", reason)
	}
}

func errsClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func TestErrors_InvalidDeviceEveryMethod(t *testing.T) {
	valid := backplane.New()
	defer valid.Drop()
	ctx := context.Background()
	task := func(context.Context) error { return nil }
	devices := map[string]*backplane.Device{
		"nil":  nil,
		"zero": {},
	}
	for name, d := range devices {
		t.Run(name, func(t *testing.T) {
			errsNoPanic(t, "ID", func() {
				if !d.ID().IsZero() {
					t.Error("ID is not zero")
				}
			})
			errsNoPanic(t, "Name", func() {
				if d.Name() != "" {
					t.Error("Name is not empty")
				}
			})
			errsNoPanic(t, "Line", func() {
				if !d.Line().IsZero() {
					t.Error("Line is not zero")
				}
			})
			errsNoPanic(t, "Alive", func() {
				if d.Alive() {
					t.Error("Alive")
				}
			})
			errsNoPanic(t, "Done", func() {
				if !errsClosed(d.Done()) {
					t.Error("Done is not closed")
				}
			})
			errsNoPanic(t, "Ready", func() {
				if !errsClosed(d.Ready()) {
					t.Error("Ready does not fire")
				}
			})
			errsNoPanic(t, "Fault", func() {
				if faultOf(d) != nil {
					t.Error("Fault is not nil")
				}
			})
			errsNoPanic(t, "Pending", func() {
				if d.Pending() != 0 {
					t.Error("Pending is not 0")
				}
			})
			errsNoPanic(t, "TryReceive", func() {
				if m, ok := d.TryReceive(); ok || m.Kind() != 0 {
					t.Error("TryReceive found a message")
				}
			})
			errsNoPanic(t, "Receive", func() {
				_, err := d.Receive(ctx)
				errsWantDevice(t, "Receive", err, backplane.ErrInvalid, "receive")
			})
			errsNoPanic(t, "Link", func() {
				errsWantLink(t, "Link", d.Link(valid, backplane.Monitor), backplane.ErrInvalid, "link")
				errsWantLink(t, "Link to it", valid.Link(d, backplane.Monitor), backplane.ErrInvalid, "link")
				errsWantLink(t, "Link to itself", d.Link(d, backplane.Peer), backplane.ErrInvalid, "link")
			})
			errsNoPanic(t, "Unlink", func() {
				removed, err := d.Unlink(valid, backplane.Monitor)
				if removed {
					t.Error("Unlink removed something")
				}
				errsWantLink(t, "Unlink", err, backplane.ErrInvalid, "unlink")
				_, err = valid.Unlink(d, backplane.Monitor)
				errsWantLink(t, "Unlink from it", err, backplane.ErrInvalid, "unlink")
			})
			errsNoPanic(t, "UnlinkFlush", func() {
				removed, err := d.UnlinkFlush(valid, backplane.Monitor)
				if removed {
					t.Error("UnlinkFlush removed something")
				}
				errsWantLink(t, "UnlinkFlush", err, backplane.ErrInvalid, "unlink")
			})
			errsNoPanic(t, "Disconnect", func() {
				errsWantDevice(t, "Disconnect", d.Disconnect(nil), backplane.ErrInvalid, "disconnect")
				errsWantDevice(t, "Disconnect(err)", d.Disconnect(errors.New("x")), backplane.ErrInvalid, "disconnect")
			})
			errsNoPanic(t, "Drop", func() { d.Drop(); d.Drop() })
			errsNoPanic(t, "Manage", func() {
				errsWantDevice(t, "Manage", d.Manage(ctx, task), backplane.ErrInvalid, "manage")
			})
			errsNoPanic(t, "PartManage", func() {
				errsWantDevice(t, "PartManage", d.PartManage(ctx, task), backplane.ErrInvalid, "manage")
			})
			errsNoPanic(t, "Watch", func() {
				w, err := backplane.Watch(ctx, d, func(context.Context) (int, error) { return 1, nil })
				if w.Messaged || w.Value != 0 {
					t.Errorf("Watch ran: %+v", w)
				}
				errsWantDevice(t, "Watch", err, backplane.ErrInvalid, "watch")
			})
		})
	}
	if !valid.Alive() || valid.Pending() != 0 {
		t.Fatal("misuse with an invalid device touched the valid one")
	}
}

func TestErrors_ZeroLineEveryMethod(t *testing.T) {
	valid := backplane.New()
	defer valid.Drop()
	var l backplane.Line
	errsNoPanic(t, "zero Line", func() {
		if !l.IsZero() || !l.ID().IsZero() || l.Alive() || l.Line() != l {
			t.Error("the zero Line claims a device")
		}
		if !errsClosed(l.Done()) {
			t.Error("Done is not closed")
		}
		if s := l.String(); s != "line #0" {
			t.Errorf("String = %q", s)
		}
		errsWantLink(t, "Link", l.Link(valid, backplane.Monitor), backplane.ErrInvalid, "link")
		errsWantLink(t, "Link to it", valid.Line().Link(l, backplane.Notify), backplane.ErrInvalid, "link")
		errsWantLink(t, "Link zero to zero", l.Link(l, backplane.Peer), backplane.ErrInvalid, "link")
		removed, err := l.Unlink(valid, backplane.Peer)
		if removed {
			t.Error("Unlink removed something")
		}
		errsWantLink(t, "Unlink", err, backplane.ErrInvalid, "unlink")
		errsWantLink(t, "Shutdown", l.Shutdown(valid.ID()), backplane.ErrInvalid, "shutdown")
		errsWantLink(t, "Kill", l.Kill(valid.ID(), errors.New("why")), backplane.ErrInvalid, "kill")
		errsWantLink(t, "Link(nil)", valid.Link(nil, backplane.Monitor), backplane.ErrInvalid, "link")
	})
	if !valid.Alive() {
		t.Fatal("misuse with the zero Line touched the valid device")
	}
}

func TestErrors_SelfLink(t *testing.T) {
	d := backplane.New()
	defer d.Drop()
	calls := map[string]func() error{
		"Device.Link(Device)": func() error { return d.Link(d, backplane.Monitor) },
		"Device.Link(Line)":   func() error { return d.Link(d.Line(), backplane.Notify) },
		"Line.Link(Device)":   func() error { return d.Line().Link(d, backplane.Peer) },
		"Line.Link(Line)":     func() error { return d.Line().Link(d.Line(), backplane.Peer) },
	}
	for name, call := range calls {
		if le := errsWantLink(t, name, call(), backplane.ErrSelfLink, "link"); le != nil && (le.From != d.ID() || le.To != d.ID()) {
			t.Errorf("%s: error names %v -> %v", name, le.From, le.To)
		}
	}
	_, err := d.Unlink(d, backplane.Peer)
	errsWantLink(t, "Unlink self", err, backplane.ErrSelfLink, "unlink")
	if d.Pending() != 0 || !d.Alive() {
		t.Fatal("a self link changed the device")
	}
}

func TestErrors_DeviceGone(t *testing.T) {
	live, gone := backplane.New(), backplane.New()
	defer live.Drop()
	if err := gone.Disconnect(nil); err != nil {
		t.Fatal(err)
	}
	if le := errsWantLink(t, "link from a gone device", gone.Link(live, backplane.Monitor), backplane.ErrDeviceDown, "link"); le != nil && (le.From != gone.ID() || le.To != live.ID()) {
		t.Errorf("error names %v -> %v", le.From, le.To)
	}
	errsWantLink(t, "link to a gone device", live.Link(gone, backplane.Monitor), backplane.ErrLinkDown, "link")
	errsWantLink(t, "line link to a gone device", live.Line().Link(gone.Line(), backplane.Peer), backplane.ErrLinkDown, "link")

	if de := errsWantDevice(t, "disconnect twice", gone.Disconnect(nil), backplane.ErrDeviceDown, "disconnect"); de != nil && de.Device != gone.ID() {
		t.Errorf("error names %v", de.Device)
	}
	errsWantDevice(t, "disconnect twice with an error", gone.Disconnect(errors.New("late")), backplane.ErrDeviceDown, "disconnect")
	if faultOf(gone) != nil {
		t.Error("a late Disconnect changed the fault")
	}
	errsNoPanic(t, "Drop of a gone device", gone.Drop)

	if le := errsWantLink(t, "shutdown of a gone device", gone.Line().Shutdown(live.ID()), backplane.ErrLinkDown, "shutdown"); le != nil && (le.From != live.ID() || le.To != gone.ID()) {
		t.Errorf("error names %v -> %v", le.From, le.To)
	}
	errsWantLink(t, "kill of a gone device", gone.Line().Kill(live.ID(), nil), backplane.ErrLinkDown, "kill")

	// Unlinking what cannot exist any more is a no-op.
	if removed, err := live.Unlink(gone, backplane.Peer); removed || err != nil {
		t.Errorf("Unlink of a gone device = %v, %v", removed, err)
	}

	ctx := context.Background()
	errsWantDevice(t, "Manage of a gone device", gone.Manage(ctx, func(context.Context) error { return nil }), backplane.ErrDeviceDown, "manage")
	errsWantDevice(t, "PartManage of a gone device", gone.PartManage(ctx, func(context.Context) error { return nil }), backplane.ErrDeviceDown, "manage")
	_, err := backplane.Watch(ctx, gone, func(context.Context) (int, error) { return 0, nil })
	errsWantDevice(t, "Watch of a gone device", err, backplane.ErrDeviceDown, "watch")
	_, err = gone.Receive(ctx)
	errsWantDevice(t, "Receive on a gone, empty device", err, backplane.ErrDeviceDown, "receive")
}

func TestErrors_BadModes(t *testing.T) {
	a, b := backplane.New(), backplane.New()
	defer a.Drop()
	defer b.Drop()
	for _, mode := range []backplane.LinkMode{0, 4, 5, 7, 8, 255} {
		errsWantLink(t, "Link "+mode.String(), a.Link(b, mode), backplane.ErrBadMode, "link")
		errsWantLink(t, "Line.Link "+mode.String(), a.Line().Link(b.Line(), mode), backplane.ErrBadMode, "link")
		_, err := a.Unlink(b, mode)
		errsWantLink(t, "Unlink "+mode.String(), err, backplane.ErrBadMode, "unlink")
		_, err = a.UnlinkFlush(b, mode)
		errsWantLink(t, "UnlinkFlush "+mode.String(), err, backplane.ErrBadMode, "unlink")
		var g backplane.Group
		l, err := g.Spawn(context.Background(), a, mode, func(context.Context) error { return nil })
		errsWantLink(t, "Spawn "+mode.String(), err, backplane.ErrBadMode, "link")
		if !l.IsZero() {
			t.Errorf("failed Spawn returned %v", l)
		}
		g.Wait()
	}
	if a.Pending() != 0 || b.Pending() != 0 {
		t.Fatal("a bad mode left a link behind")
	}
	b.Disconnect(nil)
	if a.Pending() != 0 {
		t.Fatal("a bad mode left a link behind")
	}
}

func TestErrors_NilArgumentsAndBusy(t *testing.T) {
	d := backplane.New()
	defer d.Drop()
	task := func(context.Context) error { return nil }
	var nilCtx context.Context
	errsNoPanic(t, "nil arguments", func() {
		errsWantDevice(t, "Manage(nil ctx)", d.Manage(nilCtx, task), backplane.ErrNilArg, "manage")
		errsWantDevice(t, "Manage(nil task)", d.Manage(context.Background(), nil), backplane.ErrNilArg, "manage")
		errsWantDevice(t, "PartManage(nil task)", d.PartManage(context.Background(), nil), backplane.ErrNilArg, "manage")
		_, err := backplane.Watch[int](nilCtx, d, func(context.Context) (int, error) { return 0, nil })
		errsWantDevice(t, "Watch(nil ctx)", err, backplane.ErrNilArg, "watch")
		_, err = backplane.Watch[int](context.Background(), d, nil)
		errsWantDevice(t, "Watch(nil f)", err, backplane.ErrNilArg, "watch")
		var g backplane.Group
		_, err = g.Spawn(nilCtx, d, backplane.Monitor, task)
		errsWantDevice(t, "Spawn(nil ctx)", err, backplane.ErrNilArg, "spawn")
		_, err = g.Spawn(context.Background(), d, backplane.Monitor, nil)
		errsWantDevice(t, "Spawn(nil task)", err, backplane.ErrNilArg, "spawn")
		_, err = g.Spawn(context.Background(), nil, backplane.Monitor, task)
		errsWantLink(t, "Spawn(nil parent)", err, backplane.ErrInvalid, "link")
		_, err = g.Spawn(context.Background(), backplane.Line{}, backplane.Monitor, task)
		errsWantLink(t, "Spawn(zero parent)", err, backplane.ErrInvalid, "link")
		g.Wait()
	})
	if !d.Alive() || d.Pending() != 0 {
		t.Fatal("nil arguments touched the device")
	}

	// One task at a time.
	err := d.PartManage(context.Background(), func(ctx context.Context) error {
		errsWantDevice(t, "Manage inside Manage", d.Manage(ctx, task), backplane.ErrBusy, "manage")
		errsWantDevice(t, "PartManage inside Manage", d.PartManage(ctx, task), backplane.ErrBusy, "manage")
		_, err := backplane.Watch(ctx, d, func(context.Context) (int, error) { return 0, nil })
		errsWantDevice(t, "Watch inside Manage", err, backplane.ErrBusy, "watch")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = backplane.Watch(context.Background(), d, func(ctx context.Context) (int, error) {
		errsWantDevice(t, "Manage inside Watch", d.Manage(ctx, task), backplane.ErrBusy, "manage")
		_, err := backplane.Watch(ctx, d, func(context.Context) (int, error) { return 0, nil })
		errsWantDevice(t, "Watch inside Watch", err, backplane.ErrBusy, "watch")
		return 0, nil
	})
	if err != nil || !d.Alive() {
		t.Fatalf("Watch = %v, alive %v", err, d.Alive())
	}

	// Spawn from a parent that is gone starts nothing.
	gone := backplane.New()
	gone.Drop()
	var g backplane.Group
	ran := false
	l, err := g.Spawn(context.Background(), gone, backplane.Monitor, func(context.Context) error { ran = true; return nil })
	errsWantLink(t, "Spawn from a gone parent", err, backplane.ErrDeviceDown, "link")
	g.Wait()
	if ran || !l.IsZero() {
		t.Fatal("Spawn from a gone parent ran its task")
	}
}

func TestErrors_ReceiveContext(t *testing.T) {
	d := backplane.New()
	defer d.Drop()
	cause := errors.New("gave up")
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(cause)
	if _, err := d.Receive(ctx); !errors.Is(err, cause) {
		t.Fatalf("Receive with a cancelled context: %v, want its cause", err)
	}
}

// A nil context is a nil value like any other: Manage, PartManage, Watch
// and Spawn answer it with ErrNilArg, and Receive must not panic on it.
func TestErrors_ReceiveNilContext(t *testing.T) {
	d := backplane.New()
	defer d.Drop()
	var nilCtx context.Context
	errsNoPanic(t, "Receive(nil ctx) on a connected, empty device", func() {
		_, err := d.Receive(nilCtx)
		if !errors.Is(err, backplane.ErrNilArg) {
			t.Errorf("Receive(nil ctx) = %v, want ErrNilArg", err)
		}
	})
}

func TestErrors_ErrorValuesNilAndZero(t *testing.T) {
	// The error types must not panic on their zero value or a nil pointer,
	// as Fault and Crash do not: a typed nil inside an error interface is a
	// common accident.
	var nilLink *backplane.LinkError
	var nilDev *backplane.DeviceError
	values := map[string]error{
		"nil *LinkError":    nilLink,
		"zero LinkError":    &backplane.LinkError{},
		"nil *DeviceError":  nilDev,
		"zero DeviceError":  &backplane.DeviceError{},
		"nil *Fault":        (*backplane.Fault)(nil),
		"zero Fault":        &backplane.Fault{},
		"nil *Crash":        (*backplane.Crash)(nil),
		"zero Crash":        &backplane.Crash{},
		"LinkError, no Err": &backplane.LinkError{Op: "link"},
	}
	for name, err := range values {
		errsNoPanic(t, name+".Error", func() {
			if !strings.HasPrefix(err.Error(), "backplane: ") {
				t.Errorf("%s.Error() = %q", name, err.Error())
			}
		})
		errsNoPanic(t, name+" unwrap", func() { _ = errors.Unwrap(err) })
	}
}

func TestErrors_SentinelsDistinct(t *testing.T) {
	sentinels := []error{
		backplane.ErrInvalid, backplane.ErrSelfLink, backplane.ErrDeviceDown,
		backplane.ErrLinkDown, backplane.ErrBadMode, backplane.ErrBusy, backplane.ErrNilArg,
	}
	for i, a := range sentinels {
		if !strings.HasPrefix(a.Error(), "backplane: ") {
			t.Errorf("sentinel %q lacks the package prefix", a)
		}
		for j, b := range sentinels {
			if i != j && (errors.Is(a, b) || a.Error() == b.Error()) {
				t.Errorf("sentinels %q and %q are not distinct", a, b)
			}
		}
	}
}
