package supervisor_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/supervisor"
)

// TestStrategyMatrix ends the middle child of three (a, b, c) in every way
// a child can end, under every strategy and restart type, and checks who is
// stopped, in which order, and who is restarted.
func TestStrategyMatrix(t *testing.T) {
	strategies := []supervisor.Strategy{supervisor.OneForOne, supervisor.OneForAll, supervisor.RestForOne, supervisor.Dynamic}
	restarts := []supervisor.Restart{supervisor.Permanent, supervisor.Transient, supervisor.Temporary}
	ends := []struct {
		name    string
		faulted bool
	}{
		{"clean", false},
		{"shutdown", false},
		{"error", true},
		{"panic", true},
		{"cascade", true},
	}
	for _, st := range strategies {
		for _, rt := range restarts {
			for _, end := range ends {
				t.Run(fmt.Sprintf("%v/%v/%s", st, rt, end.name), func(t *testing.T) {
					synctest.Test(t, func(t *testing.T) {
						testMatrixCase(t, st, rt, end.name, end.faulted)
					})
				})
			}
		}
	}
}

func testMatrixCase(t *testing.T, st supervisor.Strategy, rt supervisor.Restart, end string, faulted bool) {
	ctx := context.Background()
	rec := &recorder{}
	a, b, c := newWorker(), newWorker(), newWorker()
	specs := []supervisor.ChildSpec{
		{ID: "a", Service: a},
		{ID: "b", Service: b, Restart: rt},
		{ID: "c", Service: c},
	}
	opts := []supervisor.Option{supervisor.WithStrategy(st), supervisor.WithIntensity(10, time.Second), rec.option()}
	if st != supervisor.Dynamic {
		opts = append(opts, supervisor.WithChildren(specs...))
	}
	sup := mustNew(t, opts...)
	s := serve(sup)
	if st == supervisor.Dynamic {
		for _, sp := range specs {
			if _, err := sup.AddChild(ctx, sp); err != nil {
				t.Fatal(err)
			}
		}
	}
	synctest.Wait()
	equal(t, "start", rec.log(), []string{"started a", "started b", "started c"})
	rec.reset()

	switch end {
	case "clean":
		b.clean()
	case "error":
		b.fail()
	case "panic":
		b.panic()
	case "shutdown":
		if err := lineOf(t, sup, "b").Shutdown(backplane.DeviceID{}); err != nil {
			t.Fatal(err)
		}
	case "cascade":
		dep := backplane.New()
		if err := dep.Link(lineOf(t, sup, "b"), backplane.Notify); err != nil { // b watches dep
			t.Fatal(err)
		}
		if err := dep.Disconnect(errBoom); err != nil {
			t.Fatal(err)
		}
	}
	synctest.Wait()

	restarted := rt == supervisor.Permanent || (rt == supervisor.Transient && faulted)
	want := []string{"exited b"}
	var wantStates string
	switch {
	case !restarted && (rt == supervisor.Temporary || st == supervisor.Dynamic):
		wantStates = "a:running:1 c:running:1"
	case !restarted:
		wantStates = "a:running:1 b:stopped:1 c:running:1"
	case st == supervisor.OneForAll:
		want = append(want, "stopped c", "stopped a", "restarted a", "restarted b", "restarted c")
		wantStates = "a:running:2 b:running:2 c:running:2"
	case st == supervisor.RestForOne:
		want = append(want, "stopped c", "restarted b", "restarted c")
		wantStates = "a:running:1 b:running:2 c:running:2"
	default:
		want = append(want, "restarted b")
		wantStates = "a:running:1 b:running:2 c:running:1"
	}
	equal(t, "after b ended", rec.log(), want)
	if got := states(t, sup); got != wantStates {
		t.Errorf("children: got %q, want %q", got, wantStates)
	}
	// The fault reported for b says how it ended.
	for _, e := range rec.all() {
		if x, ok := e.(supervisor.ChildExited); ok && x.Child == "b" {
			if (x.Fault != nil) != faulted {
				t.Errorf("b exited with fault %v, faulted=%v", x.Fault, faulted)
			}
		}
	}
	rec.reset()

	err := stop(t, sup, s)
	var crash *backplane.Crash
	if !errors.As(err, &crash) || crash.Kind != backplane.CrashPowerOff {
		t.Errorf("Serve: %v, want a power-off crash", err)
	}
	got := rec.log()
	wantStop := []string{"stopped c", "stopped b", "stopped a"}
	if !restarted {
		wantStop = []string{"stopped c", "stopped a"}
	}
	if st == supervisor.Dynamic { // parallel: any order
		slices.Sort(got)
		slices.Sort(wantStop)
	}
	equal(t, "stop", got, wantStop)
}

// TestStopOrder checks that children stop in reverse start order, each
// fully stopped before the next is asked.
func TestStopOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var order []string
		mk := func(id string) supervisor.ChildSpec {
			return supervisor.ChildSpec{ID: id, Service: supervisor.Func(func(ctx context.Context) error {
				<-ctx.Done()
				time.Sleep(time.Second) // fake time: a slow stop
				order = append(order, id)
				return nil
			})}
		}
		sup := mustNew(t, supervisor.WithChildren(mk("a"), mk("b"), mk("c")))
		s := serve(sup)
		synctest.Wait()
		start := time.Now()
		stop(t, sup, s)
		if want := []string{"c", "b", "a"}; !slices.Equal(order, want) {
			t.Errorf("stop order %v, want %v", order, want)
		}
		if d := time.Since(start); d != 3*time.Second {
			t.Errorf("stopping took %v, want 3s (one at a time)", d)
		}
	})
}

// TestStaleNotification checks that the Disconnected of an old generation
// never touches the new one.
func TestStaleNotification(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		w := newWorker()
		sup := mustNew(t, rec.option(), supervisor.WithChildren(supervisor.ChildSpec{ID: "w", Service: w}))
		s := serve(sup)
		synctest.Wait()
		for range 3 {
			w.fail()
			synctest.Wait()
		}
		if got := states(t, sup); got != "w:running:4" {
			t.Errorf("children: %s", got)
		}
		if n := rec.count(supervisor.EventChildRestarted); n != 3 {
			t.Errorf("%d restarts, want 3", n)
		}
		stop(t, sup, s)
	})
}
