package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/cluster"
	"github.com/backplane-go/backplane/observer"
	"github.com/backplane-go/backplane/supervisor"
)

// The environment of a child process of a multi-node demo. The parent sets
// envNode, which makes the binary (the demo's, or its test binary) run as a
// child rather than as the demo.
const (
	envNode    = "BACKPLANE_DEMO_NODE"    // the child's node name, e.g. "demo-2"
	envURL     = "BACKPLANE_DEMO_NATS"    // the NATS URL of the parent's node
	envBackend = "BACKPLANE_DEMO_BACKEND" // the name its backend is registered under
	envFail    = "BACKPLANE_DEMO_FAIL"    // mean time between two backend failures
	// envSecret is the cluster's secret. It travels in the environment,
	// which only the user who runs the demo can read (/proc/PID/environ),
	// never on the command line, which every local user can.
	envSecret = "BACKPLANE_DEMO_SECRET"
)

// childConfig is what a child process is told by its environment.
type childConfig struct {
	node    string        // its node name
	url     string        // NATS URL to connect to
	secret  string        // the cluster's secret
	backend string        // name of its backend device
	fail    time.Duration // mean time between two failures of the backend
}

// isChild reports whether the process was started as a child node.
func isChild() bool { return os.Getenv(envNode) != "" }

// childEnv returns the environment of the child that runs c.
func childEnv(c childConfig) []string {
	return append(os.Environ(),
		envNode+"="+c.node,
		envURL+"="+c.url,
		envBackend+"="+c.backend,
		envFail+"="+c.fail.String(),
		envSecret+"="+c.secret,
	)
}

// childMain is the main function of a child process: it reads its
// configuration from the environment and runs its node until its standard
// input ends (the parent closed it, or died) or SIGTERM. Ctrl-C in the
// terminal reaches the whole process group: a child ignores it and waits
// for its parent to stop it, after the parent's frontends. It returns the
// process's exit code, and prints nothing but errors.
func childMain() int {
	c := childConfig{node: os.Getenv(envNode), url: os.Getenv(envURL), backend: os.Getenv(envBackend), secret: os.Getenv(envSecret)}
	_ = os.Unsetenv(envSecret) // not for whatever this process may start
	fail, err := time.ParseDuration(os.Getenv(envFail))
	if err != nil || fail <= 0 || c.url == "" || c.backend == "" {
		fmt.Fprintf(os.Stderr, "backplane-demo: %s: bad environment: %s=%q %s=%q %s=%q\n", c.node,
			envURL, c.url, envBackend, c.backend, envFail, os.Getenv(envFail))
		return 2
	}
	c.fail = fail
	signal.Ignore(os.Interrupt)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The reader blocks in a read that nothing can interrupt; it ends with
	// the process, which exits as soon as childMain returns.
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	if err := runChild(ctx, c); err != nil {
		fmt.Fprintf(os.Stderr, "backplane-demo: %s: %v\n", c.node, err)
		return 1
	}
	return 0
}

// runChild runs a child node until ctx is done: it joins the parent's
// cluster and serves a supervisor whose one worker, the backend, is
// registered on the node under its name and fails now and then.
func runChild(ctx context.Context, c childConfig) error {
	node, err := cluster.Start(cluster.Config{Name: c.node, URL: c.url, Secret: c.secret})
	if err != nil {
		return err
	}
	defer node.Close()
	// The node's part of the observer's page of the whole cluster.
	rec := observer.NewRecorder(observer.WithRetention(20 * time.Second))
	defer backplane.AddHook(rec.Record)()
	obs, err := startClusterObserver(node, c.url, c.secret, rec, false)
	if err != nil {
		return err
	}
	defer obs.close()
	if err := registerWorker(node); err != nil {
		return err
	}
	sup, err := supervisor.New(
		supervisor.WithName("backend"),
		supervisor.WithEventHook(rec.RecordSupervisor),
		supervisor.WithStrategy(supervisor.OneForOne),
		supervisor.WithIntensity(20, 10*time.Second),
		supervisor.WithBackoff(50*time.Millisecond, time.Second, 0.2),
		supervisor.WithChildren(supervisor.ChildSpec{
			ID:       c.backend,
			Service:  &backend{node: node, name: c.backend, fail: c.fail},
			Shutdown: time.Second,
		}),
	)
	if err != nil {
		return err
	}
	for ctx.Err() == nil {
		// The supervisor stops by itself only when it gave up: serve it
		// again, as an application's main would.
		err = sup.Serve(ctx)
		if _, ok := errors.AsType[*supervisor.StartError](err); ok || errors.Is(err, supervisor.ErrAlreadyRunning) {
			return err
		}
	}
	return nil
}

// backend is the worker of a child node: a device registered on the node,
// which the parent's frontends depend on, and which fails after a random
// time around its mean, with an error or a panic.
type backend struct {
	node *cluster.Node
	name string
	fail time.Duration
	runs int // generations run; the supervisor runs one at a time
}

// Serve runs one generation of the backend.
func (b *backend) Serve(ctx context.Context) error {
	self, _ := supervisor.Self(ctx)
	// The previous generation's name is freed when the node sees it down,
	// which may not have happened yet: take the name over.
	b.node.Unregister(b.name)
	if err := b.node.Register(b.name, self); err != nil {
		return err
	}
	b.runs++
	t := time.NewTimer(b.fail/2 + rand.N(b.fail))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return nil
	case <-t.C:
	}
	switch b.runs % 3 {
	case 0:
		var m map[string]int
		//lint:ignore SA5000 the genuine runtime error this backend exists to show
		m[b.name]++ // a genuine bug: assignment to entry in nil map
	case 1:
		return errors.New("disk full")
	}
	return errors.New("checksum mismatch in block " + strconv.Itoa(rand.IntN(1<<16)))
}
