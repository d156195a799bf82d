package demo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/backplane-go/backplane"
)

// FaultKind is a kind of fault the service injects.
type FaultKind uint8

// The kinds of fault.
const (
	// FaultError: the worker returns an error.
	FaultError FaultKind = iota + 1
	// FaultPanic: the worker panics (a genuine runtime error).
	FaultPanic
	// FaultStuck: the worker ignores its cancellation for Config.StuckFor.
	// A watchdog asks it to shut down; its supervisor waits for it for its
	// grace, abandons it and starts a new one.
	FaultStuck
	// FaultCascade: a dependency (db by default, or sessions) returns an
	// error, and every device that monitors it goes down in a cascade.
	FaultCascade
)

// faultKinds lists the kinds of fault, in order.
var faultKinds = []FaultKind{FaultError, FaultPanic, FaultStuck, FaultCascade}

// String returns the kind's name: "error", "panic", "stuck" or "cascade".
func (k FaultKind) String() string {
	switch k {
	case FaultError:
		return "error"
	case FaultPanic:
		return "panic"
	case FaultStuck:
		return "stuck"
	case FaultCascade:
		return "cascade"
	}
	return fmt.Sprintf("FaultKind(%d)", uint8(k))
}

// ErrNoTarget reports a worker that is not running: unknown, or down
// (restarting, or stuck).
var ErrNoTarget = errors.New("demo: no such worker running")

// targets lists the workers a fault round can pick, in the order the seeded
// generator indexes them. "conn-" stands for a connection of the pool; the
// others are the fixed workers.
var targets = []string{"db", "cache", "router", "sessions", "scheduler", "mailer", scalerName, connPrefix}

// dependencies are the workers others monitor: the targets of FaultCascade.
var dependencies = []string{"db", "sessions"}

// Inject makes the running worker called target act out the fault, and
// returns the ID of its device once that device has gone down. The workers
// are db, cache, router, sessions, autoscaler, scheduler, mailer and the
// pool's connections conn-1, conn-2 and so on; for FaultCascade, target ""
// means db.
//
// It fails with ErrNoTarget if no such worker is running, and with
// context.Cause(ctx) if ctx is done first. It blocks until the worker's
// device is down, which takes a moment for a running worker.
func (s *Service) Inject(ctx context.Context, kind FaultKind, target string) (backplane.DeviceID, error) {
	if kind < FaultError || kind > FaultCascade {
		return backplane.DeviceID{}, fmt.Errorf("demo: invalid fault kind %d", uint8(kind))
	}
	if kind == FaultCascade && target == "" {
		target = dependencies[0]
	}
	e, ok := s.reg.get(target)
	if !ok {
		return backplane.DeviceID{}, fmt.Errorf("%w: %q", ErrNoTarget, target)
	}
	select {
	case e.cmds <- command{fault: kind}:
	case <-e.line.Done():
		return backplane.DeviceID{}, fmt.Errorf("%w: %q", ErrNoTarget, target)
	case <-ctx.Done():
		return backplane.DeviceID{}, context.Cause(ctx)
	}
	if kind == FaultStuck {
		// The watchdog: the worker stopped answering, ask for its shutdown.
		_ = e.line.Shutdown(backplane.DeviceID{})
	}
	select {
	case <-e.line.Done():
	case <-ctx.Done():
		return backplane.DeviceID{}, context.Cause(ctx)
	}
	s.mu.Lock()
	s.injected[kind]++
	s.mu.Unlock()
	return e.line.ID(), nil
}

// chaos waits for the tree to be ready, then plays the fault rounds, one
// per Config.Interval, until ctx is done or Config.Rounds are played.
func (s *Service) chaos(ctx context.Context) {
	if !s.waitReady(ctx) {
		return
	}
	if s.cfg.Interval <= 0 {
		<-ctx.Done()
		return
	}
	rng := rand.New(rand.NewPCG(s.cfg.Seed, 0x62706c616e65)) // only this goroutine uses it
	tick := time.NewTicker(s.cfg.Interval)
	defer tick.Stop()
	for round := 1; s.cfg.Rounds <= 0 || round <= s.cfg.Rounds; round++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		s.playRound(ctx, rng)
	}
}

// action is what a fault round does: inject a fault, or resize the pool.
type action struct {
	fault  FaultKind // zero for a resize
	resize int       // +1 or -1 for a resize
	target string    // a name from targets ("conn-": one of the pool's)
	pick   uint64    // picks the connection when target is "conn-"
}

// drawAction draws the next round's action. It draws the same three
// numbers every round, so that a seed always gives the same sequence.
func drawAction(rng *rand.Rand) action {
	roll, pick, extra := rng.IntN(100), rng.IntN(len(targets)), rng.Uint64()
	a := action{target: targets[pick], pick: extra}
	switch {
	case roll < 15:
		a.resize, a.target = []int{+1, -1}[extra%2], scalerName
	case roll < 45:
		a.fault = FaultError
	case roll < 70:
		a.fault = FaultPanic
	case roll < 80:
		a.fault = FaultStuck
	default:
		a.fault = FaultCascade
		a.target = dependencies[pick%len(dependencies)]
	}
	return a
}

// playRound plays one fault round.
func (s *Service) playRound(ctx context.Context, rng *rand.Rand) {
	a := drawAction(rng)
	s.mu.Lock()
	s.rounds++
	s.mu.Unlock()
	if a.resize != 0 {
		s.orderResize(ctx, a.resize)
		return
	}
	if a.target == connPrefix {
		conns := s.reg.conns()
		if len(conns) == 0 {
			return
		}
		a.target = conns[a.pick%uint64(len(conns))]
	}
	_, _ = s.Inject(ctx, a.fault, a.target) // a target that is down is spared
}

// waitReady waits for the root to have started and every worker to be
// running, then closes s.ready. It reports false if ctx is done first.
func (s *Service) waitReady(ctx context.Context) bool {
	select {
	case <-s.started:
	case <-ctx.Done():
		return false
	}
	for {
		changed, ok := s.reg.running(targets[:len(targets)-1], s.cfg.Pool) // the fixed workers, and the pool
		if ok {
			close(s.ready)
			return true
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return false
		}
	}
}

// orderResize tells the autoscaler to grow (+1) or shrink (-1) the pool.
func (s *Service) orderResize(ctx context.Context, delta int) {
	e, ok := s.reg.get(scalerName)
	if !ok {
		return
	}
	select {
	case e.cmds <- command{resize: delta}:
	case <-e.line.Done():
	case <-ctx.Done():
	}
}
