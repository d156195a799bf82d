package backplane_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/backplane-go/backplane"
)

// TestGroupWaitNoFailure: tasks that return nil, or stop cleanly on a
// shutdown request, are no failure.
func TestGroupWaitNoFailure(t *testing.T) {
	ctx := context.Background()
	p := backplane.New()
	defer p.Drop()
	var g backplane.Group
	if _, err := g.Spawn(ctx, p, backplane.Monitor, func(context.Context) error { return nil }); err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	l, err := g.Spawn(ctx, p, backplane.Monitor, func(ctx context.Context) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	<-started
	if err := l.Shutdown(p.ID()); err != nil {
		t.Fatal(err)
	}
	if err := g.Wait(); err != nil {
		t.Fatalf("Wait = %v, want nil: no task failed", err)
	}
}

// TestGroupWaitOneFailure: with mode Notify nobody watches the task, and
// Wait is where its error surfaces, as a *Crash that reaches it.
func TestGroupWaitOneFailure(t *testing.T) {
	ctx := context.Background()
	p := backplane.New()
	defer p.Drop()
	boom := errors.New("boom")
	var g backplane.Group
	l, err := g.Spawn(ctx, p, backplane.Notify, func(context.Context) error { return boom })
	if err != nil {
		t.Fatal(err)
	}
	err = g.Wait()
	var c *backplane.Crash
	if !errors.As(err, &c) || c.Kind != backplane.CrashError || !errors.Is(err, boom) {
		t.Fatalf("Wait = %v, want a CrashError wrapping boom", err)
	}
	if l.Alive() {
		t.Fatal("the task's device is still connected after Wait")
	}
	if err2 := g.Wait(); err2 != err {
		t.Fatalf("a second Wait = %v, want the same first failure %v", err2, err)
	}
}

// TestGroupWaitFirstFailure: many tasks fail; Wait reports the first, in
// order of completion, also after later batches fail.
func TestGroupWaitFirstFailure(t *testing.T) {
	ctx := context.Background()
	p := backplane.New()
	defer p.Drop()
	var g backplane.Group
	first := errors.New("first")
	if _, err := g.Spawn(ctx, p, backplane.Notify, func(context.Context) error { return first }); err != nil {
		t.Fatal(err)
	}
	if err := g.Wait(); !errors.Is(err, first) {
		t.Fatalf("Wait = %v, want first", err)
	}
	const n = 50
	for i := 0; i < n; i++ {
		if _, err := g.Spawn(ctx, p, backplane.Notify, func(context.Context) error {
			if i%2 == 0 {
				panic(fmt.Sprint("later ", i))
			}
			return fmt.Errorf("later %d", i)
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := g.Wait(); !errors.Is(err, first) {
		t.Fatalf("Wait after %d later failures = %v, want the first", n, err)
	}

	// Concurrent failures: one of them is reported, whole.
	var h backplane.Group
	errs := make([]error, n)
	for i := range errs {
		errs[i] = fmt.Errorf("task %d", i)
		if _, err := h.Spawn(ctx, p, backplane.Notify, func(context.Context) error { return errs[i] }); err != nil {
			t.Fatal(err)
		}
	}
	err := h.Wait()
	var c *backplane.Crash
	if !errors.As(err, &c) || c.Kind != backplane.CrashError {
		t.Fatalf("Wait = %v, want a CrashError", err)
	}
	found := false
	for _, e := range errs {
		found = found || errors.Is(err, e)
	}
	if !found {
		t.Fatalf("Wait = %v, want one of the tasks' errors", err)
	}
}

// TestGroupWaitPanicAndGoexit: a recovered panic and a runtime.Goexit are
// failures Wait reports, as FaultPanic crashes.
func TestGroupWaitPanicAndGoexit(t *testing.T) {
	ctx := context.Background()
	p := backplane.New()
	defer p.Drop()
	for name, task := range map[string]func(context.Context) error{
		"panic":  func(context.Context) error { panic("kaboom") },
		"goexit": func(context.Context) error { runtime.Goexit(); return nil },
	} {
		var g backplane.Group
		if _, err := g.Spawn(ctx, p, backplane.Notify, task); err != nil {
			t.Fatal(err)
		}
		err := g.Wait()
		var c *backplane.Crash
		if !errors.As(err, &c) || c.Kind != backplane.CrashPanic || c.Fault == nil || c.Fault.Kind != backplane.FaultPanic {
			t.Fatalf("%s: Wait = %v, want a CrashPanic", name, err)
		}
	}
}

// TestGroupWaitCascade: a task that cascades from its faulted parent
// failed too.
func TestGroupWaitCascade(t *testing.T) {
	ctx := context.Background()
	p := backplane.New()
	var g backplane.Group
	if _, err := g.Spawn(ctx, p, backplane.Peer, func(ctx context.Context) error {
		<-ctx.Done()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	_ = p.Disconnect(errors.New("parent failed"))
	err := g.Wait()
	var c *backplane.Crash
	if !errors.As(err, &c) || c.Kind != backplane.CrashCascade || c.Device != p.ID() {
		t.Fatalf("Wait = %v, want a CrashCascade from the parent", err)
	}
}

// TestGroupSpawnDuringWait: Spawn and Wait from many goroutines at once.
// Every Wait returns; the last, after every Spawn, finds every task's
// device down and reports a failure once one task has failed.
func TestGroupSpawnDuringWait(t *testing.T) {
	ctx := context.Background()
	p := backplane.New()
	defer p.Drop()
	for round := 0; round < 20; round++ {
		var g backplane.Group
		const spawners, each = 4, 25
		lines := make(chan backplane.Line, spawners*each)
		var wg sync.WaitGroup
		for s := 0; s < spawners; s++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < each; i++ {
					l, err := g.Spawn(ctx, p, backplane.Notify, func(context.Context) error {
						if s == 0 && i == each-1 {
							return errors.New("the one failure")
						}
						return nil
					})
					if err != nil {
						t.Error(err)
						return
					}
					lines <- l
				}
			}()
		}
		var waiters sync.WaitGroup
		for w := 0; w < 3; w++ {
			waiters.Add(1)
			go func() {
				defer waiters.Done()
				_ = g.Wait() // overlaps the spawns: must return, with either answer
			}()
		}
		wg.Wait()
		err := g.Wait()
		waiters.Wait()
		close(lines)
		for l := range lines {
			if l.Alive() {
				t.Fatalf("round %d: %v still connected after the last Wait", round, l)
			}
		}
		if err == nil || err.Error() != "backplane: crash: task error: the one failure" {
			t.Fatalf("round %d: Wait = %v, want the one failure", round, err)
		}
	}
}
