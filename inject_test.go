package backplane

// Failure injection: tasks that panic, ignore cancellation or block until
// the test releases them, tasks that end their goroutine, devices collected
// by the garbage collector without disconnecting, and links racing a
// disconnect. Each must end in the documented faults with nothing lost.

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"sync"
	"testing"
	"time"
)

// injManage runs Manage (or PartManage) in a goroutine; started is closed
// when the task starts, and the result arrives on the returned channel.
func injManage(d *Device, task func(context.Context) error) (started <-chan struct{}, result <-chan error) {
	s, r := make(chan struct{}), make(chan error, 1)
	go func() {
		r <- d.Manage(context.Background(), func(ctx context.Context) error {
			close(s)
			return task(ctx)
		})
	}()
	return s, r
}

// injWait waits for ch, failing the test after a generous deadline (a
// deadlock guard, not a synchronisation).
func injWait[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("timed out")
		panic("unreachable")
	}
}

func injNotReady[T any](t *testing.T, ch <-chan T, what string) {
	t.Helper()
	select {
	case <-ch:
		t.Fatalf("%s: already returned", what)
	default:
	}
}

// injOne takes the only message in d's inbox.
func injOne(t *testing.T, d *Device) Message {
	t.Helper()
	m, ok := d.TryReceive()
	if !ok {
		t.Fatalf("%v: no message", d.ID())
	}
	if n := d.Pending(); n != 0 {
		t.Fatalf("%v: %d more messages after %v", d.ID(), n, m)
	}
	return m
}

func injCrash(t *testing.T, err error, kind CrashKind, dev DeviceID) *Crash {
	t.Helper()
	var c *Crash
	if !errors.As(err, &c) || c.Kind != kind || c.Device != dev {
		t.Fatalf("Manage returned %v, want a %v crash naming %v", err, kind, dev)
	}
	return c
}

// injRoot checks that f cascades from dev and keeps the root (rd, rf).
func injRoot(t *testing.T, f *Fault, dev DeviceID, cause *Fault, rd DeviceID, rf *Fault) {
	t.Helper()
	if f == nil || f.Kind != FaultCascade || f.Device != dev || f.Cause != cause {
		t.Fatalf("fault %v, want a cascade from %v caused by %v", f, dev, cause)
	}
	if d, r := f.Root(); d != rd || r != rf {
		t.Fatalf("root %v %v, want %v %v", d, r, rd, rf)
	}
}

func TestInjectPanickingTask(t *testing.T) {
	x, w, m, n := New(), New(), New(), New()
	defer func() { x.Drop(); w.Drop(); m.Drop(); n.Drop() }()
	injMust(t, w.Link(x, Monitor))
	injMust(t, m.Link(x, Monitor))
	injMust(t, n.Link(m, Monitor))
	mStarted, mDone := injManage(m, func(ctx context.Context) error { <-ctx.Done(); return nil })
	nStarted, nDone := injManage(n, func(ctx context.Context) error { <-ctx.Done(); return nil })
	injWait(t, mStarted)
	injWait(t, nStarted)

	boom := errors.New("injected panic")
	err := x.Manage(context.Background(), func(context.Context) error { panic(boom) })
	c := injCrash(t, err, CrashPanic, DeviceID{})
	xf := x.fault()
	if c.Fault != xf || xf.Kind != FaultPanic || xf.Value != boom || !bytes.Contains(xf.Stack, []byte("inject_test.go")) || !errors.Is(err, boom) {
		t.Fatalf("crash %v, device fault %v: want the panic with its stack", c, xf)
	}
	if msg := injOne(t, w); msg.Kind() != Disconnected || msg.From() != x.ID() || msg.Fault() != xf {
		t.Fatalf("watcher got %v", msg)
	}
	// The cascade is at once: both dependents are down before their tasks
	// have returned, and each keeps the root.
	if m.Alive() || n.Alive() {
		t.Fatal("managed dependents still alive after the panic")
	}
	injCrash(t, injWait(t, mDone), CrashCascade, x.ID())
	injCrash(t, injWait(t, nDone), CrashCascade, m.ID())
	injRoot(t, m.fault(), x.ID(), xf, x.ID(), xf)
	injRoot(t, n.fault(), m.ID(), m.fault(), x.ID(), xf)
}

// A task that ignores its context: the device is gone, its watchers told
// and its dependents cascaded at once, while the task still runs; Manage
// returns only when the test releases the task.
func TestInjectIgnoresCancellation(t *testing.T) {
	for _, kill := range []bool{false, true} {
		name := "shutdown"
		if kill {
			name = "kill"
		}
		t.Run(name, func(t *testing.T) {
			x, w, y, z, sup := New(), New(), New(), New(), New()
			defer func() { x.Drop(); w.Drop(); y.Drop(); z.Drop(); sup.Drop() }()
			injMust(t, w.Link(x, Monitor))
			injMust(t, y.Link(x, Monitor))
			injMust(t, z.Link(y, Monitor))
			release := make(chan struct{})
			cancelled := make(chan error, 1)
			xStarted, xDone := injManage(x, func(ctx context.Context) error {
				<-release // ignores ctx
				cancelled <- context.Cause(ctx)
				return nil
			})
			yStarted, yDone := injManage(y, func(ctx context.Context) error { <-ctx.Done(); return nil })
			zStarted, zDone := injManage(z, func(ctx context.Context) error { <-ctx.Done(); return nil })
			injWait(t, xStarted)
			injWait(t, yStarted)
			injWait(t, zStarted)

			reason := errors.New("gave up waiting")
			if kill {
				injMust(t, x.Line().Kill(sup.ID(), reason))
			} else {
				injMust(t, x.Line().Shutdown(sup.ID()))
			}
			// Rule 11 and 17: gone and told before the task returns.
			select {
			case <-x.Done():
			default:
				t.Fatal("Done not closed after the request returned")
			}
			if x.Alive() {
				t.Fatal("alive after the request returned")
			}
			injNotReady(t, xDone, "Manage of the stubborn task")
			msg := injOne(t, w)
			if msg.Kind() != Disconnected || msg.From() != x.ID() || msg.Fault() != x.fault() {
				t.Fatalf("watcher got %v", msg)
			}
			if err := x.Line().Link(w, Monitor); !errors.Is(err, ErrDeviceDown) {
				t.Fatalf("link from the stopped device: %v", err)
			}
			if kill {
				xf := x.fault()
				if xf == nil || xf.Kind != FaultKilled || xf.Err != reason {
					t.Fatalf("fault %v, want killed with %v", xf, reason)
				}
				injCrash(t, injWait(t, yDone), CrashCascade, x.ID())
				injCrash(t, injWait(t, zDone), CrashCascade, y.ID())
				injRoot(t, z.fault(), y.ID(), y.fault(), x.ID(), xf)
			} else {
				if x.fault() != nil || !y.Alive() || !z.Alive() {
					t.Fatalf("clean stop: fault %v, dependents alive %v %v", x.fault(), y.Alive(), z.Alive())
				}
				// Managed dependents ignore a clean stop and forget the link.
				y.d.mu.Lock()
				left := y.d.links.get(x.d)
				y.d.mu.Unlock()
				if left != 0 {
					t.Fatalf("dependent keeps %v for the stopped device", left)
				}
				injMust(t, y.Line().Shutdown(sup.ID()))
				injMust(t, z.Line().Shutdown(sup.ID()))
				injCrash(t, injWait(t, yDone), CrashPowerOff, sup.ID())
				injCrash(t, injWait(t, zDone), CrashPowerOff, sup.ID())
			}
			close(release)
			want := CrashPowerOff
			if kill {
				want = CrashKilled
			}
			c := injCrash(t, injWait(t, xDone), want, sup.ID())
			if cause := <-cancelled; cause != c {
				t.Fatalf("context cause %v, want the crash %v", cause, c)
			}
		})
	}
}

func injMust(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// A task that ends its goroutine with runtime.Goexit still takes its device
// down, with a panic fault, so that no watcher waits forever.
func TestInjectGoexitTask(t *testing.T) {
	x, w := New(), New()
	defer func() { x.Drop(); w.Drop() }()
	injMust(t, w.Link(x, Monitor))
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = x.Manage(context.Background(), func(context.Context) error {
			runtime.Goexit()
			return nil
		})
		t.Error("Manage returned after Goexit")
	}()
	injWait(t, done)
	msg := injOne(t, w)
	if msg.From() != x.ID() || msg.Fault() == nil || msg.Fault().Kind != FaultPanic || msg.Fault().Value != errGoexit {
		t.Fatalf("watcher got %v", msg)
	}
}

// injCollect waits until w has received n messages, running the garbage
// collector while it waits: finalizers are eventual (rule 13).
func injCollect(t *testing.T, w *Device, n int) []Message {
	t.Helper()
	var got []Message
	deadline := time.Now().Add(20 * time.Second)
	for len(got) < n && time.Now().Before(deadline) {
		runtime.GC()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		m, err := w.Receive(ctx)
		cancel()
		if err == nil {
			got = append(got, m)
		}
	}
	if len(got) < n {
		t.Fatalf("%d of %d drop notifications after 20s", len(got), n)
	}
	return got
}

// Devices released without disconnecting are found by the collector: each
// watcher is told exactly once with the shared drop fault, bookkeeping is
// cleaned, and a managed dependent cascades with the drop as its root.
func TestInjectCollectedDevices(t *testing.T) {
	const n = 64
	w, m := New(), New()
	defer func() { w.Drop(); m.Drop() }()
	ids := map[DeviceID]bool{}
	var lost DeviceID
	func() {
		for i := range n {
			d := New()
			ids[d.ID()] = true
			via := Linkable(d)
			if i%2 == 1 {
				via = d.Line() // a Line does not keep the device alive
			}
			injMust(t, w.Link(via, Monitor))
			if i == 0 {
				injMust(t, m.Line().Link(d.Line(), Monitor))
				lost = d.ID()
			}
		}
	}()
	mStarted, mDone := injManage(m, func(ctx context.Context) error { <-ctx.Done(); return nil })
	injWait(t, mStarted)
	for _, msg := range injCollect(t, w, n) {
		if msg.Kind() != Disconnected || !ids[msg.From()] || msg.Fault() != dropFault {
			t.Fatalf("got %v (fault %p), want a drop from a collected device", msg, msg.Fault())
		}
		delete(ids, msg.From())
	}
	if len(ids) != 0 || w.Pending() != 0 {
		t.Fatalf("%d devices not reported, %d extra messages", len(ids), w.Pending())
	}
	w.d.mu.Lock()
	left := w.d.links.len()
	w.d.mu.Unlock()
	if left != 0 {
		t.Fatalf("watcher keeps %d links to collected devices", left)
	}
	injCrash(t, injWait(t, mDone), CrashCascade, lost)
	injRoot(t, m.fault(), lost, dropFault, lost, dropFault)
}

// A device whose task is blocked is not collected, even when nobody else
// holds it: Manage keeps it until the task returns.
func TestInjectBlockedTaskNotCollected(t *testing.T) {
	w := New()
	defer w.Drop()
	release := make(chan struct{})
	var line Line
	var wg sync.WaitGroup
	result := make(chan error, 1)
	started := make(chan struct{})
	func() {
		x := New()
		line = x.Line()
		injMust(t, w.Link(x, Monitor))
		wg.Add(1)
		go func() {
			defer wg.Done()
			result <- x.Manage(context.Background(), func(context.Context) error {
				close(started)
				<-release // blocks until the test lets go
				return nil
			})
		}()
	}()
	injWait(t, started)
	for range 5 {
		runtime.GC()
		runtime.Gosched()
	}
	if !line.Alive() || w.Pending() != 0 {
		t.Fatalf("device with a running task dropped: alive %v, watcher has %d messages", line.Alive(), w.Pending())
	}
	close(release)
	wg.Wait()
	if err := <-result; err != nil {
		t.Fatalf("Manage: %v", err)
	}
	if msg := injOne(t, w); msg.From() != line.ID() || msg.Fault() != nil {
		t.Fatalf("watcher got %v, want a clean disconnect", msg)
	}
}

// Links racing a disconnect: each link either fails or is matched by
// exactly one notification (rule 5), never both, never neither.
func TestInjectLinkRacesDisconnect(t *testing.T) {
	const watchers = 8
	for range 300 {
		x := New()
		ws := make([]*Device, watchers)
		errs := make([]error, watchers)
		for i := range ws {
			ws[i] = New()
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range ws {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				mode := []LinkMode{Monitor, Peer}[i%2]
				if i%4 < 2 {
					errs[i] = ws[i].Link(x, mode)
				} else {
					errs[i] = x.Line().Link(ws[i].Line(), mode.flip())
				}
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			x.Disconnect(errors.New("racing"))
		}()
		close(start)
		wg.Wait()
		for i, w := range ws {
			got := w.Pending()
			switch {
			case errs[i] == nil && got != 1, errs[i] != nil && got != 0:
				t.Fatalf("watcher %d: link error %v, %d notifications", i, errs[i], got)
			case errs[i] != nil && !errors.Is(errs[i], ErrLinkDown) && !errors.Is(errs[i], ErrDeviceDown):
				t.Fatalf("watcher %d: %v", i, errs[i])
			}
			w.d.mu.Lock()
			left := w.d.links.len()
			w.d.mu.Unlock()
			if left != 0 {
				t.Fatalf("watcher %d keeps %d links", i, left)
			}
			w.Drop()
		}
	}
}

// TestRegressionHandBuiltCascadeFault: found by FuzzAPI. A FaultCascade
// built by hand (its fields are exported; a supervisor may build one
// instead of calling CascadeFault) has no root, and Fault.Error then
// recurses until the stack overflows, a fatal error that no recover can
// catch. It is run in a child process so that the crash fails this test
// only.
func TestRegressionHandBuiltCascadeFault(t *testing.T) {
	if os.Getenv("BACKPLANE_REGRESSION_CHILD") == "1" {
		debug.SetMaxStack(16 << 20) // overflow fast
		f := &Fault{Kind: FaultCascade, Device: DeviceID{n: 3}, Cause: ErrorFault(errors.New("boom"))}
		_ = f.Error()
		_ = CascadeFault(DeviceID{n: 4}, &Fault{Kind: FaultCascade}).Error()
		_ = Message{src: &device{n: 3}, fault: f}.String()
		return
	}
	if testing.Short() {
		t.Skip("runs a child process")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestRegressionHandBuiltCascadeFault$", "-test.count=1")
	cmd.Env = append(os.Environ(), "BACKPLANE_REGRESSION_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		first := out
		if i := bytes.Index(first, []byte("\n\n")); i > 0 {
			first = first[:i]
		}
		t.Errorf("Error() of a hand-built cascade fault crashes the process (%v):\n%s", err, first)
	}
}
