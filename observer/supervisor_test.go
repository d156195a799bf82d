package observer_test

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/observer"
	"github.com/backplane-go/backplane/supervisor"
)

// TestSupervisorTree runs a real supervision tree and checks the model the
// recorder builds from its events: root supervises db and the nested web
// supervisor, which supervises a handler that fails until the restart
// limit is reached.
func TestSupervisorTree(t *testing.T) {
	rec := newRecorder(t)
	events := make(chan supervisor.Event, 64)
	hook := func(e supervisor.Event) {
		rec.RecordSupervisor(e)
		select {
		case events <- e:
		default: // the test has stopped listening
		}
	}
	wait := supervisor.Func(func(ctx context.Context) error {
		<-ctx.Done()
		return nil
	})
	fail := supervisor.Func(func(context.Context) error { return errors.New("bad request") })
	web, err := supervisor.New(supervisor.WithName("web"), supervisor.WithEventHook(hook),
		supervisor.WithIntensity(1, time.Hour),
		supervisor.WithChildren(supervisor.ChildSpec{ID: "handler", Service: fail}))
	if err != nil {
		t.Fatal(err)
	}
	root, err := supervisor.New(supervisor.WithName("root"), supervisor.WithEventHook(hook),
		supervisor.WithIntensity(0, time.Hour),
		supervisor.WithChildren(
			supervisor.ChildSpec{ID: "db", Service: wait},
			supervisor.ChildSpec{ID: "web", Service: web, Restart: supervisor.Temporary},
		))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- root.Serve(ctx) }()

	// web gives up after one restart; root does not restart it (temporary).
	for e := range events {
		if e.Type() == supervisor.EventChildExited && e.Map()["child"] == "web" {
			break
		}
	}
	rec.Track(root) // its Line exists once it is served
	s := rec.Snapshot(observer.SnapshotOptions{})
	byName := map[string][]observer.DeviceInfo{}
	for _, d := range s.Devices {
		byName[d.Name] = append(byName[d.Name], d)
	}
	r := byName["root"]
	if len(r) != 1 || !r[0].IsSupervisor || !r[0].Tracked || len(r[0].Children) != 2 {
		t.Fatalf("root: %+v", r)
	}
	w := byName["web"]
	if len(w) != 1 || !w[0].IsSupervisor || !w[0].RestartLimit || w[0].Restarts != 1 || w[0].Supervisor != r[0].ID {
		t.Errorf("web: %+v", w)
	}
	if h := byName["handler"]; len(h) != 2 || h[0].Supervisor != w[0].ID || h[1].Supervisor != w[0].ID {
		t.Errorf("handler runs: %+v", h)
	}
	if !slices.ContainsFunc(s.Faults, func(e observer.EventInfo) bool {
		return e.Kind == "restart limit reached" && e.Supervisor == w[0].ID && e.Error != ""
	}) {
		t.Errorf("no restart limit in the fault feed: %+v", s.Faults)
	}
	if st := s.Stats; st.Restarts != 1 || st.RestartLimits != 1 || st.ChildStarts < 3 {
		t.Errorf("stats: %+v", st)
	}

	// The page's shutdown request reaches the tracked root supervisor.
	if err := rec.RequestShutdown(root.ID()); err != nil {
		t.Fatal(err)
	}
	<-done
}

// TestSupervisorGenerations: a child's new generation carries how the one
// before ended, and a supervisor its restarts within its period.
func TestSupervisorGenerations(t *testing.T) {
	c := newClock()
	rec := observer.NewRecorder(observer.WithClock(c.Now))
	sup, a, b := backplane.New(), backplane.New(), backplane.New()
	defer sup.Drop()
	defer a.Drop()
	defer b.Drop()
	src := supervisor.Source{Supervisor: "s", SupervisorID: sup.ID()}
	boom := errors.New("boom")
	rec.RecordSupervisor(supervisor.ChildStarted{Source: src, Instance: supervisor.Instance{Child: "w", Device: a.ID(), Generation: 1}})
	rec.RecordSupervisor(supervisor.ChildExited{Source: src, Instance: supervisor.Instance{Child: "w", Device: a.ID(), Generation: 1},
		Fault: backplane.ErrorFault(boom)})
	c.Advance(time.Second)
	rec.RecordSupervisor(supervisor.ChildRestarted{Source: src, Instance: supervisor.Instance{Child: "w", Device: b.ID(), Generation: 2}})

	get := func(id backplane.DeviceID) observer.DeviceInfo {
		s := rec.Snapshot(observer.SnapshotOptions{Device: id})
		if s == nil {
			t.Fatalf("no device %v", id)
		}
		for _, d := range s.Devices {
			if d.ID == id.String() {
				return d
			}
		}
		t.Fatalf("no device %v", id)
		return observer.DeviceInfo{}
	}
	if d := get(b.ID()); d.Generation != 2 || d.Child != "w" || d.LastExit == nil || d.LastExit.Device != a.ID().String() ||
		d.LastExit.Fault == nil || d.LastExit.Fault.Kind != "error" || !d.LastExit.Time.Equal(t0) {
		t.Errorf("second generation: %+v, last exit %+v", d, d.LastExit)
	}
	if d := get(a.ID()); d.LastExit != nil || d.Generation != 1 {
		t.Errorf("first generation: %+v", d)
	}
	if d := get(sup.ID()); d.Recent != 1 || d.Restarts != 1 || d.Period != "5s" || d.MaxRestarts != 0 {
		t.Errorf("supervisor: recent %d, restarts %d, period %q, max %d", d.Recent, d.Restarts, d.Period, d.MaxRestarts)
	}
	c.Advance(observer.DefaultIntensityPeriod)
	if d := get(sup.ID()); d.Recent != 0 {
		t.Errorf("supervisor after its period: recent %d", d.Recent)
	}
	rec.RecordSupervisor(supervisor.RestartLimitReached{Source: src, Err: &supervisor.RestartLimitError{MaxRestarts: 3, Period: 10 * time.Second}})
	if d := get(sup.ID()); d.Recent != 1 || d.Period != "10s" || d.MaxRestarts != 3 || !d.RestartLimit {
		t.Errorf("supervisor after its limit: recent %d, period %q, max %d", d.Recent, d.Period, d.MaxRestarts)
	}
}

// TestSupervisorIntensityFromEvents: a supervisor's intensity shows as soon
// as one of its events is seen, without waiting for a restart limit.
func TestSupervisorIntensityFromEvents(t *testing.T) {
	rec := observer.NewRecorder()
	sup, a := backplane.New(), backplane.New()
	defer sup.Drop()
	defer a.Drop()
	src := supervisor.Source{Supervisor: "s", SupervisorID: sup.ID(), MaxRestarts: 7, Period: 3 * time.Second}
	rec.RecordSupervisor(supervisor.ChildStarted{Source: src, Instance: supervisor.Instance{Child: "w", Device: a.ID(), Generation: 1}})
	s := rec.Snapshot(observer.SnapshotOptions{Device: sup.ID()})
	if s == nil {
		t.Fatal("no snapshot of the supervisor")
	}
	if d := device(t, s, sup.ID()); d.MaxRestarts != 7 || d.Period != "3s" {
		t.Errorf("supervisor: max %d, period %q; want 7, 3s", d.MaxRestarts, d.Period)
	}
}

// TestSupervisorGroupRestart: a OneForAll supervisor restarts its three
// children when one fails, and counts that as one restart against its
// intensity: so does the recorder, though it records three children
// restarted.
func TestSupervisorGroupRestart(t *testing.T) {
	for range 20 {
		rec := observer.NewRecorder()
		restarted := make(chan struct{}, 3)
		var failed atomic.Bool
		once := supervisor.Func(func(ctx context.Context) error {
			if failed.CompareAndSwap(false, true) {
				return errors.New("boom")
			}
			<-ctx.Done()
			return nil
		})
		wait := supervisor.Func(func(ctx context.Context) error {
			<-ctx.Done()
			return nil
		})
		var supID backplane.DeviceID
		sup, err := supervisor.New(supervisor.WithName("all"), supervisor.WithStrategy(supervisor.OneForAll),
			supervisor.WithIntensity(5, time.Minute),
			supervisor.WithEventHook(func(e supervisor.Event) {
				rec.RecordSupervisor(e)
				if r, ok := e.(supervisor.ChildRestarted); ok {
					supID = r.SupervisorID // written before the send that the test waits on
					restarted <- struct{}{}
				}
			}),
			supervisor.WithChildren(
				supervisor.ChildSpec{ID: "a", Service: wait},
				supervisor.ChildSpec{ID: "b", Service: once},
				supervisor.ChildSpec{ID: "c", Service: wait},
			))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- sup.Serve(ctx) }()
		for range 3 {
			<-restarted
		}
		s := rec.Snapshot(observer.SnapshotOptions{Device: supID})
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Fatal(err)
		}
		if s == nil {
			t.Fatal("no supervisor in the model")
		}
		if d := device(t, s, supID); d.Recent != 1 || d.Restarts != 3 {
			t.Fatalf("supervisor after a group restart: recent %d, restarts %d; want 1 (as it counts them), 3 children restarted", d.Recent, d.Restarts)
		}
	}
}
