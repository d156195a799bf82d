package supervisor_test

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/supervisor"
)

// TestIntensityWindow fails a child at given (fake) times and checks
// whether the supervisor gives up: at most 2 restarts in any 10 seconds.
func TestIntensityWindow(t *testing.T) {
	tests := []struct {
		name   string
		at     []time.Duration // when the child fails, from start
		giveUp bool
	}{
		{"two quick", []time.Duration{0, time.Second}, false},
		{"three quick", []time.Duration{0, time.Second, 2 * time.Second}, true},
		{"three spread", []time.Duration{0, 6 * time.Second, 11 * time.Second}, false},
		{"window slides", []time.Duration{0, 6 * time.Second, 11 * time.Second, 15 * time.Second}, true},
		{"edge of window", []time.Duration{0, 5 * time.Second, 10 * time.Second, 15 * time.Second, 20 * time.Second}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := &recorder{}
				w := newWorker()
				sup := mustNew(t, rec.option(), supervisor.WithIntensity(2, 10*time.Second),
					supervisor.WithChildren(supervisor.ChildSpec{ID: "w", Service: w}))
				s := serve(sup)
				synctest.Wait()
				start := time.Now()
				for _, at := range tt.at {
					time.Sleep(time.Until(start.Add(at))) // advance the fake clock
					w.fail()
					synctest.Wait()
				}
				if s.isDone() != tt.giveUp {
					t.Fatalf("gave up: %v, want %v (events %q)", s.isDone(), tt.giveUp, rec.log())
				}
				if !tt.giveUp {
					stop(t, sup, s)
					return
				}
				var rl *supervisor.RestartLimitError
				if err := s.wait(); !errors.As(err, &rl) || rl.Child != "w" || !errors.Is(err, errBoom) {
					t.Fatalf("Serve: %v", err)
				}
				if rec.count(supervisor.EventRestartLimit) != 1 {
					t.Errorf("events %q", rec.log())
				}
			})
		})
	}
}

// TestIntensityZero gives up at the first restart needed.
func TestIntensityZero(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorker()
		sup := mustNew(t, supervisor.WithIntensity(0, time.Second),
			supervisor.WithChildren(supervisor.ChildSpec{ID: "w", Service: w}))
		s := serve(sup)
		synctest.Wait()
		w.panic()
		var rl *supervisor.RestartLimitError
		if err := s.wait(); !errors.As(err, &rl) || rl.Fault == nil || rl.Fault.Kind != backplane.FaultPanic {
			t.Fatalf("Serve: %v", err)
		}
	})
}

// TestGroupRestartCountsOnce: a OneForAll restart of three children is one
// restart against the intensity.
func TestGroupRestartCountsOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, c := newWorker(), newWorker(), newWorker()
		sup := mustNew(t, supervisor.WithStrategy(supervisor.OneForAll), supervisor.WithIntensity(1, time.Minute),
			supervisor.WithChildren(
				supervisor.ChildSpec{ID: "a", Service: a},
				supervisor.ChildSpec{ID: "b", Service: b},
				supervisor.ChildSpec{ID: "c", Service: c}))
		s := serve(sup)
		synctest.Wait()
		b.fail()
		synctest.Wait()
		if s.isDone() {
			t.Fatal("gave up after one group restart")
		}
		c.fail()
		synctest.Wait()
		if !s.isDone() {
			t.Fatal("did not give up after two group restarts")
		}
		s.wait()
	})
}

// TestBackoff checks the delays between restarts: 1s, 2s, 4s, capped at 4s,
// with no jitter; and that the supervisor answers calls while it waits.
func TestBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		w := newWorker()
		sup := mustNew(t, rec.option(), supervisor.WithIntensity(10, time.Minute),
			supervisor.WithBackoff(time.Second, 4*time.Second, 0),
			supervisor.WithChildren(supervisor.ChildSpec{ID: "w", Service: w}))
		s := serve(sup)
		synctest.Wait()
		for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second} {
			t0 := time.Now()
			w.fail()
			synctest.Wait()
			if got := states(t, sup); got != "w:restarting:"+string(rune('1'+i)) {
				t.Fatalf("during backoff: %s", got)
			}
			n := rec.count(supervisor.EventChildRestarted)
			for rec.count(supervisor.EventChildRestarted) == n {
				time.Sleep(100 * time.Millisecond)
				synctest.Wait()
			}
			if got := time.Since(t0); got != want {
				t.Errorf("restart %d after %v, want %v", i+1, got, want)
			}
		}
		stop(t, sup, s)
	})
}

// TestBackoffJitter keeps jittered delays within [d, d·(1+jitter)].
func TestBackoffJitter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		w := newWorker()
		sup := mustNew(t, rec.option(), supervisor.WithIntensity(100, time.Second),
			supervisor.WithBackoff(time.Second, time.Second, 0.5),
			supervisor.WithChildren(supervisor.ChildSpec{ID: "w", Service: w}))
		s := serve(sup)
		synctest.Wait()
		for range 20 {
			t0 := time.Now()
			w.fail()
			synctest.Wait()
			n := rec.count(supervisor.EventChildRestarted)
			for rec.count(supervisor.EventChildRestarted) == n {
				time.Sleep(10 * time.Millisecond)
				synctest.Wait()
			}
			if got := time.Since(t0); got < time.Second || got > 1510*time.Millisecond {
				t.Errorf("jittered delay %v outside [1s, 1.5s]", got)
			}
		}
		stop(t, sup, s)
	})
}

// TestShutdownDuringBackoff: a shutdown request is handled while a restart
// waits, and the pending restart never happens.
func TestShutdownDuringBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		w := newWorker()
		sup := mustNew(t, rec.option(), supervisor.WithBackoff(time.Hour, time.Hour, 0),
			supervisor.WithChildren(supervisor.ChildSpec{ID: "w", Service: w}))
		s := serve(sup)
		synctest.Wait()
		w.fail()
		synctest.Wait()
		stop(t, sup, s)
		equal(t, "events", rec.log(), []string{"started w", "exited w"})
	})
}

// TestIntensityInEvents: every event names the supervisor's intensity in
// its Source, so that an observer can show the intensity used before any
// restart limit is reached.
func TestIntensityInEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var r recorder
		w := newWorker()
		sup := mustNew(t, supervisor.WithIntensity(7, 3*time.Second), r.option(),
			supervisor.WithChildren(supervisor.ChildSpec{ID: "w", Service: w}))
		s := serve(sup)
		synctest.Wait()
		w.fail()
		synctest.Wait()
		events := r.all()
		if len(events) < 3 { // started, exited, restarted
			t.Fatalf("events: %v", r.log())
		}
		for _, e := range events {
			var src supervisor.Source
			switch e := e.(type) {
			case supervisor.ChildStarted:
				src = e.Source
			case supervisor.ChildExited:
				src = e.Source
			case supervisor.ChildRestarted:
				src = e.Source
			default:
				continue
			}
			if src.MaxRestarts != 7 || src.Period != 3*time.Second {
				t.Errorf("%s: intensity %d in %v, want 7 in 3s", short(e), src.MaxRestarts, src.Period)
			}
			if m := e.Map(); m["max_restarts"] != 7 || m["period"] != "3s" {
				t.Errorf("%s: Map has max_restarts %v, period %v", short(e), m["max_restarts"], m["period"])
			}
		}
		stop(t, sup, s)
	})
}
