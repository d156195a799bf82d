package supervisor

import (
	"context"
	"fmt"
	"math"
	"time"
)

// Service is the worker contract: Serve runs until ctx is cancelled or the
// work ends, and returns nil for a clean end or an error for a failure. It
// is satisfied without importing this package.
//
// A Service must honour ctx: the supervisor cancels it (with a
// *backplane.Crash as the cause) to stop the child, and Go cannot stop a
// goroutine that ignores it. Serve runs in a goroutine the supervisor owns;
// it need not start goroutines of its own, should set up its state afresh
// on each call (a restart calls Serve again on the same value), and a
// panic in it is recovered and reported as a FaultPanic.
type Service interface {
	Serve(ctx context.Context) error
}

// Func adapts a function to the Service interface.
type Func func(ctx context.Context) error

// Serve calls f(ctx).
func (f Func) Serve(ctx context.Context) error { return f(ctx) }

// Starter is implemented by a Service that has an initialisation step that
// must succeed before the next child is started (OTP's init). Start runs in
// the child's goroutine, under its device, just before Serve; the
// supervisor waits for it. An error or a panic from Start is a start
// failure: the child is not counted as started. Start may instead return
// ErrIgnore (OTP's ignore): the child is then not run, stays known as
// stopped and is not restarted (see ErrIgnore). Start must not call the
// run-time API of its own supervisor, which is waiting for it.
type Starter interface {
	Start(ctx context.Context) error
}

// Restart says when a child is restarted after it ends.
type Restart uint8

// The restart types. The zero value is Permanent.
const (
	// Permanent: always restarted, however it ended.
	Permanent Restart = iota
	// Transient: restarted only if it ended with a fault (an error, a panic,
	// a cascade, a kill); a clean end, or a shutdown requested by anyone,
	// leaves it stopped.
	Transient
	// Temporary: never restarted, and removed from the supervisor when it
	// ends, as when a group restart stops it.
	Temporary
)

// String returns "permanent", "transient" or "temporary".
func (r Restart) String() string {
	switch r {
	case Permanent:
		return "permanent"
	case Transient:
		return "transient"
	case Temporary:
		return "temporary"
	}
	return fmt.Sprintf("Restart(%d)", uint8(r))
}

// Special values of ChildSpec.Shutdown.
const (
	// Infinity waits for the child to return however long it takes. It is
	// the default for a nested supervisor.
	Infinity time.Duration = math.MaxInt64
	// BrutalKill does not wait at all: the child's device is killed at once
	// (FaultKilled, its context cancelled) and the child is abandoned.
	BrutalKill time.Duration = -1
)

// DefaultShutdown is the grace given to a worker child whose spec leaves
// Shutdown at zero.
const DefaultShutdown = 5 * time.Second

// ChildSpec describes one child of a supervisor.
//
// The zero values of Restart and Shutdown mean Permanent and the default
// grace (DefaultShutdown for a worker, Infinity for a nested *Supervisor).
type ChildSpec struct {
	// ID names the child among its siblings. It must be unique and not
	// empty, except under the Dynamic strategy where an empty ID is
	// replaced by a generated one.
	ID string
	// Service is the child's work: a Func, any Service, or a nested
	// *Supervisor, which then runs its own loop on the child's device.
	Service Service
	// Restart says when the child is restarted.
	Restart Restart
	// Shutdown is how long the child is given to return after it was asked
	// to stop (or after its device went down under it) before it is
	// abandoned; Infinity waits forever and BrutalKill not at all.
	Shutdown time.Duration
	// Significant marks a child whose own end can shut the supervisor down
	// (see AutoShutdown). It must not be Permanent, and is only allowed
	// when the supervisor's AutoShutdown is not Never.
	Significant bool
}

// isSupervisor reports whether the child is a nested supervisor.
func (s *ChildSpec) isSupervisor() bool {
	_, ok := s.Service.(*Supervisor)
	return ok
}

// hasStart reports whether the child has a start step the supervisor
// waits for: a Starter's Start, or a nested supervisor's own start.
func (s *ChildSpec) hasStart() bool {
	if _, ok := s.Service.(Starter); ok {
		return true
	}
	return s.isSupervisor()
}

func isNilFunc(svc Service) bool {
	f, ok := svc.(Func)
	return ok && f == nil
}

func isUnusableSupervisor(svc Service) bool {
	sup, ok := svc.(*Supervisor)
	return ok && !sup.usable()
}

// grace returns the child's effective shutdown grace.
func (s *ChildSpec) grace() time.Duration {
	if s.Shutdown != 0 {
		return s.Shutdown
	}
	if s.isSupervisor() {
		return Infinity
	}
	return DefaultShutdown
}

// check validates the spec against the supervisor's configuration, the
// OTP rules included: a significant child is never permanent, and exists
// only under a supervisor that shuts down automatically.
func (s *ChildSpec) check(c *config) error {
	bad := func(reason string) error { return &ConfigError{Child: s.ID, Reason: reason} }
	switch {
	case s.ID == "" && c.strategy != Dynamic:
		return bad("empty ID")
	case s.Service == nil:
		return bad("nil Service")
	case isNilFunc(s.Service):
		return bad("nil Func")
	case isUnusableSupervisor(s.Service):
		return bad("nil or zero *Supervisor (make it with New)")
	case s.Restart > Temporary:
		return bad("unknown restart type " + s.Restart.String())
	case s.Shutdown < BrutalKill:
		return bad("negative Shutdown (use BrutalKill or Infinity)")
	case s.Significant && s.Restart == Permanent:
		return bad("a significant child cannot be permanent")
	case s.Significant && c.auto == Never:
		return bad("significant child under a supervisor whose AutoShutdown is Never")
	}
	return nil
}
