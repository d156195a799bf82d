package backplane_test

import (
	"context"
	"errors"
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
