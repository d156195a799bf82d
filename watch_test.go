package backplane_test

import (
	"context"
	"errors"
	"testing"

	"github.com/backplane-go/backplane"
)

// Tests of Watch (rule 15 of SEMANTICS.md), beyond the seed matrix of
// seed_test.go.

var errWtF = errors.New("f failed")

// wtWantMessage checks that a Watch outcome is the message from `from` of the given
// kind and fault, with no error.
func wtWantMessage(t *testing.T, w backplane.Watched[int], err error, kind backplane.MessageKind, from backplane.DeviceID, fault *backplane.Fault) {
	t.Helper()
	if err != nil {
		t.Fatalf("Watch error = %v, want nil", err)
	}
	if !w.Messaged {
		t.Fatalf("Watch returned value %d, want a message", w.Value)
	}
	if m := w.Message; m.Kind() != kind || m.From() != from || m.Fault() != fault {
		t.Errorf("Watch returned %v (fault %p), want %v from %v with fault %p", m, m.Fault(), kind, from, fault)
	}
	if w.Value != 0 {
		t.Errorf("Watched.Value = %d beside a message, want 0", w.Value)
	}
}

func TestWatchResult(t *testing.T) {
	tests := []struct {
		name    string
		value   int
		err     error
		wantErr error
	}{
		{"value", 7, nil, nil},
		{"value and error", 8, errWtF, errWtF},
		{"zero value and error", 0, errWtF, errWtF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := seedWatchdog(t)
			d := seedNew(t)
			w, err := backplane.Watch(ctx, d, func(context.Context) (int, error) { return tt.value, tt.err })
			if err != tt.wantErr {
				t.Errorf("Watch error = %v, want %v itself", err, tt.wantErr)
			}
			if w.Messaged || w.Value != tt.value {
				t.Errorf("Watch = %+v, want value %d and no message", w, tt.value)
			}
			if !d.Alive() || d.Pending() != 0 {
				t.Errorf("Alive = %v, Pending = %d; want true, 0", d.Alive(), d.Pending())
			}
		})
	}

	t.Run("generic over the value type", func(t *testing.T) {
		ctx := seedWatchdog(t)
		d := seedNew(t)
		type pair struct{ a, b string }
		w, err := backplane.Watch(ctx, d, func(context.Context) (pair, error) { return pair{"x", "y"}, nil })
		if err != nil || w.Messaged || w.Value != (pair{"x", "y"}) {
			t.Errorf("Watch = %+v, %v", w, err)
		}
	})
}

func TestWatchMessage(t *testing.T) {
	t.Run("queued message is returned without running f", func(t *testing.T) {
		ctx := seedWatchdog(t)
		d, f := seedNew(t), seedNew(t)
		if err := d.Link(f, backplane.Monitor); err != nil {
			t.Fatal(err)
		}
		if err := f.Disconnect(errWtF); err != nil {
			t.Fatal(err)
		}
		ran := false
		w, err := backplane.Watch(ctx, d, func(context.Context) (int, error) { ran = true; return 1, nil })
		wtWantMessage(t, w, err, backplane.Disconnected, f.ID(), faultOf(f))
		if ran {
			t.Errorf("f ran although a message was queued")
		}
		if !d.Alive() || d.Pending() != 0 {
			t.Errorf("Alive = %v, Pending = %d; want true, 0: Watch never cascades", d.Alive(), d.Pending())
		}
	})

	t.Run("queued shutdown is returned, not obeyed", func(t *testing.T) {
		ctx := seedWatchdog(t)
		d, r := seedNew(t), seedNew(t)
		if err := d.Line().Shutdown(r.ID()); err != nil {
			t.Fatal(err)
		}
		ran := false
		w, err := backplane.Watch(ctx, d, func(context.Context) (int, error) { ran = true; return 1, nil })
		wtWantMessage(t, w, err, backplane.Shutdown, r.ID(), nil)
		if ran || !d.Alive() {
			t.Errorf("ran = %v, Alive = %v; want false, true", ran, d.Alive())
		}
	})

	t.Run("queued messages come one per Watch, in order", func(t *testing.T) {
		// Rule 9: one sender's shutdown request, then its disconnect.
		ctx := seedWatchdog(t)
		d, f := seedNew(t), seedNew(t)
		if err := d.Link(f, backplane.Monitor); err != nil {
			t.Fatal(err)
		}
		if err := d.Line().Shutdown(f.ID()); err != nil {
			t.Fatal(err)
		}
		f.Drop()
		never := func(context.Context) (int, error) { t.Error("f ran"); return 0, nil }
		w, err := backplane.Watch(ctx, d, never)
		wtWantMessage(t, w, err, backplane.Shutdown, f.ID(), nil)
		w, err = backplane.Watch(ctx, d, never)
		wtWantMessage(t, w, err, backplane.Disconnected, f.ID(), faultOf(f))
		w, err = backplane.Watch(ctx, d, func(context.Context) (int, error) { return 3, nil })
		if err != nil || w.Messaged || w.Value != 3 {
			t.Errorf("third Watch = %+v, %v; want value 3", w, err)
		}
	})

	t.Run("a message wins a tie", func(t *testing.T) {
		// f makes a message arrive and returns at once, without looking at
		// its context: both are ready when Watch looks.
		triggers := map[string]func(d, other *backplane.Device){
			"disconnect": func(_, other *backplane.Device) { _ = other.Disconnect(nil) },
			"shutdown":   func(d, other *backplane.Device) { _ = d.Line().Shutdown(other.ID()) },
		}
		for name, trigger := range triggers {
			t.Run(name, func(t *testing.T) {
				ctx := seedWatchdog(t)
				d, other := seedNew(t), seedNew(t)
				if err := d.Link(other, backplane.Monitor); err != nil {
					t.Fatal(err)
				}
				w, err := backplane.Watch(ctx, d, func(context.Context) (int, error) {
					trigger(d, other)
					return 9, errWtF
				})
				want := backplane.Shutdown
				if name == "disconnect" {
					want = backplane.Disconnected
				}
				wtWantMessage(t, w, err, want, other.ID(), nil)
				if d.Pending() != 0 || !d.Alive() {
					t.Errorf("Pending = %d, Alive = %v; want 0, true", d.Pending(), d.Alive())
				}
			})
		}
	})

	t.Run("f's context is cancelled when a message arrives", func(t *testing.T) {
		ctx := seedWatchdog(t)
		d, f := seedNew(t), seedNew(t)
		if err := d.Line().Link(f.Line(), backplane.Peer); err != nil {
			t.Fatal(err)
		}
		started := make(chan struct{})
		type outcome struct {
			w     backplane.Watched[int]
			err   error
			cause error
		}
		res := make(chan outcome, 1)
		exited := make(chan struct{})
		go func() {
			defer close(exited)
			var cause error
			w, err := backplane.Watch(ctx, d, func(ctx context.Context) (int, error) {
				close(started)
				<-ctx.Done()
				cause = context.Cause(ctx)
				return 0, ctx.Err()
			})
			res <- outcome{w, err, cause}
		}()
		t.Cleanup(func() { <-exited })
		mngWait(t, ctx, started, "f to start")
		if err := f.Disconnect(errWtF); err != nil {
			t.Fatal(err)
		}
		out := mngWait(t, ctx, res, "Watch")
		wtWantMessage(t, out.w, out.err, backplane.Disconnected, f.ID(), faultOf(f))
		if out.cause == nil {
			t.Errorf("context.Cause(ctx) inside f = nil, want the reason it was cancelled")
		}
		if ctx.Err() != nil {
			t.Errorf("the caller's context was cancelled too: %v", ctx.Err())
		}
		if !d.Alive() {
			t.Errorf("the watching device went down: Watch must not cascade")
		}
	})
}

func TestWatchPanic(t *testing.T) {
	t.Run("returned as a Crash, the message stays queued", func(t *testing.T) {
		ctx := seedWatchdog(t)
		d, r := seedNew(t), seedNew(t)
		o := mngMonitor(t, d)
		w, err := backplane.Watch(ctx, d, func(context.Context) (int, error) {
			if err := d.Line().Shutdown(r.ID()); err != nil {
				return 0, err
			}
			mngPanicker(errWtF)
			return 1, nil
		})
		c := seedCrash(t, err)
		if c.Kind != backplane.CrashPanic || c.Fault == nil || c.Fault.Kind != backplane.FaultPanic ||
			c.Fault.Value != errWtF || len(c.Fault.Stack) == 0 {
			t.Fatalf("crash = %+v, want CrashPanic with the value and a stack", c)
		}
		if !errors.Is(err, errWtF) {
			t.Errorf("errors.Is(crash, panic value) = false")
		}
		if w.Messaged || w.Value != 0 {
			t.Errorf("Watched = %+v beside a crash, want the zero value", w)
		}
		if !d.Alive() || faultOf(d) != nil || o.Pending() != 0 {
			t.Errorf("Alive = %v, Fault = %v, observer holds %d: Watch must not disconnect", d.Alive(), faultOf(d), o.Pending())
		}
		if n := d.Pending(); n != 1 {
			t.Fatalf("Pending = %d, want the shutdown still queued", n)
		}
		// The device is idle again: the next Watch returns the message.
		w, err = backplane.Watch(ctx, d, func(context.Context) (int, error) { return 2, nil })
		wtWantMessage(t, w, err, backplane.Shutdown, r.ID(), nil)
	})

	t.Run("the device can be managed afterwards", func(t *testing.T) {
		ctx := seedWatchdog(t)
		d := seedNew(t)
		if _, err := backplane.Watch(ctx, d, func(context.Context) (int, error) { mngPanicker("x"); return 0, nil }); err == nil {
			t.Fatal("Watch = nil error after a panic")
		}
		if err := d.Manage(ctx, func(context.Context) error { return nil }); err != nil {
			t.Errorf("Manage after a panicking Watch = %v, want nil", err)
		}
	})
}

func TestWatchMisuse(t *testing.T) {
	f := func(context.Context) (int, error) { return 1, nil }

	t.Run("ErrBusy inside a Watch and inside a Manage", func(t *testing.T) {
		ctx := seedWatchdog(t)
		d := seedNew(t)
		var inWatch, inManage error
		if _, err := backplane.Watch(ctx, d, func(ctx context.Context) (int, error) {
			_, inWatch = backplane.Watch(ctx, d, f)
			return 0, nil
		}); err != nil {
			t.Fatal(err)
		}
		if err := d.Manage(ctx, func(ctx context.Context) error {
			_, inManage = backplane.Watch(ctx, d, f)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		for name, err := range map[string]error{"Watch in Watch": inWatch, "Watch in Manage": inManage} {
			var de *backplane.DeviceError
			if !errors.Is(err, backplane.ErrBusy) || !errors.As(err, &de) || de.Op != "watch" || de.Device != d.ID() {
				t.Errorf("%s = %v, want a watch *DeviceError with ErrBusy", name, err)
			}
		}
	})

	t.Run("ErrBusy from another goroutine", func(t *testing.T) {
		ctx := seedWatchdog(t)
		d := seedNew(t)
		started, release := make(chan struct{}), make(chan struct{})
		res := make(chan error, 1)
		go func() {
			_, err := backplane.Watch(ctx, d, func(context.Context) (int, error) {
				close(started)
				<-release
				return 0, nil
			})
			res <- err
		}()
		mngWait(t, ctx, started, "f to start")
		_, err := backplane.Watch(ctx, d, f)
		close(release)
		if !errors.Is(err, backplane.ErrBusy) {
			t.Errorf("concurrent Watch = %v, want ErrBusy", err)
		}
		if err := mngWait(t, ctx, res, "Watch"); err != nil {
			t.Errorf("first Watch = %v", err)
		}
	})

	t.Run("ErrDeviceDown", func(t *testing.T) {
		ctx := seedWatchdog(t)
		d := seedNew(t)
		d.Drop()
		ran := false
		if _, err := backplane.Watch(ctx, d, func(context.Context) (int, error) { ran = true; return 0, nil }); !errors.Is(err, backplane.ErrDeviceDown) {
			t.Errorf("Watch on a dropped device = %v, want ErrDeviceDown", err)
		}
		if ran {
			t.Errorf("f ran on a dead device")
		}
	})

	t.Run("ErrNilArg", func(t *testing.T) {
		ctx := seedWatchdog(t)
		d := seedNew(t)
		var nilCtx context.Context
		if _, err := backplane.Watch(nilCtx, d, f); !errors.Is(err, backplane.ErrNilArg) {
			t.Errorf("nil ctx: %v, want ErrNilArg", err)
		}
		if _, err := backplane.Watch[int](ctx, d, nil); !errors.Is(err, backplane.ErrNilArg) {
			t.Errorf("nil f: %v, want ErrNilArg", err)
		}
		if w, err := backplane.Watch(ctx, d, f); err != nil || w.Value != 1 {
			t.Errorf("Watch after refused calls = %+v, %v", w, err)
		}
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		ctx := seedWatchdog(t)
		for name, d := range map[string]*backplane.Device{"nil": nil, "zero": {}} {
			if _, err := backplane.Watch(ctx, d, f); !errors.Is(err, backplane.ErrInvalid) {
				t.Errorf("%s device: %v, want ErrInvalid", name, err)
			}
		}
	})
}

// TestWatchKeepsReadyArmed checks that taking a queued message with Watch
// leaves Ready armed while messages remain, as TryReceive, Receive and
// Watch's own later pop do: a loop that selects on Ready and then calls
// Watch must not sleep beside a non-empty inbox.
func TestWatchKeepsReadyArmed(t *testing.T) {
	ctx := seedWatchdog(t)
	d, a, b := seedNew(t), seedNew(t), seedNew(t)
	for _, o := range []*backplane.Device{a, b} {
		if err := d.Link(o, backplane.Monitor); err != nil {
			t.Fatal(err)
		}
		o.Drop()
	}
	mngWait(t, ctx, d.Ready(), "Ready with two messages queued")
	w, err := backplane.Watch(ctx, d, func(context.Context) (int, error) { return 0, nil })
	wtWantMessage(t, w, err, backplane.Disconnected, a.ID(), faultOf(a))
	select {
	case <-d.Ready():
	default:
		t.Errorf("Ready is not armed although %d message(s) remain queued", d.Pending())
	}
}
