package supervisor_test

import (
	"context"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/supervisor"
)

// TestRestartStream fails a child many times in a row, as fast as it can,
// while other goroutines call the run-time API and a sibling fails now and
// then: whether a restart is made by the child's own goroutine or by the
// supervisor's loop, every failure is reported once, in order, each run has
// a device of its own and the next generation, and the API sees a
// consistent state.
func TestRestartStream(t *testing.T) {
	const fails, sibFails = 500, 20
	rec := &recorder{}
	var left atomic.Int64
	left.Store(fails)
	flaky := supervisor.Func(func(ctx context.Context) error {
		if left.Add(-1) >= 0 {
			return errBoom
		}
		<-ctx.Done()
		return nil
	})
	sib := newWorker()
	sup := mustNew(t, rec.option(), supervisor.WithIntensity(10*fails, time.Hour),
		supervisor.WithChildren(
			supervisor.ChildSpec{ID: "flaky", Service: flaky},
			supervisor.ChildSpec{ID: "sib", Service: sib},
		))
	s := serve(sup)

	ctx, cancel := context.WithCancel(context.Background())
	var api sync.WaitGroup
	api.Add(1)
	go func() { // the API, against the restarts
		defer api.Done()
		for ctx.Err() == nil {
			if _, err := sup.Children(ctx); err != nil && ctx.Err() == nil {
				t.Errorf("Children: %v", err)
				return
			}
		}
	}()
	// A sibling's failures, handled by the loop or in place, meanwhile.
	for range sibFails {
		sib.fail()
	}
	// Wait until every failure has been restarted.
	for {
		cs, err := sup.Children(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if cs[0].Generation == fails+1 && cs[1].Generation == sibFails+1 &&
			cs[0].State == supervisor.ChildRunning && cs[1].State == supervisor.ChildRunning {
			break
		}
	}
	cancel()
	api.Wait()
	if err := stop(t, sup, s); err == nil {
		t.Fatalf("Serve: nil, want the shutdown's crash")
	}

	// Per child: started as generation 1, then an exit of the running
	// generation followed by the start of the next one, each time on a
	// device never seen before; at the end, stopped.
	gen := map[string]uint64{}
	running := map[string]backplane.DeviceID{}
	seen := map[backplane.DeviceID]bool{}
	for _, e := range rec.all() {
		var in supervisor.Instance
		switch e := e.(type) {
		case supervisor.ChildStarted:
			in = e.Instance
		case supervisor.ChildRestarted:
			in = e.Instance
		case supervisor.ChildExited:
			if dev, ok := running[e.Child]; !ok || dev != e.Device || e.Generation != gen[e.Child] {
				t.Fatalf("%v: generation %d; running: %v, generation %d on %v", e, e.Generation, ok, gen[e.Child], dev)
			}
			delete(running, e.Child)
			continue
		default:
			t.Fatalf("unexpected event %v", e)
		}
		if _, ok := running[in.Child]; ok || in.Generation != gen[in.Child]+1 || seen[in.Device] {
			t.Fatalf("%v: generation %d after %d (running: %v, device seen: %v)", e, in.Generation, gen[in.Child], ok, seen[in.Device])
		}
		gen[in.Child], running[in.Child], seen[in.Device] = in.Generation, in.Device, true
	}
	if len(running) != 0 {
		t.Errorf("still running after Serve returned: %v", running)
	}
	if n := rec.count(supervisor.EventChildRestarted); n != fails+sibFails {
		t.Errorf("%d restarts, want %d", n, fails+sibFails)
	}
}

// TestRestartKeepsOldContext: a context kept by a run that has failed still
// names that run's device once the child has been restarted, and that
// device is down.
func TestRestartKeepsOldContext(t *testing.T) {
	ctxs := make(chan context.Context, 2)
	var runs atomic.Int64
	child := supervisor.Func(func(ctx context.Context) error {
		ctxs <- ctx
		if runs.Add(1) == 1 {
			return errBoom
		}
		<-ctx.Done()
		return nil
	})
	sup := mustNew(t, supervisor.WithChildren(supervisor.ChildSpec{ID: "c", Service: child}))
	s := serve(sup)
	first, second := <-ctxs, <-ctxs
	l1, ok1 := supervisor.Self(first)
	l2, ok2 := supervisor.Self(second)
	if !ok1 || !ok2 || l1 == l2 {
		t.Fatalf("Self: %v %v, %v %v: want two different devices", l1, ok1, l2, ok2)
	}
	if l1.Alive() || !l2.Alive() {
		t.Errorf("alive: first %v, second %v; want false, true", l1.Alive(), l2.Alive())
	}
	if cur := lineOf(t, sup, "c"); cur != l2 {
		t.Errorf("running on %v, want %v", cur, l2)
	}
	stop(t, sup, s)
}

// TestInPlaceSwitch: with the in-place path on, a child that fails while
// its supervisor is idle is restarted by its own goroutine (the restart's
// event comes from restartInPlace); with it off
// (BACKPLANE_SUPERVISOR_INPLACE=off), by the loop, always. The suite runs
// both ways in CI; this test shows that the switch does switch.
func TestInPlaceSwitch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const fails = 20
		var inPlace, restarts atomic.Int64
		w := newWorker()
		sup := mustNew(t, supervisor.WithIntensity(10*fails, time.Hour),
			supervisor.WithEventHook(func(e supervisor.Event) {
				if e.Type() == supervisor.EventChildRestarted {
					restarts.Add(1)
					if calledFrom("restartInPlace") {
						inPlace.Add(1)
					}
				}
			}),
			supervisor.WithChildren(supervisor.ChildSpec{ID: "w", Service: w}))
		s := serve(sup)
		for range fails {
			synctest.Wait() // the loop is idle
			w.fail()
		}
		synctest.Wait()
		want := int64(0)
		if supervisor.InPlace() {
			want = fails
		}
		if restarts.Load() != fails || inPlace.Load() != want {
			t.Errorf("%d restarts, %d in place; want %d, %d (in place on: %v)", restarts.Load(), inPlace.Load(), fails, want, supervisor.InPlace())
		}
		stop(t, sup, s)
	})
}

// calledFrom reports whether a function whose name ends in name is on the
// caller's stack.
func calledFrom(name string) bool {
	pcs := make([]uintptr, 64)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(2, pcs)])
	for {
		f, more := frames.Next()
		if strings.HasSuffix(f.Function, "."+name) {
			return true
		}
		if !more {
			return false
		}
	}
}
