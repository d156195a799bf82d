package supervisor

import (
	"context"
	"sync"

	"github.com/backplane-go/backplane"
)

// Supervisor runs children, restarts them by its strategy and stops them
// in order. It is itself a Service: serve it yourself with Serve, or make
// it the Service of a parent's ChildSpec to build a tree.
//
// Make one with New; the zero Supervisor is not usable. A Supervisor is
// configured once and may be served many times, but only once at a time:
// each Serve starts from the configured children (children added at run
// time are forgotten when it ends, as in OTP). All methods are safe for
// concurrent use; the run-time API (AddChild, TerminateChild, RestartChild,
// DeleteChild, Children, Count) talks to the supervisor's loop through a
// channel and waits for its answer, so it blocks while the loop is busy
// (starting a child, or waiting for one to stop). It answers while the
// supervisor serves: Ready says when that begins; before Serve, and after
// Serve returned, every call fails at once with ErrNotServing; a call made
// while Serve starts the initial children waits for them.
//
// Cost: the supervisor runs in the goroutine that called Serve, plus one
// goroutine per child, reused across restarts; each run of a child also
// has a backplane device. A restart (the child fails, is restarted and
// running again) costs about 2µs; see the package doc.
type Supervisor struct {
	cfg  config
	made bool // made by New; the zero Supervisor is not usable

	mu        sync.Mutex
	cur       *run          // the current run; nil when not served
	ready     chan struct{} // the current or next run's: closed once it serves
	abandoned []chan struct{}
}

// New returns a supervisor configured by opts, or a *ConfigError if the
// configuration is invalid. It starts nothing: call Serve.
//
// Defaults, for what no option sets:
//   - name "supervisor" (WithName);
//   - strategy OneForOne (WithStrategy);
//   - intensity: at most 3 restarts in 5 seconds (WithIntensity);
//   - no backoff: restarts at once (WithBackoff);
//   - AutoShutdown Never (WithAutoShutdown);
//   - no event hook (WithEventHook);
//   - no children (WithChildren);
//   - per child: Permanent, shutdown grace DefaultShutdown (5s) for a
//     worker and Infinity for a nested supervisor, not significant.
//
// New rejects the combinations OTP rejects: a significant child that is
// Permanent, a significant child under AutoShutdown Never, and
// AutoShutdown with the Dynamic strategy; as well as duplicate or empty
// child IDs, nil services, and out-of-range values.
func New(opts ...Option) (*Supervisor, error) {
	cfg := defaults()
	for _, o := range opts {
		if o != nil {
			o.apply(&cfg)
		}
	}
	if err := cfg.check(); err != nil {
		return nil, err
	}
	cfg.children = append([]ChildSpec(nil), cfg.children...)
	return &Supervisor{cfg: cfg, made: true, ready: make(chan struct{})}, nil
}

// errUnusable is returned by every method of a nil or zero Supervisor.
var errUnusable = &ConfigError{Reason: "nil or zero Supervisor: make one with New"}

// usable reports whether s was made by New.
func (s *Supervisor) usable() bool { return s != nil && s.made }

// Name returns the supervisor's name ("" for a nil or zero Supervisor).
func (s *Supervisor) Name() string {
	if !s.usable() {
		return ""
	}
	return s.cfg.name
}

// Strategy returns the supervisor's restart strategy.
func (s *Supervisor) Strategy() Strategy {
	if !s.usable() {
		return OneForOne
	}
	return s.cfg.strategy
}

// Serve runs the supervisor under a device of its own until it stops, and
// returns why:
//   - nil after an auto-shutdown;
//   - a *backplane.Crash of kind CrashPowerOff when someone asked its
//     device to shut down (Line().Shutdown);
//   - context.Cause(ctx) when ctx was cancelled;
//   - a *RestartLimitError when it gave up restarting;
//   - a *StartError when a child failed to start at first;
//   - a *backplane.Crash of kind CrashCascade when a device it watches
//     faulted (see Line to link it), or CrashKilled when its device was
//     killed.
//
// In every case but the cascade and the kill, it first stops its children
// in reverse start order, each fully stopped or abandoned before the next,
// and only then disconnects: cleanly, or with the *StartError or
// *RestartLimitError as its fault. On a cascade or a kill its device goes
// down at once and its children cascade with it; it then waits for each of
// them up to its grace. Serve returns once every child is stopped or
// abandoned and every goroutine it started has returned, except those of
// abandoned children, which Go cannot stop (see WaitAbandoned).
//
// Children's contexts carry ctx's values but are not cancelled by ctx
// directly: cancelling ctx makes the supervisor stop them, in order.
func (s *Supervisor) Serve(ctx context.Context) error {
	if !s.usable() {
		return errUnusable
	}
	if ctx == nil {
		return &nilContextError{op: "serve"}
	}
	dev := backplane.New(backplane.WithName(s.cfg.name))
	defer dev.Drop()
	return s.run(ctx, dev, nil)
}

// Line returns the Line of the supervisor's device while it is served
// (link it to other devices, or ask it to shut down), and the zero Line
// otherwise.
func (s *Supervisor) Line() backplane.Line {
	if !s.usable() {
		return backplane.Line{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil {
		return backplane.Line{}
	}
	return s.cur.dev.Line()
}

// ID returns the ID of the supervisor's device while it is served, and the
// zero DeviceID otherwise.
func (s *Supervisor) ID() backplane.DeviceID { return s.Line().ID() }

// WaitAbandoned blocks until the goroutine of every child this supervisor
// has abandoned has returned, or ctx is done (it then returns
// context.Cause(ctx)). Abandoning a child stops the supervisor from
// waiting for it, but Go cannot stop a goroutine: an owner that must know
// nothing it started is still running (a test, a process about to exit
// cleanly) calls this. It returns at once when nothing was abandoned.
func (s *Supervisor) WaitAbandoned(ctx context.Context) error {
	if !s.usable() {
		return nil
	}
	s.mu.Lock()
	list := append([]chan struct{}(nil), s.abandoned...)
	s.mu.Unlock()
	for _, done := range list {
		select {
		case <-done:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	s.mu.Lock()
	// Forget the goroutines that have returned.
	kept := s.abandoned[:0]
	for _, done := range s.abandoned {
		select {
		case <-done:
		default:
			kept = append(kept, done)
		}
	}
	clear(s.abandoned[len(kept):])
	s.abandoned = kept
	s.mu.Unlock()
	return nil
}

// addAbandoned records the done channel of an abandoned child goroutine.
// Goroutines that have returned since are forgotten now and then, so the
// list stays as long as the number still running, give or take half.
func (s *Supervisor) addAbandoned(done chan struct{}) {
	s.mu.Lock()
	if len(s.abandoned) >= 8 && len(s.abandoned) == cap(s.abandoned) {
		kept := s.abandoned[:0]
		for _, d := range s.abandoned {
			select {
			case <-d:
			default:
				kept = append(kept, d)
			}
		}
		clear(s.abandoned[len(kept):])
		s.abandoned = kept
	}
	s.abandoned = append(s.abandoned, done)
	s.mu.Unlock()
}

// Ready returns a channel closed once the supervisor serves: Serve has
// started its initial children (OTP's start_link returns then) and its
// run-time API answers. While it is not served, the channel returned is
// that of the next Serve; when that Serve returns, having served or failed
// to start its children, a call to Ready returns a new channel, for the
// Serve after it. So a caller that starts Serve in a goroutine waits for
// Ready or for Serve's result:
//
//	go func() { errc <- sup.Serve(ctx) }()
//	select {
//	case <-sup.Ready(): // serving: the run-time API answers
//	case err := <-errc: // failed to start its children, or already ended
//	}
//
// A nested supervisor is ready each time its parent has (re)started it.
// Ready never blocks; for a nil or zero Supervisor it returns a nil
// channel, which is never ready.
func (s *Supervisor) Ready() <-chan struct{} {
	if !s.usable() {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ready
}

// attach makes r the current run; it fails if another run is current.
func (s *Supervisor) attach(r *run) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur != nil {
		return false
	}
	s.cur = r
	return true
}

// serving records that r, the current run, has started its initial
// children: Ready's channel closes.
func (s *Supervisor) serving(r *run) {
	s.mu.Lock()
	if s.cur == r {
		r.served = true
		close(s.ready)
	}
	s.mu.Unlock()
}

// detach ends the current run r, before its quit channel closes, so that a
// caller that sees quit closed finds no current run. If r was ready, the
// next run gets a new Ready channel.
func (s *Supervisor) detach(r *run) {
	s.mu.Lock()
	if s.cur == r {
		s.cur = nil
		if r.served {
			s.ready = make(chan struct{})
		}
	}
	s.mu.Unlock()
}
