package backplane_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/backplane-go/backplane"
)

// Tests of Device.Manage, Device.PartManage and Group.Spawn (rules 16 to 18
// of SEMANTICS.md), beyond the seed matrix of seed_test.go.

var errMngTask = errors.New("disk full")

// mngPanicker panics with v; its name shows up in the recorded stack.
func mngPanicker(v any) { panic(v) }

// mngMonitor makes a device that monitors d and is dropped with the test.
func mngMonitor(t *testing.T, d *backplane.Device) *backplane.Device {
	t.Helper()
	o := seedNew(t)
	if err := o.Link(d, backplane.Monitor); err != nil {
		t.Fatalf("link observer: %v", err)
	}
	return o
}

// mngWantDisconnected checks that o holds exactly one message: d's
// disconnect with the very fault d went down with.
func mngWantDisconnected(t *testing.T, o, d *backplane.Device) backplane.Message {
	t.Helper()
	m := seedOne(t, o)
	if m.Kind() != backplane.Disconnected || m.From() != d.ID() {
		t.Fatalf("observer got %v, want disconnected %v", m, d.ID())
	}
	if m.Fault() != faultOf(d) {
		t.Errorf("observer's fault %v (%p) is not the device's own fault %v (%p)", m.Fault(), m.Fault(), faultOf(d), d.Fault())
	}
	return m
}

// mngGo runs Manage (or PartManage) in a goroutine the test waits for, and
// returns the channel its result arrives on.
func mngGo(t *testing.T, ctx context.Context, run func(context.Context, func(context.Context) error) error, task func(context.Context) error) <-chan error {
	t.Helper()
	res := make(chan error, 1)
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		res <- run(ctx, task)
	}()
	t.Cleanup(func() { <-exited })
	return res
}

// mngWait waits for a result, or fails the test when the watchdog fires.
func mngWait[T any](t *testing.T, ctx context.Context, c <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-ctx.Done():
		t.Fatalf("timed out waiting for %s", what)
		var zero T
		return zero
	}
}

func TestManageOutcomes(t *testing.T) {
	t.Run("task returns nil: clean disconnect, nil", func(t *testing.T) {
		ctx := seedWatchdog(t)
		m := seedNew(t)
		o := mngMonitor(t, m)
		ran := false
		if err := m.Manage(ctx, func(context.Context) error { ran = true; return nil }); err != nil {
			t.Fatalf("Manage = %v, want nil", err)
		}
		if !ran || m.Alive() || faultOf(m) != nil {
			t.Errorf("ran = %v, Alive = %v, Fault = %v; want true, false, nil", ran, m.Alive(), faultOf(m))
		}
		if msg := mngWantDisconnected(t, o, m); msg.Fault() != nil {
			t.Errorf("observer got %v, want a clean disconnect", msg)
		}
	})

	t.Run("task returns an error: FaultError, CrashError", func(t *testing.T) {
		ctx := seedWatchdog(t)
		m := seedNew(t)
		o := mngMonitor(t, m)
		err := m.Manage(ctx, func(context.Context) error { return errMngTask })
		c := seedCrash(t, err)
		if c.Kind != backplane.CrashError || !c.Device.IsZero() || c.Fault == nil ||
			c.Fault.Kind != backplane.FaultError || c.Fault.Err != errMngTask {
			t.Fatalf("crash = %+v, want CrashError carrying a FaultError with the task's error", c)
		}
		if !errors.Is(err, errMngTask) {
			t.Errorf("errors.Is(crash, task error) = false")
		}
		if m.Alive() || faultOf(m) != c.Fault {
			t.Errorf("Alive = %v, Fault = %p; want false, the crash's fault %p", m.Alive(), faultOf(m), c.Fault)
		}
		if !strings.Contains(c.Error(), "disk full") {
			t.Errorf("Crash.Error() = %q does not mention the task's error", c.Error())
		}
		mngWantDisconnected(t, o, m)
	})

	t.Run("task panics: FaultPanic with value and stack", func(t *testing.T) {
		ctx := seedWatchdog(t)
		m := seedNew(t)
		o := mngMonitor(t, m)
		err := m.Manage(ctx, func(context.Context) error { mngPanicker("kaboom"); return nil })
		c := seedCrash(t, err)
		if c.Kind != backplane.CrashPanic || c.Fault == nil || c.Fault.Kind != backplane.FaultPanic {
			t.Fatalf("crash = %+v, want CrashPanic with a FaultPanic", c)
		}
		if c.Fault.Value != "kaboom" {
			t.Errorf("Fault.Value = %#v, want \"kaboom\"", c.Fault.Value)
		}
		if !bytes.Contains(c.Fault.Stack, []byte("mngPanicker")) {
			t.Errorf("Fault.Stack does not show the panicking function:\n%s", c.Fault.Stack)
		}
		if !errors.Is(err, &backplane.Fault{Kind: backplane.FaultPanic}) {
			t.Errorf("errors.Is(crash, panic fault) = false")
		}
		if errors.Unwrap(c.Fault) != nil {
			t.Errorf("a panic with a non-error value unwraps to %v, want nil", errors.Unwrap(c.Fault))
		}
		if m.Alive() || faultOf(m) != c.Fault {
			t.Errorf("Alive = %v, Fault = %p; want false, the crash's fault %p", m.Alive(), faultOf(m), c.Fault)
		}
		mngWantDisconnected(t, o, m)
	})

	t.Run("task panics with an error: errors.Is reaches it", func(t *testing.T) {
		ctx := seedWatchdog(t)
		m := seedNew(t)
		o := mngMonitor(t, m)
		pv := fmt.Errorf("wrapped: %w", errMngTask)
		err := m.Manage(ctx, func(context.Context) error { mngPanicker(pv); return nil })
		c := seedCrash(t, err)
		if c.Kind != backplane.CrashPanic || c.Fault.Value != pv {
			t.Fatalf("crash = %+v, want CrashPanic with the panic value", c)
		}
		if !errors.Is(err, errMngTask) {
			t.Errorf("errors.Is(crash, error inside the panic value) = false")
		}
		var f *backplane.Fault
		if !errors.As(err, &f) || f.Kind != backplane.FaultPanic {
			t.Errorf("errors.As(crash, *Fault) = %v, want the panic fault", f)
		}
		mngWantDisconnected(t, o, m)
	})

	t.Run("task calls runtime.Goexit: FaultPanic, Manage never returns", func(t *testing.T) {
		m := seedNew(t)
		o := mngMonitor(t, m)
		exited := make(chan struct{})
		returned := false
		go func() {
			defer close(exited)
			_ = m.Manage(t.Context(), func(context.Context) error {
				runtime.Goexit()
				return nil
			})
			returned = true
		}()
		<-exited
		if returned {
			t.Fatalf("Manage returned after its task called runtime.Goexit")
		}
		f := faultOf(m)
		if m.Alive() || f == nil || f.Kind != backplane.FaultPanic {
			t.Fatalf("Alive = %v, Fault = %v; want false, a FaultPanic", m.Alive(), f)
		}
		if err, ok := f.Value.(error); !ok || !strings.Contains(err.Error(), "Goexit") || !errors.Is(f, err) {
			t.Errorf("Fault.Value = %#v, want an error naming runtime.Goexit that the fault unwraps to", f.Value)
		}
		if len(f.Stack) == 0 {
			t.Errorf("Fault.Stack is empty")
		}
		mngWantDisconnected(t, o, m)
	})
}

func TestManageShutdown(t *testing.T) {
	t.Run("from another goroutine: CrashPowerOff naming the requester", func(t *testing.T) {
		ctx := seedWatchdog(t)
		m, r := seedNew(t), seedNew(t)
		o := mngMonitor(t, m)
		started := make(chan struct{})
		var cause error
		res := mngGo(t, ctx, m.Manage, func(ctx context.Context) error {
			close(started)
			<-ctx.Done()
			cause = context.Cause(ctx)
			return errSeedIgnored
		})
		mngWait(t, ctx, started, "the task to start")
		if err := m.Line().Shutdown(r.ID()); err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
		err := mngWait(t, ctx, res, "Manage")
		c := seedCrash(t, err)
		if c.Kind != backplane.CrashPowerOff || c.Device != r.ID() || c.Fault != nil {
			t.Fatalf("crash = %+v, want CrashPowerOff from %v without a fault", c, r.ID())
		}
		if errors.Unwrap(c) != nil || errors.Is(err, errSeedIgnored) {
			t.Errorf("a power off unwraps to %v, want nil", errors.Unwrap(c))
		}
		if cc := seedCrash(t, cause); cc != c {
			t.Errorf("context.Cause(ctx) = %v, want the returned crash", cause)
		}
		if m.Alive() || faultOf(m) != nil {
			t.Errorf("Alive = %v, Fault = %v; want a clean disconnect", m.Alive(), faultOf(m))
		}
		mngWantDisconnected(t, o, m)
		if err := m.Line().Shutdown(r.ID()); !errors.Is(err, backplane.ErrLinkDown) {
			t.Errorf("Shutdown of a device that is down = %v, want ErrLinkDown", err)
		}
	})

	t.Run("watchers are told before the task returns", func(t *testing.T) {
		ctx := seedWatchdog(t)
		m := seedNew(t)
		o := mngMonitor(t, m)
		started, release := make(chan struct{}), make(chan struct{})
		res := mngGo(t, ctx, m.Manage, func(ctx context.Context) error {
			close(started)
			<-release // a task that does not honour its context (yet)
			return nil
		})
		mngWait(t, ctx, started, "the task to start")
		if err := m.Line().Shutdown(backplane.DeviceID{}); err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
		msg, err := o.Receive(ctx)
		if err != nil {
			t.Fatalf("observer: %v while the task still runs", err)
		}
		if msg.Kind() != backplane.Disconnected || msg.From() != m.ID() || msg.Fault() != nil {
			t.Errorf("observer got %v, want a clean disconnect of %v", msg, m.ID())
		}
		if m.Alive() {
			t.Errorf("device alive after a shutdown, while its task still runs")
		}
		close(release)
		c := seedCrash(t, mngWait(t, ctx, res, "Manage"))
		if c.Kind != backplane.CrashPowerOff || !c.Device.IsZero() {
			t.Errorf("crash = %+v, want CrashPowerOff from outside (#0)", c)
		}
	})
}

func TestManageCascade(t *testing.T) {
	t.Run("faulted dependency: watchers told at once, task cancelled with the crash", func(t *testing.T) {
		ctx := seedWatchdog(t)
		m, f := seedNew(t), seedNew(t)
		o := mngMonitor(t, m)
		if err := m.Link(f, backplane.Monitor); err != nil {
			t.Fatal(err)
		}
		started, release := make(chan struct{}), make(chan struct{})
		var cause error
		res := mngGo(t, ctx, m.Manage, func(ctx context.Context) error {
			close(started)
			<-release
			cause = context.Cause(ctx)
			return nil // the task claims success; the cascade stands
		})
		mngWait(t, ctx, started, "the task to start")
		if err := f.Disconnect(errMngTask); err != nil {
			t.Fatal(err)
		}
		// Rule 17: propagation never waits on user code.
		msg, err := o.Receive(ctx)
		if err != nil {
			t.Fatalf("observer: %v while the task still runs", err)
		}
		if msg.From() != m.ID() || msg.Fault() == nil || msg.Fault().Kind != backplane.FaultCascade ||
			msg.Fault().Device != f.ID() || msg.Fault().Cause != faultOf(f) {
			t.Errorf("observer got %v, want a cascade from %v", msg, f.ID())
		}
		close(release)
		err = mngWait(t, ctx, res, "Manage")
		c := seedCrash(t, err)
		if c.Kind != backplane.CrashCascade || c.Device != f.ID() || c.Fault != faultOf(m) || c.Fault != msg.Fault() {
			t.Fatalf("crash = %+v, want CrashCascade from %v with the device's fault", c, f.ID())
		}
		if !errors.Is(err, errMngTask) {
			t.Errorf("errors.Is(crash, dependency's error) = false")
		}
		if cc := seedCrash(t, cause); cc != c {
			t.Errorf("context.Cause(ctx) = %v, want the returned crash", cause)
		}
	})

	t.Run("clean end of a dependency is ignored and forgotten", func(t *testing.T) {
		ctx := seedWatchdog(t)
		m, f := seedNew(t), seedNew(t)
		o := mngMonitor(t, m)
		if err := m.Link(f, backplane.Monitor); err != nil {
			t.Fatal(err)
		}
		err := m.PartManage(ctx, func(ctx context.Context) error {
			if err := f.Disconnect(nil); err != nil {
				return err
			}
			if ctx.Err() != nil || m.Pending() != 0 || !m.Alive() {
				return fmt.Errorf("after a clean end: ctx.Err = %v, Pending = %d, Alive = %v", ctx.Err(), m.Pending(), m.Alive())
			}
			return nil
		})
		if err != nil {
			t.Fatalf("PartManage = %v, want nil", err)
		}
		if removed, err := m.Unlink(f, backplane.Monitor); removed || err != nil {
			t.Errorf("Unlink after the clean end = %v, %v; want false, nil: the edge should be forgotten", removed, err)
		}
		if n := o.Pending(); n != 0 {
			t.Errorf("observer holds %d messages, want 0", n)
		}
	})

	t.Run("a long chain keeps the root", func(t *testing.T) {
		ctx := seedWatchdog(t)
		const n = 6
		devs := make([]*backplane.Device, n)
		for i := range devs {
			devs[i] = seedNew(t)
			if i > 0 {
				if err := devs[i].Line().Link(devs[i-1].Line(), backplane.Monitor); err != nil {
					t.Fatal(err)
				}
			}
		}
		o := mngMonitor(t, devs[n-1])
		results := make([]<-chan error, n)
		for i := 1; i < n; i++ {
			started := make(chan struct{})
			results[i] = mngGo(t, ctx, devs[i].Manage, func(ctx context.Context) error {
				close(started)
				<-ctx.Done()
				return nil
			})
			mngWait(t, ctx, started, "a task to start")
		}
		if err := devs[0].Disconnect(errMngTask); err != nil {
			t.Fatal(err)
		}
		for i := 1; i < n; i++ {
			err := mngWait(t, ctx, results[i], "Manage")
			c := seedCrash(t, err)
			if c.Kind != backplane.CrashCascade || c.Device != devs[i-1].ID() || c.Fault.Cause != faultOf(devs[i-1]) {
				t.Errorf("device %d: crash %+v, want a cascade from device %d", i, c, i-1)
			}
			if root, rf := c.Fault.Root(); root != devs[0].ID() || rf != faultOf(devs[0]) {
				t.Errorf("device %d: Root() = %v %v, want %v %v", i, root, rf, devs[0].ID(), faultOf(devs[0]))
			}
			if !errors.Is(err, errMngTask) {
				t.Errorf("device %d: errors.Is(crash, root error) = false", i)
			}
		}
		msg := mngWantDisconnected(t, o, devs[n-1])
		if root, _ := msg.Fault().Root(); root != devs[0].ID() {
			t.Errorf("observer: root %v, want %v", root, devs[0].ID())
		}
		want := fmt.Sprintf("cascade from %v (root %v: task error: disk full)", devs[n-2].ID(), devs[0].ID())
		if !strings.Contains(msg.Fault().Error(), want) {
			t.Errorf("Fault.Error() = %q, want it to contain %q", msg.Fault().Error(), want)
		}
	})
}

func TestManageKill(t *testing.T) {
	ctx := seedWatchdog(t)
	m, k := seedNew(t), seedNew(t)
	o := mngMonitor(t, m)
	reason := errors.New("stop timeout")
	started, release := make(chan struct{}), make(chan struct{})
	var cause error
	res := mngGo(t, ctx, m.Manage, func(ctx context.Context) error {
		close(started)
		<-release // ignores its context: the killer gives up on it
		cause = context.Cause(ctx)
		return nil
	})
	mngWait(t, ctx, started, "the task to start")
	if err := m.Line().Kill(k.ID(), reason); err != nil {
		t.Fatalf("Kill: %v", err)
	}
	msg, err := o.Receive(ctx)
	if err != nil {
		t.Fatalf("observer: %v while the task still runs", err)
	}
	if msg.From() != m.ID() || msg.Fault() == nil || msg.Fault().Kind != backplane.FaultKilled || msg.Fault().Err != reason {
		t.Errorf("observer got %v, want a FaultKilled carrying the reason", msg)
	}
	if err := m.Line().Kill(k.ID(), reason); !errors.Is(err, backplane.ErrLinkDown) {
		t.Errorf("second Kill = %v, want ErrLinkDown", err)
	}
	close(release)
	err = mngWait(t, ctx, res, "Manage")
	c := seedCrash(t, err)
	if c.Kind != backplane.CrashKilled || c.Device != k.ID() || c.Fault != faultOf(m) || c.Fault != msg.Fault() {
		t.Fatalf("crash = %+v, want CrashKilled by %v with the device's fault", c, k.ID())
	}
	if !errors.Is(err, reason) || !errors.Is(err, &backplane.Fault{Kind: backplane.FaultKilled}) {
		t.Errorf("errors.Is does not reach the kill reason and kind through %v", err)
	}
	if cc := seedCrash(t, cause); cc != c {
		t.Errorf("context.Cause(ctx) = %v, want the returned crash", cause)
	}
}

// TestManageEndedFromOutside checks that Manage's caller and the device's
// watchers agree on how the device ended when something other than a
// shutdown request, a cascade or a kill takes it down while its task runs:
// a Drop or a Disconnect through the *Device from another goroutine (every
// method is safe for concurrent use). Manage returns a CrashDisconnected
// whose Fault is the one the watchers were told (nil for a clean end), as a
// power off does for a shutdown request: the task did not end by itself.
func TestManageEndedFromOutside(t *testing.T) {
	tests := []struct {
		name   string
		end    func(*backplane.Device)
		result error // what the task returns once its context is cancelled
	}{
		{"dropped, task returns nil", (*backplane.Device).Drop, nil},
		{"disconnected with an error, task returns nil", func(d *backplane.Device) { _ = d.Disconnect(errMngTask) }, nil},
		{"disconnected cleanly, task returns ctx.Err()", func(d *backplane.Device) { _ = d.Disconnect(nil) }, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := seedWatchdog(t)
			m := seedNew(t)
			o := mngMonitor(t, m)
			started := make(chan struct{})
			res := mngGo(t, ctx, m.Manage, func(ctx context.Context) error {
				close(started)
				<-ctx.Done()
				return tt.result
			})
			mngWait(t, ctx, started, "the task to start")
			tt.end(m)
			err := mngWait(t, ctx, res, "Manage")
			told := mngWantDisconnected(t, o, m).Fault()
			var c *backplane.Crash
			if !errors.As(err, &c) || c.Kind != backplane.CrashDisconnected {
				t.Fatalf("Manage = %v, want a CrashDisconnected", err)
			}
			if c.Fault != told || c.Fault != faultOf(m) {
				t.Errorf("Crash.Fault = %v, watchers were told %v, device went down with %v: want one fault", c.Fault, told, faultOf(m))
			}
		})
	}
}

func TestManageQueued(t *testing.T) {
	// Each case queues messages on an idle M, then runs Manage on it.
	tests := []struct {
		name string
		// queue puts messages in m's inbox, using the devices it makes; it
		// returns the crash Manage must return ("nil" if none), rendered.
		queue   func(t *testing.T, m *backplane.Device, s *seedScene) string
		wantRan bool
	}{
		{
			name: "shutdown: power off without running the task",
			queue: func(t *testing.T, m *backplane.Device, s *seedScene) string {
				r := seedNew(t)
				s.add("R", r)
				if err := m.Line().Shutdown(r.ID()); err != nil {
					t.Fatal(err)
				}
				return "crash power off R clean"
			},
		},
		{
			name: "faulted disconnect: cascade without running the task",
			queue: func(t *testing.T, m *backplane.Device, s *seedScene) string {
				f := seedNew(t)
				s.add("F", f)
				if err := m.Link(f, backplane.Monitor); err != nil {
					t.Fatal(err)
				}
				if err := f.Disconnect(errMngTask); err != nil {
					t.Fatal(err)
				}
				return "crash cascade F cascade(F,error(disk full))"
			},
		},
		{
			name: "clean disconnect: ignored, the task runs",
			queue: func(t *testing.T, m *backplane.Device, s *seedScene) string {
				f := seedNew(t)
				if err := m.Link(f, backplane.Peer); err != nil {
					t.Fatal(err)
				}
				if err := f.Disconnect(nil); err != nil {
					t.Fatal(err)
				}
				return "nil"
			},
			wantRan: true,
		},
		{
			name: "clean disconnect then shutdown then fault: the shutdown decides",
			queue: func(t *testing.T, m *backplane.Device, s *seedScene) string {
				f1, f2 := seedNew(t), seedNew(t)
				for _, f := range []*backplane.Device{f1, f2} {
					if err := m.Link(f, backplane.Monitor); err != nil {
						t.Fatal(err)
					}
				}
				if err := f1.Disconnect(nil); err != nil {
					t.Fatal(err)
				}
				if err := m.Line().Shutdown(f2.ID()); err != nil {
					t.Fatal(err)
				}
				s.add("F2", f2)
				f2.Drop()
				return "crash power off F2 clean"
			},
		},
		{
			name: "fault then shutdown: the fault decides",
			queue: func(t *testing.T, m *backplane.Device, s *seedScene) string {
				f := seedNew(t)
				s.add("F", f)
				if err := m.Link(f, backplane.Monitor); err != nil {
					t.Fatal(err)
				}
				f.Drop()
				if err := m.Line().Shutdown(backplane.DeviceID{}); err != nil {
					t.Fatal(err)
				}
				return "crash cascade F cascade(F,drop)"
			},
		},
	}
	for _, tt := range tests {
		for _, part := range []bool{false, true} {
			name := "Manage"
			if part {
				name = "PartManage"
			}
			t.Run(tt.name+"/"+name, func(t *testing.T) {
				ctx := seedWatchdog(t)
				s := &seedScene{t: t, devs: map[backplane.DeviceID]*backplane.Device{}, names: map[backplane.DeviceID]string{}}
				m := seedNew(t)
				s.add("M", m)
				o := mngMonitor(t, m)
				want := tt.queue(t, m, s)
				if m.Pending() == 0 {
					t.Fatalf("nothing queued")
				}
				run := m.Manage
				if part {
					run = m.PartManage
				}
				ran := false
				err := run(ctx, func(context.Context) error { ran = true; return nil })
				if got := s.result(err); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
				if ran != tt.wantRan {
					t.Errorf("task ran = %v, want %v", ran, tt.wantRan)
				}
				if n := m.Pending(); n != 0 && err == nil {
					t.Errorf("%d messages left queued after a clean run", n)
				}
				if stayed := part && err == nil; m.Alive() != stayed {
					t.Errorf("Alive = %v, want %v", m.Alive(), stayed)
				}
				if m.Alive() {
					if n := o.Pending(); n != 0 {
						t.Errorf("observer holds %d messages while M is connected", n)
					}
				} else {
					mngWantDisconnected(t, o, m)
				}
			})
		}
	}
}

func TestPartManage(t *testing.T) {
	t.Run("success leaves the device connected with its links", func(t *testing.T) {
		ctx := seedWatchdog(t)
		m, p := seedNew(t), seedNew(t)
		o := mngMonitor(t, m)
		if err := m.Link(p, backplane.Monitor); err != nil {
			t.Fatal(err)
		}
		for i := range 3 { // reusable, again and again
			if err := m.PartManage(ctx, func(context.Context) error { return nil }); err != nil {
				t.Fatalf("PartManage #%d = %v, want nil", i, err)
			}
			if !m.Alive() || faultOf(m) != nil || o.Pending() != 0 {
				t.Fatalf("after PartManage #%d: Alive = %v, Fault = %v, observer holds %d", i, m.Alive(), faultOf(m), o.Pending())
			}
		}
		// M still watches P: idle, it queues P's failure rather than cascade.
		if err := p.Disconnect(errMngTask); err != nil {
			t.Fatal(err)
		}
		msg := seedOne(t, m)
		if msg.Kind() != backplane.Disconnected || msg.From() != p.ID() || msg.Fault() != faultOf(p) {
			t.Errorf("M got %v, want P's disconnect", msg)
		}
		if !m.Alive() {
			t.Errorf("idle M went down with its dependency")
		}
		// O still watches M.
		if err := m.Manage(ctx, func(context.Context) error { return nil }); err != nil {
			t.Fatalf("Manage after PartManage = %v", err)
		}
		mngWantDisconnected(t, o, m)
	})

	t.Run("success keeps queued messages for later", func(t *testing.T) {
		ctx := seedWatchdog(t)
		m := seedNew(t)
		err := m.PartManage(ctx, func(context.Context) error {
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// A Shutdown that arrives while idle is queued, and ends the next
		// managed run before its task starts.
		if err := m.Line().Shutdown(backplane.DeviceID{}); err != nil {
			t.Fatal(err)
		}
		ran := false
		c := seedCrash(t, m.PartManage(ctx, func(context.Context) error { ran = true; return nil }))
		if c.Kind != backplane.CrashPowerOff || ran || m.Alive() {
			t.Errorf("crash %v, ran %v, Alive %v; want a power off before the task", c, ran, m.Alive())
		}
	})

	tests := []struct {
		name string
		task func(context.Context) error
		want backplane.CrashKind
	}{
		{"error disconnects like Manage", func(context.Context) error { return errMngTask }, backplane.CrashError},
		{"panic disconnects like Manage", func(context.Context) error { mngPanicker(1); return nil }, backplane.CrashPanic},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := seedWatchdog(t)
			m := seedNew(t)
			o := mngMonitor(t, m)
			c := seedCrash(t, m.PartManage(ctx, tt.task))
			if c.Kind != tt.want || c.Fault == nil || c.Fault != faultOf(m) || m.Alive() {
				t.Errorf("crash %+v, Alive %v; want %v with the device's fault, disconnected", c, m.Alive(), tt.want)
			}
			mngWantDisconnected(t, o, m)
		})
	}

	t.Run("shutdown disconnects like Manage", func(t *testing.T) {
		ctx := seedWatchdog(t)
		m := seedNew(t)
		o := mngMonitor(t, m)
		c := seedCrash(t, m.PartManage(ctx, func(ctx context.Context) error {
			if err := m.Line().Shutdown(o.ID()); err != nil {
				return err
			}
			<-ctx.Done()
			return nil
		}))
		if c.Kind != backplane.CrashPowerOff || c.Device != o.ID() || m.Alive() {
			t.Errorf("crash %+v, Alive %v; want a power off from the observer, disconnected", c, m.Alive())
		}
		mngWantDisconnected(t, o, m)
	})
}

func TestManageMisuse(t *testing.T) {
	noop := func(context.Context) error { return nil }

	t.Run("ErrBusy from inside the task", func(t *testing.T) {
		ctx := seedWatchdog(t)
		m := seedNew(t)
		var errs []error
		err := m.Manage(ctx, func(ctx context.Context) error {
			errs = append(errs, m.Manage(ctx, noop), m.PartManage(ctx, noop))
			_, werr := backplane.Watch(ctx, m, func(context.Context) (int, error) { return 0, nil })
			errs = append(errs, werr)
			return nil
		})
		if err != nil {
			t.Fatalf("outer Manage = %v, want nil", err)
		}
		for i, e := range errs {
			var de *backplane.DeviceError
			if !errors.Is(e, backplane.ErrBusy) || !errors.As(e, &de) || de.Device != m.ID() {
				t.Errorf("nested call %d = %v, want a *DeviceError naming %v with ErrBusy", i, e, m.ID())
			}
		}
	})

	t.Run("ErrBusy from another goroutine", func(t *testing.T) {
		ctx := seedWatchdog(t)
		m := seedNew(t)
		started, release := make(chan struct{}), make(chan struct{})
		res := mngGo(t, ctx, m.Manage, func(context.Context) error {
			close(started)
			<-release
			return nil
		})
		mngWait(t, ctx, started, "the task to start")
		ran := false
		if err := m.Manage(ctx, func(context.Context) error { ran = true; return nil }); !errors.Is(err, backplane.ErrBusy) {
			t.Errorf("concurrent Manage = %v, want ErrBusy", err)
		}
		if err := m.PartManage(ctx, noop); !errors.Is(err, backplane.ErrBusy) {
			t.Errorf("concurrent PartManage = %v, want ErrBusy", err)
		}
		if _, err := backplane.Watch(ctx, m, func(context.Context) (int, error) { ran = true; return 0, nil }); !errors.Is(err, backplane.ErrBusy) {
			t.Errorf("concurrent Watch = %v, want ErrBusy", err)
		}
		if ran || !m.Alive() {
			t.Errorf("a refused task ran (%v) or the device went down (Alive %v)", ran, m.Alive())
		}
		close(release)
		if err := mngWait(t, ctx, res, "Manage"); err != nil {
			t.Errorf("first Manage = %v, want nil", err)
		}
	})

	t.Run("ErrDeviceDown on a dead device", func(t *testing.T) {
		ctx := seedWatchdog(t)
		ends := map[string]func(*backplane.Device){
			"disconnected": func(d *backplane.Device) { _ = d.Disconnect(nil) },
			"dropped":      (*backplane.Device).Drop,
			"managed":      func(d *backplane.Device) { _ = d.Manage(ctx, noop) },
		}
		for name, end := range ends {
			m := seedNew(t)
			end(m)
			ran := false
			task := func(context.Context) error { ran = true; return nil }
			for _, run := range []func(context.Context, func(context.Context) error) error{m.Manage, m.PartManage} {
				var de *backplane.DeviceError
				if err := run(ctx, task); !errors.Is(err, backplane.ErrDeviceDown) || !errors.As(err, &de) || de.Device != m.ID() {
					t.Errorf("%s: got %v, want a *DeviceError with ErrDeviceDown", name, err)
				}
			}
			if ran {
				t.Errorf("%s: the task ran on a dead device", name)
			}
		}
	})

	t.Run("ErrNilArg for a nil context or task", func(t *testing.T) {
		ctx := seedWatchdog(t)
		m := seedNew(t)
		var nilCtx context.Context
		for _, run := range []func(context.Context, func(context.Context) error) error{m.Manage, m.PartManage} {
			if err := run(nilCtx, noop); !errors.Is(err, backplane.ErrNilArg) {
				t.Errorf("nil ctx: %v, want ErrNilArg", err)
			}
			if err := run(ctx, nil); !errors.Is(err, backplane.ErrNilArg) {
				t.Errorf("nil task: %v, want ErrNilArg", err)
			}
		}
		if !m.Alive() {
			t.Fatalf("a refused call took the device down")
		}
		if err := m.Manage(ctx, noop); err != nil {
			t.Errorf("Manage after refused calls = %v, want nil", err)
		}
	})

	t.Run("ErrInvalid for a nil or zero Device", func(t *testing.T) {
		ctx := seedWatchdog(t)
		ran := false
		task := func(context.Context) error { ran = true; return nil }
		for name, d := range map[string]*backplane.Device{"nil": nil, "zero": {}} {
			for _, run := range []func(context.Context, func(context.Context) error) error{d.Manage, d.PartManage} {
				if err := run(ctx, task); !errors.Is(err, backplane.ErrInvalid) {
					t.Errorf("%s device: %v, want ErrInvalid", name, err)
				}
			}
		}
		if ran {
			t.Errorf("the task ran on an invalid device")
		}
	})
}

func TestGroupSpawn(t *testing.T) {
	t.Run("linked before the task starts", func(t *testing.T) {
		// The task fails at once, maybe before Spawn returns: the parent
		// must hear of it all the same.
		for _, mode := range []backplane.LinkMode{backplane.Monitor, backplane.Peer} {
			t.Run(mode.String(), func(t *testing.T) {
				ctx := seedWatchdog(t)
				var g backplane.Group
				parent := seedNew(t)
				line, err := g.Spawn(ctx, parent, mode, func(context.Context) error { return errMngTask })
				if err != nil {
					t.Fatalf("Spawn: %v", err)
				}
				msg, err := parent.Receive(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if msg.Kind() != backplane.Disconnected || msg.From() != line.ID() ||
					msg.Fault() == nil || msg.Fault().Err != errMngTask {
					t.Errorf("parent got %v, want the child's error", msg)
				}
				g.Wait()
				if line.Alive() || !parent.Alive() {
					t.Errorf("child Alive %v, parent Alive %v; want false, true", line.Alive(), parent.Alive())
				}
			})
		}
	})

	t.Run("peer: the parent's failure cascades to the child", func(t *testing.T) {
		ctx := seedWatchdog(t)
		var g backplane.Group
		parent := seedNew(t)
		started := make(chan struct{})
		var cause error
		line, err := g.Spawn(ctx, parent, backplane.Peer, func(ctx context.Context) error {
			close(started)
			<-ctx.Done()
			cause = context.Cause(ctx)
			return nil
		}, backplane.WithName("child"))
		if err != nil {
			t.Fatal(err)
		}
		mngWait(t, ctx, started, "the child to start")
		if err := parent.Disconnect(errMngTask); err != nil {
			t.Fatal(err)
		}
		g.Wait()
		c := seedCrash(t, cause)
		if c.Kind != backplane.CrashCascade || c.Device != parent.ID() || !errors.Is(c, errMngTask) {
			t.Errorf("child's cause = %+v, want a cascade from the parent", c)
		}
		if line.Alive() {
			t.Errorf("child alive after its peer parent failed")
		}
	})

	t.Run("shutdown through the returned Line", func(t *testing.T) {
		ctx := seedWatchdog(t)
		var g backplane.Group
		parent := seedNew(t)
		started := make(chan struct{})
		line, err := g.Spawn(ctx, parent, backplane.Monitor, func(ctx context.Context) error {
			close(started)
			<-ctx.Done()
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		mngWait(t, ctx, started, "the child to start")
		if err := line.Shutdown(parent.ID()); err != nil {
			t.Fatal(err)
		}
		g.Wait()
		msg := seedOne(t, parent)
		if msg.From() != line.ID() || msg.Fault() != nil {
			t.Errorf("parent got %v, want the child's clean disconnect", msg)
		}
	})

	t.Run("refused: nothing starts", func(t *testing.T) {
		ctx := seedWatchdog(t)
		dead := seedNew(t)
		dead.Drop()
		live := seedNew(t)
		var nilDev *backplane.Device
		var nilCtx context.Context
		var ran atomic.Bool
		task := func(context.Context) error { ran.Store(true); return nil }
		tests := []struct {
			name   string
			ctx    context.Context
			parent backplane.Linkable
			mode   backplane.LinkMode
			task   func(context.Context) error
			want   error
		}{
			{"parent down", ctx, dead, backplane.Peer, task, backplane.ErrDeviceDown},
			{"parent down, line", ctx, dead.Line(), backplane.Monitor, task, backplane.ErrDeviceDown},
			{"zero Line parent", ctx, backplane.Line{}, backplane.Monitor, task, backplane.ErrInvalid},
			{"nil Device parent", ctx, nilDev, backplane.Monitor, task, backplane.ErrInvalid},
			{"nil Linkable parent", ctx, nil, backplane.Monitor, task, backplane.ErrInvalid},
			{"bad mode", ctx, live, backplane.LinkMode(0), task, backplane.ErrBadMode},
			{"nil task", ctx, live, backplane.Monitor, nil, backplane.ErrNilArg},
			{"nil context", nilCtx, live, backplane.Monitor, task, backplane.ErrNilArg},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var g backplane.Group
				line, err := g.Spawn(tt.ctx, tt.parent, tt.mode, tt.task)
				if !errors.Is(err, tt.want) {
					t.Errorf("Spawn = %v, want %v", err, tt.want)
				}
				if !line.IsZero() {
					t.Errorf("Spawn returned %v, want the zero Line", line)
				}
				g.Wait()
				if ran.Load() {
					t.Errorf("the task ran")
				}
			})
		}
		if n := live.Pending(); n != 0 {
			t.Errorf("live parent holds %d messages after refused spawns, want 0", n)
		}
	})

	t.Run("Wait waits for every task", func(t *testing.T) {
		ctx := seedWatchdog(t)
		var g backplane.Group
		parent := seedNew(t)
		const n = 5
		release := make(chan struct{})
		var returned atomic.Int32
		for range n {
			if _, err := g.Spawn(ctx, parent, backplane.Monitor, func(context.Context) error {
				<-release
				returned.Add(1)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		waited := make(chan struct{})
		go func() { g.Wait(); close(waited) }()
		select {
		case <-waited:
			t.Fatalf("Wait returned while every task was blocked")
		default:
		}
		close(release)
		mngWait(t, ctx, waited, "Wait")
		if got := returned.Load(); got != n {
			t.Errorf("Wait returned after %d of %d tasks", got, n)
		}
		if got := parent.Pending(); got != n {
			t.Errorf("parent holds %d notifications after Wait, want %d", got, n)
		}
	})
}
