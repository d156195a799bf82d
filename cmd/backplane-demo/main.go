// Command backplane-demo runs a small supervised service that fails on
// purpose, and shows it live in the observer: supervisors, workers and a
// dynamic pool, random errors, panics, stuck tasks and cascades along
// links, and the restarts that heal them.
//
//	go run ./cmd/backplane-demo                      # until Ctrl-C
//	go run ./cmd/backplane-demo -duration 30s -seed 42
//	go run ./cmd/backplane-demo -addr 127.0.0.1:0    # any free port
//	go run ./cmd/backplane-demo -nodes 3 -kill-after 10s
//
// It prints the observer's URL, then a one-line summary refreshed in place
// (a line every few seconds when its output is not a terminal). Ctrl-C or
// SIGTERM stops the supervision tree cleanly. The service itself is package
// github.com/backplane-go/backplane/internal/demo.
//
// With -nodes N, the demo runs as N processes linked by package
// github.com/backplane-go/backplane/cluster: this process is node demo-1,
// and starts nodes demo-2 to demo-N as child processes of its own binary,
// each running a supervised backend that fails now and then. Frontends
// supervised on demo-1 depend on those backends, so the observer shows
// links to remote devices and cascades whose root is on another node. A
// child killed (kill -9 on the PID printed at start, or -kill-after) takes
// its frontend down with an Unreachable fault; demo-1 starts it again after
// -restart-after, and the frontend finds its backend again. demo-1 also
// supervises one worker per child node that runs on a child node
// (cluster.Node.RemoteChild): the worker of a child killed moves to
// another node, and the summary line says where each worker runs. Every
// node publishes its observer's model (package observer/clusterview), so
// the page served by demo-1 shows the whole cluster: each node's
// supervisors, devices and faults, and the list of nodes (the "nodes"
// view), where a killed node's run goes down and its new incarnation
// appears.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// options are the command's flags.
type options struct {
	addr     string
	duration time.Duration
	seed     uint64
	interval time.Duration
	rounds   int
	pool     int
	refresh  time.Duration // summary refresh on a terminal; 10× that otherwise
	tty      bool          // redraw the summary in place

	nodes        int           // processes of the demo; 1: this one alone
	killAfter    time.Duration // SIGKILL the last child this long after the cluster is up, at its frontend's next link (0: never)
	restartAfter time.Duration // start a dead child again after this long (0: never)
}

// parseFlags parses the command line; usage and flag errors go to stderr.
func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("backplane-demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "serve the observer on this address (port 0: any free port)")
	fs.DurationVar(&o.duration, "duration", 0, "stop by itself after this long (0: run until interrupted)")
	fs.Uint64Var(&o.seed, "seed", 0, "seed of the fault injection, for a reproducible sequence of faults (0: random)")
	fs.DurationVar(&o.interval, "interval", 700*time.Millisecond, "time between two fault rounds")
	fs.IntVar(&o.rounds, "rounds", 0, "stop after this many fault rounds (0: no limit)")
	fs.IntVar(&o.pool, "pool", 4, "connections in the dynamic pool at start")
	fs.IntVar(&o.nodes, "nodes", 1, "run the demo as this many processes linked over NATS (at most 16)")
	fs.DurationVar(&o.killAfter, "kill-after", 0, "with -nodes: SIGKILL the last child process this long after the cluster is up, as soon as its frontend has linked to it (0: never)")
	fs.DurationVar(&o.restartAfter, "restart-after", 3*time.Second, "with -nodes: start a child process that died again after this long (0: never)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: backplane-demo [flags]\n\nRuns a supervised service that fails on purpose and serves the observer page.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	switch {
	case o.interval <= 0:
		return o, errors.New("-interval must be positive")
	case o.pool <= 0:
		return o, errors.New("-pool must be positive")
	case o.rounds < 0:
		return o, errors.New("-rounds must not be negative")
	case o.duration < 0:
		return o, errors.New("-duration must not be negative")
	case o.nodes < 1 || o.nodes > maxNodes:
		return o, fmt.Errorf("-nodes must be between 1 and %d", maxNodes)
	case o.killAfter < 0:
		return o, errors.New("-kill-after must not be negative")
	case o.restartAfter < 0:
		return o, errors.New("-restart-after must not be negative")
	}
	o.refresh = 250 * time.Millisecond
	return o, nil
}

func main() {
	if isChild() {
		os.Exit(childMain()) // a node of a multi-node demo, started by demo-1
	}
	o, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "backplane-demo:", err)
		os.Exit(2)
	}
	o.tty = isTerminal(os.Stdout)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	context.AfterFunc(ctx, stop) // a second Ctrl-C kills at once
	if o.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.duration)
		defer cancel()
	}
	runDemo := run
	if o.nodes > 1 {
		runDemo = runNodes
	}
	if err := runDemo(ctx, o, os.Stdout, listenTCP(o.addr)); err != nil {
		fmt.Fprintln(os.Stderr, "backplane-demo:", err)
		os.Exit(1)
	}
}
