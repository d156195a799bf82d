package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/cluster"
	"github.com/backplane-go/backplane/supervisor"
)

// workerKind is the kind of task each child node offers to the parent's
// remote workers (cluster.Node.RegisterKind).
const workerKind = "demo.worker"

// registerWorker offers workerKind on a child node: a task that works until
// it is stopped.
func registerWorker(node *cluster.Node) error {
	return node.RegisterKind(workerKind, func(ctx context.Context, _ []byte) error {
		<-ctx.Done()
		return nil
	})
}

// workers is the parent's supervisor of remote workers: one per child
// node, supervised on the parent, each running on a child node chosen in
// turn (cluster.RoundRobin). When a child node dies, its worker ends
// Unreachable and the supervisor restarts it on a node that is up.
type workers struct {
	con *console
	sup *supervisor.Supervisor

	ids []string // the workers, in start order

	mu sync.Mutex
	on map[string]string // worker -> the node it was last placed on
}

// newWorkers returns the supervisor of one remote worker per child node of
// links; record receives its events for the observer.
func newWorkers(node *cluster.Node, con *console, links []link, record func(supervisor.Event)) *workers {
	w := &workers{con: con, on: make(map[string]string)}
	var nodes []string
	for _, l := range links {
		nodes = append(nodes, l.node)
	}
	rr := cluster.RoundRobin(nodes...)
	var specs []supervisor.ChildSpec
	for i := range links {
		id := fmt.Sprintf("worker-%d", i+1)
		w.ids = append(w.ids, id)
		specs = append(specs, node.RemoteChild(cluster.RemoteSpec{
			ID:        id,
			Kind:      workerKind,
			Placement: w.placed(id, rr),
			Shutdown:  time.Second,
		}))
	}
	sup, err := supervisor.New(
		supervisor.WithName("workers"),
		supervisor.WithIntensity(20, 10*time.Second),
		supervisor.WithBackoff(100*time.Millisecond, time.Second, 0.2),
		supervisor.WithEventHook(func(e supervisor.Event) {
			record(e)
			w.onEvent(e)
		}),
		supervisor.WithChildren(specs...),
	)
	if err != nil {
		panic("backplane-demo: invalid workers supervisor: " + err.Error()) // a bug in this file
	}
	w.sup = sup
	return w
}

// placed wraps place to record, and say, where the worker id goes.
func (w *workers) placed(id string, place cluster.Placement) cluster.Placement {
	return func(ctx context.Context, n *cluster.Node) (string, error) {
		node, err := place(ctx, n)
		if err != nil {
			return node, err
		}
		w.mu.Lock()
		prev := w.on[id]
		w.on[id] = node
		w.mu.Unlock()
		if prev != "" && prev != node {
			w.con.printf("%s: %s moves from %s to %s", parentNode, id, prev, node)
		}
		return node, nil
	}
}

// onEvent says why a worker went down when its node was lost.
func (w *workers) onEvent(e supervisor.Event) {
	x, ok := e.(supervisor.ChildExited)
	if !ok || x.Fault == nil || x.Stopped {
		return
	}
	if _, rf := x.Fault.Root(); rf != nil && rf.Kind == backplane.FaultUnreachable {
		w.mu.Lock()
		node := w.on[x.Child]
		w.mu.Unlock()
		w.con.printf("%s: %s went down with %s: Unreachable, restarting it elsewhere", parentNode, x.Child, node)
	}
}

// serve serves the supervisor until ctx is done, and again if it gives up
// or a start fails (a child node is not up yet), after a pause.
func (w *workers) serve(ctx context.Context) {
	for {
		err := w.sup.Serve(ctx)
		if ctx.Err() != nil {
			return
		}
		w.con.printf("%s: workers: %v; serving them again", parentNode, err)
		t := time.NewTimer(time.Second)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// status is the workers' part of the summary line: where each runs.
func (w *workers) status() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var parts []string
	for _, id := range w.ids {
		if node := w.on[id]; node != "" {
			parts = append(parts, id+" on "+node)
		}
	}
	return "workers: " + strings.Join(parts, ", ")
}
