package demo

import (
	"time"

	"github.com/backplane-go/backplane/supervisor"
)

// The names of the tree's supervisors and workers: each is the child ID in
// its supervisor's spec and the name of its device.
const (
	rootName      = "app"
	lastRootChild = "jobs"
	poolName      = "pool"
	scalerName    = "autoscaler"
	connPrefix    = "conn-"
)

// fixedDevices counts the devices of the tree without the pool's
// connections: 5 supervisors and 7 workers.
const fixedDevices = 12

// tree holds the service's supervisors.
type tree struct {
	root *supervisor.Supervisor
	pool *supervisor.Supervisor
	all  []*supervisor.Supervisor // every supervisor, root first
}

// newTree builds the supervision tree described in the package doc.
func (s *Service) newTree() *tree {
	t := &tree{}
	sup := func(name string, strategy supervisor.Strategy, restarts int, children ...supervisor.ChildSpec) *supervisor.Supervisor {
		sv, err := supervisor.New(
			supervisor.WithName(name),
			supervisor.WithStrategy(strategy),
			supervisor.WithIntensity(restarts, 10*time.Second),
			supervisor.WithBackoff(50*time.Millisecond, time.Second, 0.2),
			supervisor.WithEventHook(s.onEvent),
			supervisor.WithChildren(children...),
		)
		if err != nil {
			panic("demo: invalid supervision tree: " + err.Error()) // a bug in this file
		}
		t.all = append(t.all, sv)
		return sv
	}
	child := func(name string, svc supervisor.Service) supervisor.ChildSpec {
		return supervisor.ChildSpec{ID: name, Service: svc, Shutdown: s.cfg.Grace}
	}
	nested := func(sv *supervisor.Supervisor) supervisor.ChildSpec {
		return supervisor.ChildSpec{ID: sv.Name(), Service: sv}
	}
	work := func(name string, deps ...string) supervisor.ChildSpec {
		return child(name, &worker{svc: s, name: name, deps: deps})
	}

	store := sup("store", supervisor.OneForAll, 5,
		work("db"),
		work("cache", "db"),
	)
	t.pool = sup(poolName, supervisor.Dynamic, 50)
	api := sup("api", supervisor.RestForOne, 5,
		work("router"),
		work("sessions", "db"),
		nested(t.pool),
		child(scalerName, &scaler{worker: worker{svc: s, name: scalerName}}),
	)
	jobs := sup(lastRootChild, supervisor.OneForOne, 5,
		work("scheduler"),
		work("mailer"),
	)
	t.root = sup(rootName, supervisor.OneForOne, 10, nested(store), nested(api), nested(jobs))
	// Root first, as documented.
	t.all = append([]*supervisor.Supervisor{t.root}, t.all[:len(t.all)-1]...)
	return t
}
