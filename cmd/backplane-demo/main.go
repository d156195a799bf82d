// Command backplane-demo shows the backplane at work: a few workers linked
// to a service device fail in different ways, and every failure reaches
// exactly the devices that depend on it, with its cause.
//
//	go run ./cmd/backplane-demo
//	go run ./cmd/backplane-demo -duration 5s -workers 8
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"time"

	"github.com/backplane-go/backplane"
)

func main() {
	duration := flag.Duration("duration", 3*time.Second, "stop by itself after this long (0: run until interrupted)")
	workers := flag.Int("workers", 4, "workers per round")
	seed := flag.Uint64("seed", 0, "random seed (0: random)")
	flag.Parse()
	ctx := context.Background()
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	if err := run(ctx, os.Stdout, *workers, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "backplane-demo:", err)
		os.Exit(1)
	}
}

// run plays rounds until ctx is done: each round a service device spawns
// workers linked to it, one of them fails, and the service reports what
// reached it.
func run(ctx context.Context, out io.Writer, workers int, seed uint64) error {
	if seed == 0 {
		seed = rand.Uint64()
	}
	rng := rand.New(rand.NewPCG(seed, 0))
	fmt.Fprintf(out, "backplane demo (seed %d): each round, %d workers watch a service; one fails.\n", seed, workers)
	tick := time.NewTicker(400 * time.Millisecond)
	defer tick.Stop()
	for round := 1; ; round++ {
		if err := playRound(ctx, out, round, workers, rng); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

var failures = []string{"returns an error", "panics", "is shut down", "is killed"}

func playRound(ctx context.Context, out io.Writer, round, workers int, rng *rand.Rand) error {
	service := backplane.New(backplane.WithName(fmt.Sprintf("service-%d", round)))
	defer service.Drop()
	var g backplane.Group
	defer g.Wait()

	victim := rng.IntN(workers)
	how := failures[rng.IntN(len(failures))]
	trigger := make(chan struct{})
	lines := make([]backplane.Line, workers)
	for i := range workers {
		task := func(ctx context.Context) error {
			<-ctx.Done() // workers run until told to stop
			return nil
		}
		if i == victim {
			task = func(ctx context.Context) error {
				select {
				case <-trigger:
				case <-ctx.Done():
					return nil
				}
				switch how {
				case "returns an error":
					return errors.New("disk full")
				case "panics":
					panic("index out of range")
				}
				<-ctx.Done()
				return nil
			}
		}
		l, err := g.Spawn(ctx, service, backplane.Monitor, task, backplane.WithName(fmt.Sprintf("worker-%d", i)))
		if err != nil {
			return err
		}
		lines[i] = l
	}
	close(trigger)
	switch how {
	case "is shut down":
		_ = lines[victim].Shutdown(service.ID())
	case "is killed":
		_ = lines[victim].Kill(service.ID(), errors.New("gave up waiting"))
	}
	m, err := service.Receive(ctx)
	if err != nil {
		return nil // time is up
	}
	fmt.Fprintf(out, "round %d: worker-%d %s -> service heard: %v\n", round, victim, how, m)
	for _, l := range lines {
		_ = l.Shutdown(service.ID())
	}
	return nil
}
