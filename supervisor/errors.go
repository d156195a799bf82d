package supervisor

import (
	"errors"
	"fmt"
	"strings"
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
	// running: terminate it first (OTP's {error, running}).
	ErrRunning = errors.New("supervisor: child is running")

	// ErrRestarting reports a RestartChild or DeleteChild on a child that
	// is waiting to be restarted (a backoff, or a retry after a failed
	// start): terminate it first (OTP's {error, restarting}).
	ErrRestarting = errors.New("supervisor: child is waiting to be restarted")

	// ErrNotServing reports a run-time call (AddChild, TerminateChild,
	// RestartChild, DeleteChild, Children, Count) on a supervisor that is
	// not being served: before Serve was called, or after it returned. It
	// is returned at once; Ready says when a supervisor serves.
	ErrNotServing = errors.New("supervisor: supervisor is not serving")

	// ErrIgnore is returned by a Starter's Start (errors.Is matches it) to
	// say that the child is not to run, as OTP's start function returning
	// ignore: the start succeeds without a running child. The child stays
	// in the supervisor's list as stopped and is not restarted; it is
	// removed instead if it is Temporary or its supervisor's strategy is
	// Dynamic. RestartChild may start it later. Returned by Serve, it is
	// an ordinary error.
	ErrIgnore = errors.New("supervisor: child ignored")

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
	return fmt.Sprintf("supervisor: child %q of %q failed to start: %s", e.Child, e.Supervisor, describe(e.Err))
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
	s := fmt.Sprintf("supervisor: %q gave up: more than %d restarts in %v (last: child %q", e.Supervisor, e.MaxRestarts, e.Period, e.Child)
	if e.Fault != nil {
		s += ": " + describe(e.Fault)
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

// describe renders a cause inside a message of this package: without the
// "backplane: " prefix of the core's errors, so that a message names its
// package once.
func describe(err error) string {
	if err == nil {
		return "<nil>"
	}
	return strings.TrimPrefix(err.Error(), "backplane: ")
}

// nilContextError reports a nil context given to a method of this
// package. It matches backplane.ErrNilArg.
type nilContextError struct{ op string }

func (e *nilContextError) Error() string { return "supervisor: " + e.op + ": nil context" }

func (e *nilContextError) Unwrap() error { return backplane.ErrNilArg }
