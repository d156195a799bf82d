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

// initWorker is a worker with a Start step that fails while fails > 0.
type initWorker struct {
	*worker
	fails  int
	panics bool
}

func (w *initWorker) Start(ctx context.Context) error {
	if w.fails > 0 {
		w.fails--
		if w.panics {
			panic("init exploded")
		}
		return errBoom
	}
	return nil
}

// TestStartFailure: the children before the one that fails are stopped
// again in reverse order, the ones after never start, and the error names
// the child.
func TestStartFailure(t *testing.T) {
	for _, panics := range []bool{false, true} {
		t.Run(map[bool]string{false: "error", true: "panic"}[panics], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := &recorder{}
				sup := mustNew(t, supervisor.WithName("top"), rec.option(), supervisor.WithChildren(
					supervisor.ChildSpec{ID: "a", Service: newWorker()},
					supervisor.ChildSpec{ID: "b", Service: newWorker()},
					supervisor.ChildSpec{ID: "bad", Service: &initWorker{worker: newWorker(), fails: 1, panics: panics}},
					supervisor.ChildSpec{ID: "never", Service: newWorker()}))
				err := sup.Serve(context.Background())
				var se *supervisor.StartError
				if !errors.As(err, &se) || se.Child != "bad" || se.Supervisor != "top" {
					t.Fatalf("Serve: %v", err)
				}
				if !panics && !errors.Is(err, errBoom) {
					t.Errorf("the cause is lost: %v", err)
				}
				if panics && !errors.Is(err, &backplane.Fault{Kind: backplane.FaultPanic}) {
					t.Errorf("the panic is lost: %v", err)
				}
				equal(t, "events", rec.log(), []string{"started a", "started b", "startfailed bad", "stopped b", "stopped a"})
			})
		})
	}
}

// TestNestedStartFailure: a nested supervisor whose child fails to start
// fails to start itself, and the error chain names both.
func TestNestedStartFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		inner := mustNew(t, supervisor.WithName("inner"), supervisor.WithChildren(
			supervisor.ChildSpec{ID: "bad", Service: &initWorker{worker: newWorker(), fails: 1}}))
		outer := mustNew(t, supervisor.WithName("outer"), supervisor.WithChildren(
			supervisor.ChildSpec{ID: "w", Service: newWorker()},
			supervisor.ChildSpec{ID: "inner", Service: inner}))
		err := outer.Serve(context.Background())
		var se *supervisor.StartError
		if !errors.As(err, &se) || se.Child != "inner" {
			t.Fatalf("Serve: %v", err)
		}
		var ie *supervisor.StartError
		if !errors.As(se.Err, &ie) || ie.Child != "bad" || !errors.Is(err, errBoom) {
			t.Fatalf("inner cause: %v", se.Err)
		}
	})
}

// TestRestartStartFailureRetried: a restart whose start fails is retried
// through the loop, each retry counted, until it starts.
func TestRestartStartFailureRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		w := &initWorker{worker: newWorker()}
		sup := mustNew(t, rec.option(), supervisor.WithIntensity(3, time.Minute),
			supervisor.WithChildren(supervisor.ChildSpec{ID: "w", Service: w}))
		s := serve(sup)
		synctest.Wait()
		w.fails = 2 // the next two starts fail
		w.fail()
		synctest.Wait()
		equal(t, "events", rec.log(), []string{"started w", "exited w", "startfailed w", "startfailed w", "restarted w"})
		if got := states(t, sup); got != "w:running:4" {
			t.Errorf("children: %s", got)
		}
		stop(t, sup, s)
	})
}

// TestRestartStartFailureLimit: retries count against the intensity.
func TestRestartStartFailureLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		w := &initWorker{worker: newWorker()}
		sup := mustNew(t, rec.option(), supervisor.WithIntensity(2, time.Minute),
			supervisor.WithChildren(supervisor.ChildSpec{ID: "w", Service: w}))
		s := serve(sup)
		synctest.Wait()
		w.fails = 100
		w.fail()
		var rl *supervisor.RestartLimitError
		if err := s.wait(); !errors.As(err, &rl) {
			t.Fatalf("Serve: %v", err)
		}
		equal(t, "events", rec.log(), []string{"started w", "exited w", "startfailed w", "startfailed w", "limit w"})
	})
}

// TestGroupRestartStartFailure: under OneForAll, a failed start in the
// group restart stops the children already restarted and retries the group.
func TestGroupRestartStartFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		b := &initWorker{worker: newWorker()}
		sup := mustNew(t, rec.option(), supervisor.WithStrategy(supervisor.OneForAll), supervisor.WithIntensity(5, time.Minute),
			supervisor.WithChildren(
				supervisor.ChildSpec{ID: "a", Service: newWorker()},
				supervisor.ChildSpec{ID: "b", Service: b},
				supervisor.ChildSpec{ID: "c", Service: newWorker()}))
		s := serve(sup)
		synctest.Wait()
		rec.reset()
		b.fails = 1
		b.fail()
		synctest.Wait()
		equal(t, "events", rec.log(), []string{
			"exited b", "stopped c", "stopped a",
			"restarted a", "startfailed b", "stopped a",
			"restarted a", "restarted b", "restarted c",
		})
		if got := states(t, sup); got != "a:running:3 b:running:3 c:running:2" {
			t.Errorf("children: %s", got)
		}
		stop(t, sup, s)
	})
}

// TestMessagesDuringGroupStop: while a RestForOne restart waits for a slow
// child to stop, another child fails, a shutdown is requested and an API
// call comes in. Nothing is lost: after the group restart, the other
// child's exit is handled (a second group restart), the call is answered
// and the supervisor shuts down.
func TestMessagesDuringGroupStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		a, b := newWorker(), newWorker()
		slow := supervisor.Func(func(ctx context.Context) error {
			<-ctx.Done()
			time.Sleep(time.Second)
			return nil
		})
		sup := mustNew(t, rec.option(), supervisor.WithStrategy(supervisor.RestForOne), supervisor.WithChildren(
			supervisor.ChildSpec{ID: "a", Service: a},
			supervisor.ChildSpec{ID: "b", Service: b},
			supervisor.ChildSpec{ID: "slow", Service: slow}))
		s := serve(sup)
		synctest.Wait()
		rec.reset()

		b.fail() // the supervisor now waits 1s for slow to stop
		synctest.Wait()
		a.fail()                                      // its exit waits
		_ = sup.Line().Shutdown(backplane.DeviceID{}) // waits in the inbox
		counted := make(chan error, 1)
		go func() {
			_, err := sup.Count(context.Background())
			counted <- err
		}()
		synctest.Wait()
		if s.isDone() || len(counted) != 0 {
			t.Fatal("the supervisor did not wait for the child to stop")
		}
		err := s.wait()
		var crash *backplane.Crash
		if !errors.As(err, &crash) || crash.Kind != backplane.CrashPowerOff {
			t.Fatalf("Serve: %v", err)
		}
		if err := <-counted; err != nil && !errors.Is(err, supervisor.ErrNotServing) {
			t.Errorf("Count: %v", err)
		}
		equal(t, "events", rec.log(), []string{
			"exited b", "stopped slow", "restarted b", "restarted slow", // the group restart
			"exited a", "stopped slow", "stopped b", // the exit that waited:
			"restarted a", "restarted b", "restarted slow", // a is first, so all restart
			"stopped slow", "stopped b", "stopped a", // the shutdown that waited
		})
	})
}

// slowStart is a worker whose Start waits until released.
type slowStart struct {
	*worker
	release chan struct{}
}

func (w *slowStart) Start(ctx context.Context) error {
	<-w.release
	return nil
}

// TestShutdownDuringStart: a shutdown requested while the children are
// still starting waits until they have, then stops them all.
func TestShutdownDuringStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		slow := &slowStart{worker: newWorker(), release: make(chan struct{})}
		sup := mustNew(t, rec.option(), supervisor.WithChildren(
			supervisor.ChildSpec{ID: "a", Service: newWorker()},
			supervisor.ChildSpec{ID: "slow", Service: slow},
			supervisor.ChildSpec{ID: "c", Service: newWorker()}))
		s := serveAsync(sup)
		synctest.Wait()
		if err := sup.Line().Shutdown(backplane.DeviceID{}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if s.isDone() {
			t.Fatal("stopped before the start completed")
		}
		close(slow.release)
		err := s.wait()
		var crash *backplane.Crash
		if !errors.As(err, &crash) || crash.Kind != backplane.CrashPowerOff {
			t.Fatalf("Serve: %v", err)
		}
		equal(t, "events", rec.log(), []string{"started a", "started slow", "started c", "stopped c", "stopped slow", "stopped a"})
	})
}
