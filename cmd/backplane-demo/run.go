package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/backplane-go/backplane/internal/demo"
)

// run starts the demo service, serves its observer with serve and prints
// the summary until ctx is done or the fault rounds are played; it then
// stops the service (the whole supervision tree) and the server.
func run(ctx context.Context, o options, out io.Writer, serve serveFunc) error {
	svc := demo.New(demo.Config{Seed: o.seed, Interval: o.interval, Rounds: o.rounds, Pool: o.pool})
	url, stopServing, err := serve(svc.Handler())
	if err != nil {
		return err
	}
	defer stopServing()
	fmt.Fprintf(out, "backplane demo: observer at %s\n", url)
	fmt.Fprintf(out, "a fault every %v, seed %d (-seed %d replays them); Ctrl-C stops\n", o.interval, svc.Seed(), svc.Seed())

	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	sum := &summary{out: out, tty: o.tty, start: time.Now()}
	every := o.refresh
	if !o.tty {
		every *= 10 // a plain line now and then, not a flood
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			sum.final(svc.Stats())
			return err
		case <-tick.C:
			sum.update(svc.Stats())
		}
	}
}
