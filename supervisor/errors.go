package supervisor

import (
	"errors"
	"fmt"
	"time"

	"github.com/backplane-go/backplane"
)

// Sentinel errors returned by the run-time API. Match them with errors.Is.
var (
	// ErrNotFound reports a child ID the supervisor does not know.
	ErrNotFound = errors.New("supervisor: no such child")

	// ErrAlreadyExists reports an AddChild with an ID already in use.
	ErrAlreadyExists = errors.New("supervisor: a child with this ID already exists")

	// ErrRunning reports a RestartChild or DeleteChild on a child that is
	// running or waiting to be restarted: terminate it first.
	ErrRunning = errors.New("supervisor: child is running")

	// ErrNotRunning reports a run-time call on a supervisor that has run
	// and is not running any more.
	ErrNotRunning = errors.New("supervisor: supervisor is not running")

	// ErrAlreadyRunning is returned by Serve when the supervisor is already
	// being served: a Supervisor runs once at a time.
	ErrAlreadyRunning = errors.New("supervisor: supervisor is already running")

	// ErrAbandoned reports a child that was not stopped: it did not return
	// within its shutdown grace (or its grace is BrutalKill), so the
	// supervisor killed its device and stopped waiting for its goroutine.
	ErrAbandoned = errors.New("supervisor: child abandoned")

	// ErrShutdownTimeout is the reason given to Line.Kill, and kept in the
	// FaultKilled fault, when a child did not return within its grace.
	ErrShutdownTimeout = errors.New("supervisor: shutdown grace expired")

	// ErrBrutalKill is the reason given to Line.Kill, and kept in the
	// FaultKilled fault, when a child with BrutalKill shutdown is stopped.
	ErrBrutalKill = errors.New("supervisor: brutal kill")
)

// StartError reports a child that failed to start: its Start method
// returned an error or panicked, its task ended before it was started, or,
// for a nested supervisor, one of its own children failed to start. Serve
// returns it (and the supervisor's device disconnects with it) when the
// initial start fails; AddChild and RestartChild return it too.
type StartError struct {
	Supervisor string // the supervisor's name
	Child      string // the ID of the child that failed
	Err        error  // why it failed
}

// Error names the supervisor, the child and the reason.
func (e *StartError) Error() string {
	return fmt.Sprintf("supervisor: %s: child %q failed to start: %v", e.Supervisor, e.Child, e.Err)
}

// Unwrap returns the reason.
func (e *StartError) Unwrap() error { return e.Err }

// RestartLimitError is the fault of a supervisor that gave up: more than
// MaxRestarts restarts were needed within Period. The supervisor stops its
// children, disconnects with this error (a backplane FaultError carrying
// it, so that its parent escalates), and Serve returns it.
type RestartLimitError struct {
	Supervisor  string           // the supervisor's name
	MaxRestarts int              // the intensity that was exceeded
	Period      time.Duration    // the intensity period
	Child       string           // the child whose exit needed one restart too many
	Fault       *backplane.Fault // that child's fault (nil if it exited cleanly)
}

// Error names the supervisor, the limit and the child that exceeded it.
func (e *RestartLimitError) Error() string {
	s := fmt.Sprintf("supervisor: %s: more than %d restarts in %v (last: child %q", e.Supervisor, e.MaxRestarts, e.Period, e.Child)
	if e.Fault != nil {
		s += ": " + e.Fault.Error()
	}
	return s + ")"
}

// Unwrap returns the last child's fault, so errors.Is and errors.As reach
// the error that broke the camel's back.
func (e *RestartLimitError) Unwrap() error {
	if e.Fault == nil {
		return nil
	}
	return e.Fault
}

// ConfigError reports an invalid supervisor option or child spec, found by
// New or by AddChild.
type ConfigError struct {
	Child  string // the child spec at fault; "" for a supervisor option
	Reason string // what is wrong
}

// Error describes the problem.
func (e *ConfigError) Error() string {
	if e.Child == "" {
		return "supervisor: invalid option: " + e.Reason
	}
	return fmt.Sprintf("supervisor: invalid child %q: %s", e.Child, e.Reason)
}
