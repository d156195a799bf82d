package supervisor_test

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/supervisor"
)

// TestEscalation builds root > mid > leaf. The leaf keeps failing: mid
// gives up, root restarts mid (with a fresh leaf), then gives up too; the
// root's error reaches the leaf's error through the chain.
func TestEscalation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rootRec, midRec := &recorder{}, &recorder{}
		leaf := newWorker()
		mid := mustNew(t, supervisor.WithName("mid"), midRec.option(), supervisor.WithIntensity(1, time.Minute),
			supervisor.WithChildren(supervisor.ChildSpec{ID: "leaf", Service: leaf}))
		root := mustNew(t, supervisor.WithName("root"), rootRec.option(), supervisor.WithIntensity(1, time.Minute),
			supervisor.WithChildren(supervisor.ChildSpec{ID: "mid", Service: mid}))
		s := serve(root)
		synctest.Wait()
		equal(t, "root start", rootRec.log(), []string{"started mid"})
		equal(t, "mid start", midRec.log(), []string{"started leaf"})
		if mid.Line().IsZero() || mid.ID() == root.ID() {
			t.Fatal("mid has no device of its own")
		}

		for round := 1; round <= 2; round++ {
			leaf.fail() // restarted by mid
			synctest.Wait()
			leaf.fail() // one too many: mid gives up
			synctest.Wait()
			if round == 1 {
				if s.isDone() {
					t.Fatal("root gave up after one failure of mid")
				}
				if got := states(t, root); got != "mid:running:2" {
					t.Fatalf("root children: %s", got)
				}
				if got := states(t, mid); got != "leaf:running:1" {
					t.Fatalf("mid children after its restart: %s", got)
				}
			}
		}
		err := s.wait()
		var rl *supervisor.RestartLimitError
		if !errors.As(err, &rl) || rl.Supervisor != "root" || rl.Child != "mid" {
			t.Fatalf("root: %v", err)
		}
		var inner *supervisor.RestartLimitError
		if !errors.As(rl.Fault, &inner) || inner.Supervisor != "mid" || !errors.Is(err, errBoom) {
			t.Fatalf("root's fault does not lead to mid's: %v", err)
		}
		equal(t, "mid", midRec.log(), []string{
			"started leaf", "exited leaf", "restarted leaf", "exited leaf", "limit leaf", // run 1
			"started leaf", "exited leaf", "restarted leaf", "exited leaf", "limit leaf", // run 2
		})
		equal(t, "root", rootRec.log(), []string{"started mid", "exited mid", "restarted mid", "exited mid", "limit mid"})
	})
}

// TestTreeCascade: a device the root depends on faults. The fault
// cascades down the tree at once, every task is told, and Serve reports
// the cascade.
func TestTreeCascade(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		causeCh := make(chan error, 2)
		leafFn := supervisor.Func(func(ctx context.Context) error {
			<-ctx.Done()
			causeCh <- context.Cause(ctx)
			return nil
		})
		mid := mustNew(t, supervisor.WithName("mid"), supervisor.WithChildren(supervisor.ChildSpec{ID: "leaf", Service: leafFn}))
		root := mustNew(t, supervisor.WithName("root"), supervisor.WithChildren(
			supervisor.ChildSpec{ID: "w", Service: leafFn},
			supervisor.ChildSpec{ID: "mid", Service: mid}))
		s := serve(root)
		synctest.Wait()
		dep := backplane.New()
		if err := root.Line().Link(dep, backplane.Monitor); err != nil {
			t.Fatal(err)
		}
		_ = dep.Disconnect(errBoom)
		err := s.wait()
		var crash *backplane.Crash
		if !errors.As(err, &crash) || crash.Kind != backplane.CrashCascade || crash.Device != dep.ID() || !errors.Is(err, errBoom) {
			t.Fatalf("Serve: %v", err)
		}
		if len(causeCh) != 2 {
			t.Fatalf("%d tasks told, want 2", len(causeCh))
		}
		for range 2 {
			c := <-causeCh
			var cc *backplane.Crash
			if !errors.As(c, &cc) || cc.Kind != backplane.CrashCascade || !errors.Is(c, errBoom) {
				t.Errorf("task cause %v, want a cascade rooted in boom", c)
			}
			if _, root := cc.Fault.Root(); !errors.Is(root, errBoom) {
				t.Errorf("root cause %v", root)
			}
		}
	})
}

// TestDependencyCleanEndIgnored: a watched device that ends cleanly is
// ignored, as by a managed device.
func TestDependencyCleanEndIgnored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sup := mustNew(t, supervisor.WithChildren(supervisor.ChildSpec{ID: "w", Service: newWorker()}))
		s := serve(sup)
		synctest.Wait()
		dep := backplane.New()
		_ = sup.Line().Link(dep, backplane.Monitor)
		_ = dep.Disconnect(nil)
		synctest.Wait()
		if s.isDone() {
			t.Fatal("stopped on a clean end of a dependency")
		}
		stop(t, sup, s)
	})
}

// TestKilled: a supervisor whose device is killed takes its children down
// with it and reports the kill.
func TestKilled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		sup := mustNew(t, rec.option(), supervisor.WithChildren(supervisor.ChildSpec{ID: "w", Service: newWorker()}))
		s := serve(sup)
		synctest.Wait()
		_ = sup.Line().Kill(backplane.DeviceID{}, errBoom)
		err := s.wait()
		var crash *backplane.Crash
		if !errors.As(err, &crash) || crash.Kind != backplane.CrashKilled {
			t.Fatalf("Serve: %v", err)
		}
		equal(t, "events", rec.log(), []string{"started w", "stopped w"})
	})
}

// TestContextCancel: cancelling Serve's context stops the children in
// order, and Serve returns the cause.
func TestContextCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		sup := mustNew(t, rec.option(), supervisor.WithChildren(
			supervisor.ChildSpec{ID: "a", Service: newWorker()},
			supervisor.ChildSpec{ID: "b", Service: newWorker()}))
		ctx, cancel := context.WithCancelCause(context.Background())
		done := make(chan error)
		go func() { done <- sup.Serve(ctx) }()
		synctest.Wait()
		cancel(errBoom)
		if err := <-done; !errors.Is(err, errBoom) {
			t.Fatalf("Serve: %v", err)
		}
		equal(t, "events", rec.log(), []string{"started a", "started b", "stopped b", "stopped a"})
		if _, err := sup.Children(context.Background()); !errors.Is(err, supervisor.ErrNotServing) {
			t.Errorf("Children after stop: %v", err)
		}
	})
}

// TestServeTwice: one run at a time.
func TestServeTwice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sup := mustNew(t, supervisor.WithChildren(supervisor.ChildSpec{ID: "w", Service: newWorker()}))
		s := serve(sup)
		synctest.Wait()
		if err := sup.Serve(context.Background()); !errors.Is(err, supervisor.ErrAlreadyRunning) {
			t.Fatalf("second Serve: %v", err)
		}
		stop(t, sup, s)
		// And it can be served again afterwards.
		s = serve(sup)
		synctest.Wait()
		if got := states(t, sup); got != "w:running:1" {
			t.Fatalf("second run: %s", got)
		}
		stop(t, sup, s)
	})
}

// TestSelf: a worker finds its own Line and links itself to a dependency.
func TestSelf(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dep := backplane.New()
		defer dep.Drop()
		var gens int
		w := supervisor.Func(func(ctx context.Context) error {
			gens++
			self, ok := supervisor.Self(ctx)
			if !ok {
				return errors.New("no self")
			}
			if gens == 1 {
				if err := self.Link(dep, backplane.Monitor); err != nil {
					return err
				}
			}
			<-ctx.Done()
			return nil
		})
		sup := mustNew(t, supervisor.WithChildren(supervisor.ChildSpec{ID: "w", Service: w}))
		s := serve(sup)
		synctest.Wait()
		_ = dep.Disconnect(errBoom) // cascades to w, which is restarted
		synctest.Wait()
		if got := states(t, sup); got != "w:running:2" {
			t.Fatalf("children: %s", got)
		}
		if _, ok := supervisor.Self(context.Background()); ok {
			t.Error("Self outside a child")
		}
		stop(t, sup, s)
	})
}

// TestGoexit: a task that ends its goroutine with runtime.Goexit is seen
// to end (with a panic fault, from the core) and is restarted.
func TestGoexit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		gen := 0
		w := supervisor.Func(func(ctx context.Context) error {
			if gen++; gen == 1 {
				runtime.Goexit()
			}
			<-ctx.Done()
			return nil
		})
		sup := mustNew(t, rec.option(), supervisor.WithChildren(supervisor.ChildSpec{ID: "w", Service: w}))
		s := serve(sup)
		synctest.Wait()
		equal(t, "events", rec.log(), []string{"started w", "exited w", "restarted w"})
		for _, e := range rec.all() {
			if x, ok := e.(supervisor.ChildExited); ok && (x.Fault == nil || x.Fault.Kind != backplane.FaultPanic) {
				t.Errorf("exit fault %v", x.Fault)
			}
		}
		stop(t, sup, s)
	})
}

// TestTreeJoin: a nested supervisor's events carry, as their supervisor,
// the device its parent reports for it, so an observer can join levels.
func TestTreeJoin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rootRec, midRec := &recorder{}, &recorder{}
		mid := mustNew(t, supervisor.WithName("mid"), midRec.option(),
			supervisor.WithChildren(supervisor.ChildSpec{ID: "leaf", Service: newWorker()}))
		root := mustNew(t, supervisor.WithName("root"), rootRec.option(),
			supervisor.WithChildren(supervisor.ChildSpec{ID: "mid", Service: mid}))
		s := serve(root)
		synctest.Wait()
		started := rootRec.all()[0].(supervisor.ChildStarted)
		leaf := midRec.all()[0].(supervisor.ChildStarted)
		if started.Device != leaf.SupervisorID || started.Device != mid.ID() || started.SupervisorID != root.ID() {
			t.Errorf("root says mid is %v; mid's events say %v; mid.ID() %v", started.Device, leaf.SupervisorID, mid.ID())
		}
		stop(t, root, s)
	})
}
