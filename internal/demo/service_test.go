package demo

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/observer"
	"github.com/backplane-go/backplane/supervisor"
)

// start runs svc until the test ends and waits until it is ready.
func start(t *testing.T, svc *Service) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- svc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-ran; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	select {
	case <-svc.Ready():
	case err := <-ran:
		ran <- err // for the cleanup
		t.Fatalf("Run ended before the tree was ready: %v", err)
	}
}

// events makes svc report its supervisor events of type typ on the
// returned channel; svc must not have been run yet.
func events(svc *Service, typ supervisor.EventType) <-chan supervisor.Event {
	ch := make(chan supervisor.Event, 64)
	svc.onTest = func(e supervisor.Event) {
		if e.Type() == typ {
			select {
			case ch <- e:
			default: // the test reads the first few only
			}
		}
	}
	return ch
}

// treeOf returns "name<parent" for every alive device of the snapshot.
func treeOf(s *observer.Snapshot) []string {
	names := map[string]string{}
	for _, d := range s.Devices {
		names[d.ID] = d.Name
	}
	var out []string
	for _, d := range s.Devices {
		if d.State == "alive" {
			out = append(out, d.Name+"<"+names[d.Supervisor])
		}
	}
	slices.Sort(out)
	return out
}

func TestTree(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc := New(Config{Pool: 2})
		start(t, svc)
		s := svc.Recorder().Snapshot(observer.SnapshotOptions{})
		if s.Stats.Alive != svc.Devices() || svc.Devices() != fixedDevices+2 {
			t.Errorf("alive = %d, Devices() = %d, want %d", s.Stats.Alive, svc.Devices(), fixedDevices+2)
		}
		want := []string{
			"api<app", "app<", "autoscaler<api", "cache<store", "conn-1<pool", "conn-2<pool",
			"db<store", "jobs<app", "mailer<jobs", "pool<api", "router<api", "scheduler<jobs",
			"sessions<api", "store<app",
		}
		if got := treeOf(s); !slices.Equal(got, want) {
			t.Errorf("tree:\n got %v\nwant %v", got, want)
		}
	})
}

// downWith reports how the device id went down, as the recorder saw it.
func downWith(svc *Service, id backplane.DeviceID) string {
	s := svc.Recorder().Snapshot(observer.SnapshotOptions{Device: id})
	if s == nil {
		return "unknown"
	}
	for _, d := range s.Devices {
		if d.ID == id.String() {
			if d.State != "down" {
				return d.State
			}
			if d.Fault == nil {
				return "clean"
			}
			return d.Fault.Kind
		}
	}
	return "missing"
}

func TestInject(t *testing.T) {
	tests := []struct {
		kind   FaultKind
		target string
		fault  string // how the target's device goes down
		event  supervisor.EventType
	}{
		{FaultError, "router", "error", supervisor.EventChildRestarted},
		{FaultPanic, "mailer", "panic", supervisor.EventChildRestarted},
		{FaultCascade, "", "error", supervisor.EventChildRestarted},
		{FaultStuck, "scheduler", "clean", supervisor.EventChildAbandoned},
		{FaultError, "conn-1", "error", supervisor.EventChildRestarted},
	}
	for _, tt := range tests {
		t.Run(tt.kind.String()+"/"+tt.target, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				svc := New(Config{Pool: 2})
				seen := events(svc, tt.event)
				start(t, svc)
				id, err := svc.Inject(context.Background(), tt.kind, tt.target)
				if err != nil {
					t.Fatalf("Inject: %v", err)
				}
				<-seen // the supervisor reacted: restarted or abandoned it
				if got := downWith(svc, id); got != tt.fault {
					t.Errorf("target went down with %q, want %q", got, tt.fault)
				}
				if got := svc.Stats().Injected[tt.kind]; got != 1 {
					t.Errorf("Stats().Injected[%v] = %d, want 1", tt.kind, got)
				}
			})
		})
	}
}

// TestCascadeReachesThePool fails db and checks where the failure went.
// sessions depends on db alone, and only db's failure can end it: it goes
// down in a cascade from db. cache and the connections depend on db too
// (the connections through sessions), but their own supervisors also learn
// of the failure (store of db's, api of sessions') and stop them as their
// strategies say. Which reaches a device first, the cascade or its
// supervisor's stop, is a race the backplane does not order: so each of
// them went down either in a cascade from db or cleanly, stopped.
func TestCascadeReachesThePool(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc := New(Config{Pool: 2})
		start(t, svc)
		db, err := svc.Inject(context.Background(), FaultCascade, "db")
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // every cascade and every stop has happened by now
		s := svc.Recorder().Snapshot(observer.SnapshotOptions{})
		first := map[string]observer.DeviceInfo{} // each name's first generation
		for _, d := range s.Devices {
			if f, ok := first[d.Name]; !ok || seqOf(d.ID) < seqOf(f.ID) {
				first[d.Name] = d
			}
		}
		fromDB := func(d observer.DeviceInfo) bool {
			return d.Fault != nil && d.Fault.Kind == "cascade" && d.Fault.RootDevice == db.String()
		}
		if d := first["sessions"]; !fromDB(d) {
			t.Errorf("sessions: %s with %+v, want down in a cascade from db", d.State, d.Fault)
		}
		for _, name := range []string{"cache", "conn-1", "conn-2"} {
			d, ok := first[name]
			switch {
			case !ok:
				t.Errorf("%s: not in the snapshot", name)
			case d.State != "down":
				t.Errorf("%s: %s, want down", name, d.State)
			case d.Fault != nil && !fromDB(d):
				t.Errorf("%s: down with %+v, want a cascade from db or a clean stop", name, d.Fault)
			}
		}
	})
}

func TestInjectFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc := New(Config{})
		start(t, svc)
		ctx := context.Background()
		if _, err := svc.Inject(ctx, FaultError, "nobody"); !errors.Is(err, ErrNoTarget) {
			t.Errorf("unknown target: %v, want ErrNoTarget", err)
		}
		if _, err := svc.Inject(ctx, FaultKind(0), "db"); err == nil {
			t.Error("invalid kind: no error")
		}
		if err := svc.Run(ctx); !errors.Is(err, ErrStarted) {
			t.Errorf("second Run: %v, want ErrStarted", err)
		}
	})
}

func TestRounds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc := New(Config{Seed: 3, Interval: 100 * time.Millisecond, Rounds: 12})
		if err := svc.Run(context.Background()); err != nil {
			t.Fatalf("Run: %v", err)
		}
		st := svc.Stats()
		if st.Rounds != 12 || st.Alive != 0 {
			t.Errorf("after Run: %d rounds, %d alive; want 12 rounds, 0 alive", st.Rounds, st.Alive)
		}
		if sum(st.Injected) == 0 || len(st.Faults) == 0 {
			t.Errorf("no fault injected in 12 rounds: %v", st)
		}
	})
}

func TestSeedReplays(t *testing.T) {
	draw := func(seed uint64) []action {
		rng := rand.New(rand.NewPCG(seed, 0))
		var as []action
		for range 50 {
			as = append(as, drawAction(rng))
		}
		return as
	}
	a, b, c := draw(1), draw(1), draw(2)
	if !slices.Equal(a, b) {
		t.Error("the same seed drew different actions")
	}
	if slices.Equal(a, c) {
		t.Error("two seeds drew the same actions")
	}
	kinds := map[FaultKind]bool{}
	for _, x := range a {
		kinds[x.fault] = true
		if x.fault == FaultCascade && !slices.Contains(dependencies, x.target) {
			t.Errorf("cascade from %q, not a dependency", x.target)
		}
	}
	if len(kinds) != 5 { // four kinds and resizes
		t.Errorf("50 rounds drew only %v", kinds)
	}
}

func TestStatsString(t *testing.T) {
	tests := []struct {
		st   Stats
		want string
	}{
		{Stats{Alive: 16, Pool: 4}, "alive 16, pool 4 | faults: none -> 0 devices down | restarts 0, abandoned 0"},
		{
			Stats{
				Alive: 15, Pool: 3,
				Injected: map[FaultKind]int{FaultCascade: 2, FaultError: 1},
				Faults:   map[string]uint64{"cascade": 7, "error": 3},
				Restarts: 9, Abandoned: 1, Limits: 1,
			},
			"alive 15, pool 3 | faults: error 1, cascade 2 -> 10 devices down | restarts 9, abandoned 1, gave up 1",
		},
	}
	for _, tt := range tests {
		if got := tt.st.String(); got != tt.want {
			t.Errorf("got  %s\nwant %s", got, tt.want)
		}
	}
}

func TestFaultKindString(t *testing.T) {
	var names []string
	for _, k := range append(slices.Clone(faultKinds), 0) {
		names = append(names, k.String())
	}
	if got := strings.Join(names, " "); got != "error panic stuck cascade FaultKind(0)" {
		t.Errorf("names: %s", got)
	}
}

func TestRootServedAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc := New(Config{})
		start(t, svc)
		root := svc.tree.root.ID()
		if err := svc.tree.root.Line().Shutdown(backplane.DeviceID{}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // the tree has stopped and started again
		st := svc.Stats()
		if st.TreeRestarts != 1 || st.Alive != svc.Devices() || svc.tree.root.ID() == root {
			t.Errorf("after shutting the root down: %d tree restarts, %d alive, root %v (was %v); want 1, %d, a new root",
				st.TreeRestarts, st.Alive, svc.tree.root.ID(), root, svc.Devices())
		}
	})
}

// seqOf returns the sequence number of a device ID of the snapshot.
func seqOf(id string) uint64 {
	d, _ := observer.ParseID(id)
	return d.Seq()
}
