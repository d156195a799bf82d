package observer_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

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
