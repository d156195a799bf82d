package supervisor_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/supervisor"
)

// stubborn is a child that ignores its context until released; after
// that it honours it.
type stubborn struct{ release chan struct{} }

func (s *stubborn) Serve(ctx context.Context) error {
	<-s.release
	<-ctx.Done()
	return nil
}

// TestShutdownGrace: a child that ignores its context is abandoned after
// its grace; the supervisor moves on, reports it, and its goroutine can
// still be waited for.
func TestShutdownGrace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		st := &stubborn{release: make(chan struct{})}
		sup := mustNew(t, rec.option(), supervisor.WithChildren(
			supervisor.ChildSpec{ID: "a", Service: newWorker()},
			supervisor.ChildSpec{ID: "stuck", Service: st, Shutdown: 2 * time.Second}))
		s := serve(sup)
		synctest.Wait()
		start := time.Now()
		stop(t, sup, s)
		if d := time.Since(start); d != 2*time.Second {
			t.Errorf("stop took %v, want the 2s grace", d)
		}
		equal(t, "events", rec.log(), []string{"started a", "started stuck", "abandoned stuck", "stopped a"})
		var ab supervisor.ChildAbandoned
		for _, e := range rec.all() {
			if x, ok := e.(supervisor.ChildAbandoned); ok {
				ab = x
			}
		}
		if ab.Fault == nil || ab.Fault.Kind != backplane.FaultKilled || !errors.Is(ab.Fault, supervisor.ErrShutdownTimeout) || ab.Grace != 2*time.Second {
			t.Errorf("abandoned event %+v", ab)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := sup.WaitAbandoned(ctx); err == nil {
			t.Fatal("WaitAbandoned returned while the goroutine runs")
		}
		close(st.release)
		if err := sup.WaitAbandoned(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}

// TestShutdownInfinity waits as long as it takes.
func TestShutdownInfinity(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		st := &stubborn{release: make(chan struct{})}
		sup := mustNew(t, rec.option(), supervisor.WithChildren(
			supervisor.ChildSpec{ID: "stuck", Service: st, Shutdown: supervisor.Infinity}))
		s := serve(sup)
		synctest.Wait()
		_ = sup.Line().Shutdown(backplane.DeviceID{})
		time.Sleep(time.Hour)
		synctest.Wait()
		if s.isDone() {
			t.Fatal("gave up waiting")
		}
		close(st.release)
		s.wait()
		equal(t, "events", rec.log(), []string{"started stuck", "stopped stuck"})
	})
}

// TestBrutalKill abandons at once, without asking.
func TestBrutalKill(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		cause := make(chan error, 1)
		sup := mustNew(t, rec.option(), supervisor.WithChildren(
			supervisor.ChildSpec{ID: "b", Shutdown: supervisor.BrutalKill, Service: supervisor.Func(func(ctx context.Context) error {
				<-ctx.Done()
				cause <- context.Cause(ctx)
				return nil
			})}))
		s := serve(sup)
		synctest.Wait()
		start := time.Now()
		stop(t, sup, s)
		if time.Since(start) != 0 {
			t.Error("brutal kill waited")
		}
		equal(t, "events", rec.log(), []string{"started b", "abandoned b"})
		var crash *backplane.Crash
		if err := <-cause; !errors.As(err, &crash) || crash.Kind != backplane.CrashKilled || !errors.Is(err, supervisor.ErrBrutalKill) {
			t.Errorf("child's cause: %v", err)
		}
		_ = sup.WaitAbandoned(context.Background())
	})
}

// TestCascadedChildAbandoned: a child whose device is cascaded but whose
// task ignores its context is given its grace, then abandoned and
// restarted.
func TestCascadedChildAbandoned(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		st := &stubborn{release: make(chan struct{})}
		sup := mustNew(t, rec.option(), supervisor.WithChildren(
			supervisor.ChildSpec{ID: "stuck", Service: st, Shutdown: 3 * time.Second}))
		s := serve(sup)
		synctest.Wait()
		dep := backplane.New()
		_ = dep.Link(lineOf(t, sup, "stuck"), backplane.Notify)
		_ = dep.Disconnect(errBoom)
		synctest.Wait()
		if got := states(t, sup); got != "stuck:running:1" {
			t.Fatalf("before grace: %s", got)
		}
		time.Sleep(3 * time.Second)
		synctest.Wait()
		if got := states(t, sup); got != "stuck:running:2" {
			t.Fatalf("after grace: %s", got)
		}
		equal(t, "events", rec.log(), []string{"started stuck", "abandoned stuck", "restarted stuck"})
		close(st.release) // the abandoned generation returns; the new one runs on
		stop(t, sup, s)
		_ = sup.WaitAbandoned(context.Background())
	})
}

// TestTerminateAbandoned: TerminateChild reports an abandoned child.
func TestTerminateAbandoned(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := &stubborn{release: make(chan struct{})}
		sup := mustNew(t, supervisor.WithChildren(supervisor.ChildSpec{ID: "stuck", Service: st, Shutdown: time.Second}))
		s := serve(sup)
		synctest.Wait()
		if err := sup.TerminateChild(context.Background(), "stuck"); !errors.Is(err, supervisor.ErrAbandoned) {
			t.Fatalf("TerminateChild: %v", err)
		}
		if got := states(t, sup); got != "stuck:stopped:1" {
			t.Fatalf("children: %s", got)
		}
		close(st.release)
		stop(t, sup, s)
		_ = sup.WaitAbandoned(context.Background())
	})
}

// TestDynamicParallelStop: a Dynamic supervisor stops its children all at
// once: three children that each take 2s to stop take 2s in all.
func TestDynamicParallelStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slow := supervisor.Func(func(ctx context.Context) error {
			<-ctx.Done()
			time.Sleep(2 * time.Second)
			return nil
		})
		st := &stubborn{release: make(chan struct{})}
		rec := &recorder{}
		sup := mustNew(t, rec.option(), supervisor.WithStrategy(supervisor.Dynamic))
		s := serve(sup)
		for range 3 {
			if _, err := sup.AddChild(context.Background(), supervisor.ChildSpec{Service: slow}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := sup.AddChild(context.Background(), supervisor.ChildSpec{ID: "stuck", Service: st, Shutdown: 3 * time.Second}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // every task is running
		start := time.Now()
		stop(t, sup, s)
		if d := time.Since(start); d != 3*time.Second {
			t.Errorf("parallel stop took %v, want 3s (the longest grace)", d)
		}
		if rec.count(supervisor.EventChildExited) != 3 || rec.count(supervisor.EventChildAbandoned) != 1 {
			t.Errorf("events %q", rec.log())
		}
		close(st.release)
		_ = sup.WaitAbandoned(context.Background())
	})
}
