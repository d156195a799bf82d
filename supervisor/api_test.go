package supervisor_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/backplane-go/backplane/supervisor"
)

func TestRuntimeAPI(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		rec := &recorder{}
		inner := mustNew(t, supervisor.WithName("inner"))
		sup := mustNew(t, rec.option(), supervisor.WithChildren(supervisor.ChildSpec{ID: "a", Service: newWorker()}))
		s := serve(sup)

		// serve returns once the supervisor is Ready: the API answers.
		if id, err := sup.AddChild(ctx, supervisor.ChildSpec{ID: "b", Service: newWorker(), Restart: supervisor.Transient}); err != nil || id != "b" {
			t.Fatalf("AddChild: %q %v", id, err)
		}
		if _, err := sup.AddChild(ctx, supervisor.ChildSpec{ID: "b", Service: newWorker()}); !errors.Is(err, supervisor.ErrAlreadyExists) {
			t.Fatalf("AddChild duplicate: %v", err)
		}
		if _, err := sup.AddChild(ctx, supervisor.ChildSpec{ID: "inner", Service: inner}); err != nil {
			t.Fatal(err)
		}
		if _, err := sup.AddChild(ctx, supervisor.ChildSpec{ID: "tmp", Service: newWorker(), Restart: supervisor.Temporary}); err != nil {
			t.Fatal(err)
		}
		if got := states(t, sup); got != "a:running:1 b:running:1 inner:running:1 tmp:running:1" {
			t.Fatalf("children: %s", got)
		}
		n, err := sup.Count(ctx)
		if want := (supervisor.Counts{Specs: 4, Active: 4, Supervisors: 1, Workers: 3}); err != nil || n != want {
			t.Fatalf("Count: %+v %v", n, err)
		}
		cs, _ := sup.Children(ctx)
		if !cs[2].Supervisor || cs[1].Restart != supervisor.Transient || cs[0].Line.IsZero() || cs[2].Line != inner.Line() {
			t.Errorf("Children: %+v", cs)
		}

		if err := sup.RestartChild(ctx, "b"); !errors.Is(err, supervisor.ErrRunning) {
			t.Errorf("RestartChild running: %v", err)
		}
		if err := sup.DeleteChild(ctx, "b"); !errors.Is(err, supervisor.ErrRunning) {
			t.Errorf("DeleteChild running: %v", err)
		}
		for _, id := range []string{"b", "tmp", "inner"} {
			if err := sup.TerminateChild(ctx, id); err != nil {
				t.Fatalf("TerminateChild %s: %v", id, err)
			}
		}
		if got := states(t, sup); got != "a:running:1 b:stopped:1 inner:stopped:1" {
			t.Fatalf("after terminate: %s", got)
		}
		if err := sup.TerminateChild(ctx, "b"); err != nil {
			t.Errorf("TerminateChild stopped: %v", err)
		}
		if err := sup.RestartChild(ctx, "inner"); err != nil {
			t.Fatal(err)
		}
		if err := sup.DeleteChild(ctx, "b"); err != nil {
			t.Fatal(err)
		}
		if got := states(t, sup); got != "a:running:1 inner:running:2" {
			t.Fatalf("after restart and delete: %s", got)
		}
		for _, id := range []string{"zzz"} {
			if err := sup.TerminateChild(ctx, id); !errors.Is(err, supervisor.ErrNotFound) {
				t.Errorf("TerminateChild: %v", err)
			}
			if err := sup.RestartChild(ctx, id); !errors.Is(err, supervisor.ErrNotFound) {
				t.Errorf("RestartChild: %v", err)
			}
			if err := sup.DeleteChild(ctx, id); !errors.Is(err, supervisor.ErrNotFound) {
				t.Errorf("DeleteChild: %v", err)
			}
		}
		// A start failure at AddChild leaves nothing behind.
		if _, err := sup.AddChild(ctx, supervisor.ChildSpec{ID: "bad", Service: &initWorker{worker: newWorker(), fails: 1}}); err == nil {
			t.Fatal("AddChild of a failing child succeeded")
		}
		if got := states(t, sup); got != "a:running:1 inner:running:2" {
			t.Fatalf("after failed add: %s", got)
		}
		// A cancelled context returns at once.
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := sup.Count(cctx); !errors.Is(err, context.Canceled) {
			t.Errorf("Count with cancelled ctx: %v", err)
		}
		stop(t, sup, s)
		if _, err := sup.Count(ctx); !errors.Is(err, supervisor.ErrNotServing) {
			t.Errorf("Count after stop: %v", err)
		}
		if !sup.Line().IsZero() {
			t.Error("Line after stop")
		}
	})
}

func TestDynamicAPI(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		w := newWorker()
		sup := mustNew(t, supervisor.WithStrategy(supervisor.Dynamic))
		s := serve(sup)
		id1, _ := sup.AddChild(ctx, supervisor.ChildSpec{Service: newWorker()})
		id2, _ := sup.AddChild(ctx, supervisor.ChildSpec{Service: w, Restart: supervisor.Transient})
		if id1 == "" || id2 == "" || id1 == id2 {
			t.Fatalf("generated IDs %q %q", id1, id2)
		}
		if err := sup.RestartChild(ctx, id1); !errors.Is(err, errors.ErrUnsupported) {
			t.Errorf("RestartChild: %v", err)
		}
		if err := sup.DeleteChild(ctx, id1); !errors.Is(err, errors.ErrUnsupported) {
			t.Errorf("DeleteChild: %v", err)
		}
		if err := sup.TerminateChild(ctx, id1); err != nil {
			t.Fatal(err)
		}
		w.clean() // a transient child that ends cleanly is removed
		synctest.Wait()
		if n, _ := sup.Count(ctx); n.Specs != 0 {
			t.Errorf("Count: %+v", n)
		}
		stop(t, sup, s)
	})
}

func TestEvents(t *testing.T) {
	src := supervisor.Source{Supervisor: "sup"}
	in := supervisor.Instance{Child: "c", Generation: 2}
	rl := &supervisor.RestartLimitError{Supervisor: "sup", MaxRestarts: 3, Period: 5e9, Child: "c"}
	events := []supervisor.Event{
		supervisor.ChildStarted{Source: src, Instance: in},
		supervisor.ChildRestarted{Source: src, Instance: in},
		supervisor.ChildExited{Source: src, Instance: in, Err: errBoom},
		supervisor.ChildStartFailed{Source: src, Instance: in, Err: errBoom},
		supervisor.ChildAbandoned{Source: src, Instance: in},
		supervisor.RestartLimitReached{Source: src, Err: rl},
		supervisor.AutoShutdownTriggered{Source: src, Child: "c"},
	}
	for i, e := range events {
		if e.Type() != supervisor.EventType(i+1) {
			t.Errorf("%T: type %v", e, e.Type())
		}
		m := e.Map()
		if m["type"] != e.Type().String() || m["supervisor"] != "sup" || m["child"] != "c" {
			t.Errorf("%T: map %v", e, m)
		}
		if e.String() == "" || e.Type().String() == "" {
			t.Errorf("%T: empty String", e)
		}
	}
	if supervisor.EventType(99).String() != "EventType(99)" {
		t.Error("unknown event type")
	}
}

// TestZeroSupervisor: a nil or zero Supervisor reports an error, never
// panics.
func TestZeroSupervisor(t *testing.T) {
	ctx := context.Background()
	var ce *supervisor.ConfigError
	for _, sup := range []*supervisor.Supervisor{nil, {}} {
		if err := sup.Serve(ctx); !errors.As(err, &ce) {
			t.Errorf("Serve: %v", err)
		}
		if _, err := sup.Count(ctx); !errors.As(err, &ce) {
			t.Errorf("Count: %v", err)
		}
		if !sup.Line().IsZero() || sup.Name() != "" || sup.WaitAbandoned(ctx) != nil || sup.Ready() != nil {
			t.Error("accessors")
		}
	}
	if _, err := supervisor.New(supervisor.WithChildren(supervisor.ChildSpec{ID: "x", Service: &supervisor.Supervisor{}})); !errors.As(err, &ce) {
		t.Errorf("zero nested supervisor accepted: %v", err)
	}
}

// TestAPIOnRestartingChild: a child waiting for its restart (a backoff)
// is listed as restarting with no Line and is not active; RestartChild
// and DeleteChild fail with ErrRestarting (OTP's {error, restarting});
// TerminateChild cancels the restart and leaves it stopped, and then
// DeleteChild forgets it.
func TestAPIOnRestartingChild(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		w := newWorker()
		sup := mustNew(t, supervisor.WithBackoff(time.Hour, time.Hour, 0), supervisor.WithChildren(
			supervisor.ChildSpec{ID: "a", Service: newWorker()},
			supervisor.ChildSpec{ID: "w", Service: w}))
		s := serve(sup)
		w.fail()
		synctest.Wait()
		if got := states(t, sup); got != "a:running:1 w:restarting:1" {
			t.Fatalf("children: %s", got)
		}
		if l := lineOf(t, sup, "w"); !l.IsZero() {
			t.Errorf("a restarting child has a Line: %v", l)
		}
		if n, err := sup.Count(ctx); err != nil || n.Active != 1 || n.Specs != 2 {
			t.Errorf("Count: %+v %v", n, err)
		}
		if err := sup.RestartChild(ctx, "w"); !errors.Is(err, supervisor.ErrRestarting) {
			t.Errorf("RestartChild: %v, want ErrRestarting", err)
		}
		if err := sup.DeleteChild(ctx, "w"); !errors.Is(err, supervisor.ErrRestarting) {
			t.Errorf("DeleteChild: %v, want ErrRestarting", err)
		}
		if err := sup.TerminateChild(ctx, "w"); err != nil {
			t.Fatalf("TerminateChild: %v", err)
		}
		time.Sleep(2 * time.Hour) // fake time: the backoff passes, nothing restarts
		synctest.Wait()
		if got := states(t, sup); got != "a:running:1 w:stopped:1" {
			t.Fatalf("after TerminateChild and the backoff: %s", got)
		}
		if err := sup.DeleteChild(ctx, "w"); err != nil {
			t.Errorf("DeleteChild: %v", err)
		}
		if got := states(t, sup); got != "a:running:1" {
			t.Errorf("after DeleteChild: %s", got)
		}
		stop(t, sup, s)
	})
}
