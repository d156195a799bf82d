package supervisor_test

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/backplane-go/backplane/supervisor"
)

// ignoreWorker is a worker whose Start returns (a wrapped) ErrIgnore
// while ignores > 0.
type ignoreWorker struct {
	*worker
	ignores int
}

func (w *ignoreWorker) Start(ctx context.Context) error {
	if w.ignores > 0 {
		w.ignores--
		return fmt.Errorf("not today: %w", supervisor.ErrIgnore)
	}
	return nil
}

// TestIgnoreStatic: a static child whose Start returns ErrIgnore stays in
// the list as stopped with no device (OTP's undefined), is counted as a
// spec and not as active, is not restarted, and RestartChild starts it
// later. A Temporary one is not kept.
func TestIgnoreStatic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		rec := &recorder{}
		ig := &ignoreWorker{worker: newWorker(), ignores: 1}
		sup := mustNew(t, rec.option(), supervisor.WithChildren(
			supervisor.ChildSpec{ID: "a", Service: newWorker()},
			supervisor.ChildSpec{ID: "ig", Service: ig},
			supervisor.ChildSpec{ID: "tmp", Service: &ignoreWorker{worker: newWorker(), ignores: 1}, Restart: supervisor.Temporary},
			supervisor.ChildSpec{ID: "c", Service: newWorker()}))
		s := serve(sup)
		synctest.Wait()
		if s.isDone() {
			t.Fatalf("Serve: %v", s.wait())
		}
		if got := states(t, sup); got != "a:running:1 ig:stopped:1 c:running:1" {
			t.Fatalf("children: %s", got)
		}
		if l := lineOf(t, sup, "ig"); !l.IsZero() {
			t.Errorf("ignored child has a Line: %v", l)
		}
		n, err := sup.Count(ctx)
		if want := (supervisor.Counts{Specs: 3, Active: 2, Workers: 3}); err != nil || n != want {
			t.Errorf("Count: %+v %v, want %+v", n, err, want)
		}
		equal(t, "events", rec.log(), []string{"started a", "started c"})

		// Still ignored: OTP's restart_child returns {ok, undefined}.
		ig.ignores = 1
		if err := sup.RestartChild(ctx, "ig"); err != nil {
			t.Fatalf("RestartChild (ignored again): %v", err)
		}
		if got := states(t, sup); got != "a:running:1 ig:stopped:2 c:running:1" {
			t.Fatalf("after an ignored RestartChild: %s", got)
		}
		if err := sup.RestartChild(ctx, "ig"); err != nil {
			t.Fatalf("RestartChild: %v", err)
		}
		if got := states(t, sup); got != "a:running:1 ig:running:3 c:running:1" {
			t.Fatalf("after RestartChild: %s", got)
		}
		stop(t, sup, s)
	})
}

// TestIgnoreAddChild: AddChild of a child that ignores its start succeeds
// (OTP's {ok, undefined}); the child is kept as stopped under a static
// strategy, and not kept if it is Temporary or under Dynamic. DeleteChild
// forgets a kept one.
func TestIgnoreAddChild(t *testing.T) {
	for _, st := range []supervisor.Strategy{supervisor.OneForOne, supervisor.Dynamic} {
		t.Run(st.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				sup := mustNew(t, supervisor.WithStrategy(st))
				s := serve(sup)
				id, err := sup.AddChild(ctx, supervisor.ChildSpec{ID: "ig", Service: &ignoreWorker{worker: newWorker(), ignores: 1}})
				if err != nil || id != "ig" {
					t.Fatalf("AddChild: %q %v", id, err)
				}
				if _, err := sup.AddChild(ctx, supervisor.ChildSpec{ID: "tmp", Restart: supervisor.Temporary,
					Service: &ignoreWorker{worker: newWorker(), ignores: 1}}); err != nil {
					t.Fatalf("AddChild temporary: %v", err)
				}
				want := "ig:stopped:1"
				if st == supervisor.Dynamic {
					want = ""
				}
				if got := states(t, sup); got != want {
					t.Fatalf("children: %q, want %q", got, want)
				}
				if st != supervisor.Dynamic {
					if err := sup.DeleteChild(ctx, "ig"); err != nil {
						t.Errorf("DeleteChild: %v", err)
					}
				}
				stop(t, sup, s)
			})
		})
	}
}

// TestIgnoreOnRestart: a child whose Start returns ErrIgnore when it is
// restarted, alone or in a group, stays stopped and is not restarted
// again; its siblings run.
func TestIgnoreOnRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		a := newWorker()
		ig := &ignoreWorker{worker: newWorker()}
		sup := mustNew(t, rec.option(), supervisor.WithStrategy(supervisor.OneForAll), supervisor.WithIntensity(5, time.Minute),
			supervisor.WithChildren(
				supervisor.ChildSpec{ID: "a", Service: a},
				supervisor.ChildSpec{ID: "ig", Service: ig},
				supervisor.ChildSpec{ID: "c", Service: newWorker()}))
		s := serve(sup)
		synctest.Wait()
		rec.reset()
		ig.ignores = 1
		a.fail()
		synctest.Wait()
		equal(t, "events", rec.log(), []string{
			"exited a", "stopped c", "stopped ig",
			"restarted a", "restarted c", // ig ignored: no event, not running
		})
		if got := states(t, sup); got != "a:running:2 ig:stopped:2 c:running:2" {
			t.Errorf("children: %s", got)
		}
		stop(t, sup, s)
	})
}

// TestIgnoreFromServe: ErrIgnore returned by Serve (not Start) is an
// ordinary failure: the child is restarted.
func TestIgnoreFromServe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorker()
		sup := mustNew(t, supervisor.WithChildren(supervisor.ChildSpec{ID: "w", Service: w}))
		s := serve(sup)
		w.end(func() error { return supervisor.ErrIgnore })
		synctest.Wait()
		if got := states(t, sup); got != "w:running:2" {
			t.Errorf("children: %s", got)
		}
		stop(t, sup, s)
	})
}

// TestIgnoreOnRestartDynamic: under Dynamic, a child whose Start returns
// ErrIgnore when it is restarted is dropped, as OTP's simple_one_for_one
// drops it.
func TestIgnoreOnRestartDynamic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		ig := &ignoreWorker{worker: newWorker()}
		sup := mustNew(t, supervisor.WithStrategy(supervisor.Dynamic))
		s := serve(sup)
		if _, err := sup.AddChild(ctx, supervisor.ChildSpec{ID: "ig", Service: ig}); err != nil {
			t.Fatal(err)
		}
		if _, err := sup.AddChild(ctx, supervisor.ChildSpec{ID: "b", Service: newWorker()}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		ig.ignores = 1
		ig.fail()
		synctest.Wait()
		if got := states(t, sup); got != "b:running:1" {
			t.Errorf("children: %s", got)
		}
		stop(t, sup, s)
	})
}
