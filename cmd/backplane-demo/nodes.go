package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/cluster"
	"github.com/backplane-go/backplane/internal/demo"
	"github.com/backplane-go/backplane/supervisor"
)

// parentNode is the node name of the process the user started.
const parentNode = "demo-1"

// maxNodes bounds -nodes: each node is a process.
const maxNodes = 16

// The names of the backends run by the child nodes, and of the frontends
// of the parent that depend on them, by child; past the end of the lists
// they start again with a number.
var (
	backendNames  = []string{"store", "cache", "queue", "search"}
	frontendNames = []string{"orders", "catalog", "billing", "feed"}
)

// link is one dependency across nodes: the frontend on the parent node
// depends on the backend of the child node.
type link struct {
	frontend string
	node     string
	backend  string
}

// topology returns the links of a demo of n nodes: one per child node.
func topology(n int) []link {
	var ls []link
	for i := range n - 1 {
		suffix := ""
		if k := i / len(backendNames); k > 0 {
			suffix = "-" + strconv.Itoa(k+1)
		}
		ls = append(ls, link{
			frontend: frontendNames[i%len(frontendNames)] + suffix,
			node:     "demo-" + strconv.Itoa(i+2),
			backend:  backendNames[i%len(backendNames)] + suffix,
		})
	}
	return ls
}

// runNodes runs the demo as o.nodes processes. This process is node
// demo-1: it runs the demo service and serves its observer as run does,
// starts the other nodes as child processes of its own binary, and runs a
// supervisor of frontends, each depending on the backend of one child
// across the cluster. Once the children are up, it also supervises one
// worker per child that runs on a child node (cluster.Node.RemoteChild),
// placed in turn. The observer shows the proxies of the remote backends,
// the cascades that come from them and, when a child dies, the
// Unreachable cascade; the worker that ran on it moves to another node.
//
// When ctx is done, or the service stops by itself (-rounds), it stops
// the workers and the frontends, then the children (closing their standard input, killing
// them after a grace), then its node, then the service, and waits for
// every goroutine and process it started.
func runNodes(ctx context.Context, o options, out io.Writer, serve serveFunc) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	node, err := cluster.Start(cluster.Config{Name: parentNode})
	if err != nil {
		return err
	}
	defer node.Close() // on early returns; closed in order below otherwise
	con := &console{out: out, tty: o.tty}

	svc := demo.New(demo.Config{Seed: o.seed, Interval: o.interval, Rounds: o.rounds, Pool: o.pool})
	// The page shows the whole cluster: every node publishes its recorder,
	// this one gathers them.
	obs, err := startClusterObserver(node, node.ClientURL(), node.Secret(), svc.Recorder(), true)
	if err != nil {
		return err
	}
	defer obs.close() // on early returns; closed in order below otherwise
	url, stopServing, err := serve(obs.handler(svc.Recorder()))
	if err != nil {
		return err
	}
	defer stopServing()
	fmt.Fprintf(con, "backplane demo: observer at %s\n", url)
	fmt.Fprintf(con, "a fault every %v, seed %d (-seed %d replays them); Ctrl-C stops\n", o.interval, svc.Seed(), svc.Seed())
	fmt.Fprintf(con, "%s: this process, NATS at %s\n", parentNode, node.ClientURL())

	// The service first: its Run installs its recorder as the backplane's
	// hook. The recorder shows the proxies of remote devices under their
	// own IDs (#5@demo-2) and the names they were looked up by.
	svcCtx, stopSvc := context.WithCancel(context.WithoutCancel(ctx))
	defer stopSvc()
	svcDone := make(chan error, 1)
	go func() { svcDone <- svc.Run(svcCtx) }()
	select {
	case <-svc.Ready():
	case err := <-svcDone:
		return err
	}

	links := topology(o.nodes)

	// The children.
	var procsWG sync.WaitGroup
	defer procsWG.Wait()
	procCtx, stopProcs := context.WithCancel(context.WithoutCancel(ctx))
	defer stopProcs()
	procs := make([]*proc, len(links))
	for i, l := range links {
		procs[i] = newProc(childConfig{node: l.node, url: node.ClientURL(), secret: node.Secret(), backend: l.backend, fail: 5 * o.interval}, exe, con, o.restartAfter)
		procsWG.Go(func() {
			if err := procs[i].run(procCtx); err != nil {
				con.printf("%s: cannot start: %v", l.node, err)
			}
		})
	}

	// The frontends.
	fr := newFrontends(node, con, links, svc.Recorder().RecordSupervisor)
	frCtx, stopFrontends := context.WithCancel(context.WithoutCancel(ctx))
	defer stopFrontends()
	frDone := make(chan error, 1)
	go func() { frDone <- fr.serve(frCtx) }()

	// The remote workers, started once the child nodes are up.
	wk := newWorkers(node, con, links, svc.Recorder().RecordSupervisor)
	wkCtx, stopWorkers := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWorkers()
	wkDone := make(chan struct{})

	sum := &summary{out: con, tty: o.tty, start: time.Now(), extra: func() string { return fr.status(procs) + " | " + wk.status() }}
	every := o.refresh
	if !o.tty {
		every *= 10
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	var (
		up      = fr.up
		killC   <-chan time.Time
		killDue bool // kill the last child at its frontend's next link
		victim  = procs[len(procs)-1]
		runErr  error
	)
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case runErr = <-svcDone:
			svcDone = nil
			break loop
		case err := <-frDone:
			frDone = nil
			runErr = err
			break loop
		case <-up:
			up = nil
			con.printf("%s: cluster up: %s", parentNode, fr.describe())
			go func() {
				defer close(wkDone)
				wk.serve(wkCtx)
			}()
			if o.killAfter > 0 {
				t := time.NewTimer(o.killAfter)
				defer t.Stop()
				killC = t.C
			}
		case <-killC:
			killC, killDue = nil, true
		case name := <-fr.relinked:
			// Killed right after its frontend linked to it, the child has
			// a link to fire, rather than a frontend between two links.
			if !killDue || name != links[len(links)-1].frontend {
				continue
			}
			killDue = false
			if pid := victim.kill(); pid != 0 {
				con.printf("%s: killed %s (pid %d) with SIGKILL: its frontend goes down Unreachable", parentNode, victim.cfg.node, pid)
			}
		case <-tick.C:
			sum.update(svc.Stats())
		}
	}

	// Stop in order: the workers and the frontends first, so that stopping
	// the children takes nothing down with it; the node once they are gone;
	// the service last, which puts the previous hook back.
	stopWorkers()
	if up == nil { // the workers were started
		<-wkDone
	}
	stopFrontends()
	if frDone != nil {
		if err := <-frDone; runErr == nil {
			runErr = err
		}
	}
	stopProcs()
	procsWG.Wait()
	obs.close()
	if err := node.Close(); err != nil && runErr == nil {
		runErr = err
	}
	stopSvc()
	if svcDone != nil {
		if err := <-svcDone; runErr == nil {
			runErr = err
		}
	}
	sum.final(svc.Stats())
	fmt.Fprintf(con, "stopped: %d child processes exited, node %s closed\n", len(procs), parentNode)
	return runErr
}

// frontends is the parent's supervisor of frontends, and what they tell
// it: which have found their backend, and the faults they went down with.
type frontends struct {
	node *cluster.Node
	con  *console
	sup  *supervisor.Supervisor
	all  []*frontend

	up       chan struct{} // closed once every frontend has been linked to its backend
	relinked chan string   // the name of a frontend that has just linked; dropped when full
	pending  atomic.Int32  // frontends not linked yet
	remote   atomic.Int64  // cascades whose root is on another node (Unreachable aside)
	unreach  atomic.Int64  // cascades from an Unreachable fault
}

// newFrontends returns the supervisor of the frontends of links; record
// receives its events for the observer.
func newFrontends(node *cluster.Node, con *console, links []link, record func(supervisor.Event)) *frontends {
	fr := &frontends{node: node, con: con, up: make(chan struct{}), relinked: make(chan string, 16)}
	fr.pending.Store(int32(len(links)))
	var specs []supervisor.ChildSpec
	for _, l := range links {
		f := &frontend{link: l, fr: fr}
		fr.all = append(fr.all, f)
		specs = append(specs, supervisor.ChildSpec{ID: l.frontend, Service: f, Shutdown: time.Second})
	}
	sup, err := supervisor.New(
		supervisor.WithName("frontends"),
		supervisor.WithStrategy(supervisor.OneForOne),
		supervisor.WithIntensity(50, 10*time.Second),
		supervisor.WithBackoff(50*time.Millisecond, time.Second, 0.2),
		supervisor.WithEventHook(func(e supervisor.Event) {
			record(e)
			fr.onEvent(e)
		}),
		supervisor.WithChildren(specs...),
	)
	if err != nil {
		panic("backplane-demo: invalid frontends supervisor: " + err.Error()) // a bug in this file
	}
	fr.sup = sup
	return fr
}

// serve serves the supervisor until ctx is done, and again if it gives up.
func (fr *frontends) serve(ctx context.Context) error {
	for {
		err := fr.sup.Serve(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if _, ok := errors.AsType[*supervisor.StartError](err); ok || errors.Is(err, supervisor.ErrAlreadyRunning) {
			return err
		}
	}
}

// onEvent prints the faults the frontends go down with, and counts those
// that come from another node.
func (fr *frontends) onEvent(e supervisor.Event) {
	x, ok := e.(supervisor.ChildExited)
	if !ok || x.Fault == nil || x.Stopped {
		return
	}
	root, rf := x.Fault.Root()
	how := ""
	switch {
	case rf != nil && rf.Kind == backplane.FaultUnreachable:
		fr.unreach.Add(1)
		how = " [Unreachable: its node is gone]"
	case !root.Node().IsZero():
		fr.remote.Add(1)
		how = " [root on " + root.Node().Name + "]"
	}
	fr.con.printf("%s: %s %v went down: %s%s", parentNode, x.Child, x.Device, strings.TrimPrefix(x.Fault.Error(), "backplane: "), how)
}

// linked records that f has found and linked to its backend.
func (fr *frontends) linked(f *frontend) {
	if f.linkedOnce.CompareAndSwap(false, true) && fr.pending.Add(-1) == 0 {
		close(fr.up)
	}
	select {
	case fr.relinked <- f.frontend:
	default:
	}
}

// describe lists the links across nodes, as they are now.
func (fr *frontends) describe() string {
	var parts []string
	for _, f := range fr.all {
		parts = append(parts, fmt.Sprintf("%s -> %s %v", f.frontend, f.backend, f.dep()))
	}
	return strings.Join(parts, ", ")
}

// status is the cluster's part of the summary line.
func (fr *frontends) status(procs []*proc) string {
	var b strings.Builder
	b.WriteString("nodes:")
	for i, p := range procs {
		if i > 0 {
			b.WriteByte(',')
		}
		state := "up"
		if !p.isUp() {
			state = "DOWN"
		}
		fmt.Fprintf(&b, " %s %s", p.cfg.node, state)
	}
	fmt.Fprintf(&b, " | remote cascades %d, unreachable %d", fr.remote.Load(), fr.unreach.Load())
	return b.String()
}

// frontend is a worker of the parent node that depends on a backend on
// another node: it looks the backend up and monitors it, so that the
// backend's fault, or the loss of its node, cascades to it.
type frontend struct {
	link
	fr *frontends

	linkedOnce atomic.Bool                        // linked to its backend at least once
	missing    atomic.Bool                        // its backend cannot be found, and this was said
	cur        atomic.Pointer[backplane.DeviceID] // the backend it last linked to
}

// The frontends' lookups: each waits up to lookupTimeout for an answer,
// and a failed one is tried again after a backoff from lookupRetry to
// lookupRetryMax. An initial search is reported once it lasts quietPeriod.
const (
	lookupTimeout  = time.Second
	lookupRetry    = 250 * time.Millisecond
	lookupRetryMax = 4 * time.Second
	quietPeriod    = 5 * time.Second
)

// Serve runs one generation of the frontend: it finds its backend, links
// itself to it with Monitor, and waits to be stopped or cascaded.
func (f *frontend) Serve(ctx context.Context) error {
	self, _ := supervisor.Self(ctx)
	dep, err := f.find(ctx)
	if err != nil {
		return nil // stopped while looking
	}
	if err := self.Link(dep, backplane.Monitor); err != nil {
		return err // the backend went down meanwhile: the supervisor tries again
	}
	id := dep.ID()
	prev := f.cur.Swap(&id)
	missed := f.missing.Swap(false)
	if missed || (prev != nil && prev.Node() != id.Node()) {
		f.fr.con.printf("%s: %s found %s on %s again: %v", parentNode, f.frontend, f.backend, f.node, id)
	}
	f.fr.linked(f)
	<-ctx.Done()
	return nil
}

// find looks the backend up until it is found or ctx is done, backing off
// between lookups. An outage is reported once when it starts, or once the
// first search has lasted quietPeriod; Serve reports its end, or a backend
// found on a new incarnation of its node.
func (f *frontend) find(ctx context.Context) (backplane.Line, error) {
	start := time.Now()
	wait := lookupRetry
	for {
		lctx, cancel := context.WithTimeout(ctx, lookupTimeout)
		dep, err := f.fr.node.Lookup(lctx, f.node, f.backend)
		cancel()
		if err == nil {
			return dep, nil
		}
		if ctx.Err() != nil {
			return backplane.Line{}, ctx.Err()
		}
		if (f.linkedOnce.Load() || time.Since(start) >= quietPeriod) && !f.missing.Swap(true) {
			f.fr.con.printf("%s: %s cannot find %s on %s (%v); looking again, backing off", parentNode, f.frontend, f.backend, f.node, err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return backplane.Line{}, ctx.Err()
		case <-t.C:
		}
		wait = min(2*wait, lookupRetryMax)
	}
}

// dep returns the backend the frontend last linked to.
func (f *frontend) dep() backplane.DeviceID {
	if id := f.cur.Load(); id != nil {
		return *id
	}
	return backplane.DeviceID{}
}
