package backplane_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/backplane-go/backplane"
)

// panicked runs f and returns what it panicked with, or nil.
func panicked(f func()) (r any) {
	defer func() { r = recover() }()
	f()
	return nil
}

// TestManagePanicPassThrough: on a device made WithPanicPassThrough, a
// task's panic goes on out of Manage (and PartManage) with its value, after
// the device went down with the FaultPanic its watchers are told and its
// task's context was cancelled.
func TestManagePanicPassThrough(t *testing.T) {
	for _, part := range []bool{false, true} {
		w := backplane.New()
		d := backplane.New(backplane.WithPanicPassThrough())
		if err := w.Link(d, backplane.Monitor); err != nil {
			t.Fatal(err)
		}
		var taskCtx context.Context
		task := func(ctx context.Context) error {
			taskCtx = ctx
			panic("boom")
		}
		manage := d.Manage
		if part {
			manage = d.PartManage
		}
		r := panicked(func() { _ = manage(context.Background(), task) })
		if r != "boom" {
			t.Fatalf("part %v: recovered %v, want the task's own panic value", part, r)
		}
		f := faultOf(d)
		if d.Alive() || f == nil || f.Kind != backplane.FaultPanic || f.Value != "boom" || len(f.Stack) == 0 {
			t.Fatalf("part %v: device alive %v, fault %v; want down with a FaultPanic", part, d.Alive(), d.Fault())
		}
		m, ok := w.TryReceive()
		if !ok || m.Kind() != backplane.Disconnected || m.Fault() != f {
			t.Fatalf("part %v: watcher got %v, %v; want the FaultPanic", part, m, ok)
		}
		var c *backplane.Crash
		if taskCtx.Err() == nil || !errors.As(context.Cause(taskCtx), &c) || c.Kind != backplane.CrashPanic {
			t.Fatalf("part %v: task context cause %v, want the CrashPanic", part, context.Cause(taskCtx))
		}
		w.Drop()
	}
}

// TestManagePanicRecoveredByDefault: without the option, Manage returns the
// panic as a Crash (the option is what changes it).
func TestManagePanicRecoveredByDefault(t *testing.T) {
	d := backplane.New()
	var err error
	if r := panicked(func() { err = d.Manage(context.Background(), func(context.Context) error { panic("boom") }) }); r != nil {
		t.Fatalf("Manage let %v through without WithPanicPassThrough", r)
	}
	var c *backplane.Crash
	if !errors.As(err, &c) || c.Kind != backplane.CrashPanic {
		t.Fatalf("Manage = %v, want a CrashPanic", err)
	}
}

// TestWatchPanicPassThrough: Watch lets the panic through and leaves the
// device connected and idle, ready for the next Watch.
func TestWatchPanicPassThrough(t *testing.T) {
	d := backplane.New(backplane.WithPanicPassThrough())
	defer d.Drop()
	r := panicked(func() {
		_, _ = backplane.Watch(context.Background(), d, func(context.Context) (int, error) { panic("watched") })
	})
	if r != "watched" {
		t.Fatalf("recovered %v, want the function's panic value", r)
	}
	if !d.Alive() {
		t.Fatal("Watch disconnected the device")
	}
	w, err := backplane.Watch(context.Background(), d, func(context.Context) (int, error) { return 7, nil })
	if err != nil || w.Value != 7 {
		t.Fatalf("next Watch = %v, %v; want 7: the device must be idle again", w, err)
	}
}

// envPassThrough makes the test binary run groupPassThroughChild instead
// of the tests, for TestGroupPanicPassThroughCrashes.
const envPassThrough = "BACKPLANE_TEST_PASSTHROUGH_CHILD"

// TestGroupPanicPassThroughCrashes: a Group's task made
// WithPanicPassThrough crashes the program with its panic, once its device
// is down and the hooks were told, and the crash report shows where the
// task panicked. The crash happens in a child process, the test binary run
// again.
func TestGroupPanicPassThroughCrashes(t *testing.T) {
	if os.Getenv(envPassThrough) == "1" {
		groupPassThroughChild()
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestGroupPanicPassThroughCrashes$", "-test.count=1")
	cmd.Env = append(os.Environ(), envPassThrough+"=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() == 0 {
		t.Fatalf("child exited with %v, want a crash; stdout:\n%s\nstderr:\n%s", err, &stdout, &stderr)
	}
	out := stdout.String()
	if !strings.Contains(out, "hook: disconnected: task panicked: pass-through boom") {
		t.Errorf("the hook was not told before the crash; stdout:\n%s", out)
	}
	if strings.Contains(out, "Wait returned") {
		t.Errorf("Wait returned: the panic was swallowed; stdout:\n%s", out)
	}
	report := stderr.String()
	for _, want := range []string{"panic: pass-through boom", "passThroughTask"} {
		if !strings.Contains(report, want) {
			t.Errorf("crash report lacks %q:\n%s", want, report)
		}
	}
}

// passThroughTask panics; its name must appear in the crash report.
//
//go:noinline
func passThroughTask(context.Context) error { panic("pass-through boom") }

func groupPassThroughChild() {
	p := backplane.New()
	var dev backplane.DeviceID
	ready := make(chan struct{})
	backplane.AddHook(func(e backplane.Event) {
		if e.Kind != backplane.EventDisconnected {
			return // made in this goroutine, during Spawn, before dev is set
		}
		<-ready
		if e.Device == dev && e.Fault != nil {
			fmt.Printf("hook: disconnected: %s\n", strings.TrimPrefix(e.Fault.Error(), "backplane: "))
		}
	})
	var g backplane.Group
	l, err := g.Spawn(context.Background(), p, backplane.Notify, passThroughTask, backplane.WithPanicPassThrough())
	if err != nil {
		fmt.Println("spawn:", err)
		os.Exit(0)
	}
	dev = l.ID()
	close(ready)
	err = g.Wait()
	fmt.Println("Wait returned", err)
	os.Exit(0)
}
