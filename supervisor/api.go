package supervisor

import (
	"context"
	"fmt"

	"github.com/backplane-go/backplane"
)

// ChildState is a child's state as reported by Children.
type ChildState uint8

// The child states.
const (
	// ChildRunning: its task is running (or its device went down and the
	// supervisor is waiting for the task to return).
	ChildRunning ChildState = iota + 1
	// ChildRestarting: it ended and a restart is pending (backoff, or a
	// retry after a failed start); OTP's restarting.
	ChildRestarting
	// ChildStopped: it is not running and will not be restarted unless
	// RestartChild is called (OTP's undefined): it ended and is not to be
	// restarted, was terminated, or its Start returned ErrIgnore.
	ChildStopped
)

// String returns "running", "restarting" or "stopped".
func (s ChildState) String() string {
	switch s {
	case ChildRunning:
		return "running"
	case ChildRestarting:
		return "restarting"
	case ChildStopped:
		return "stopped"
	}
	return fmt.Sprintf("ChildState(%d)", uint8(s))
}

// ChildInfo describes one child, as reported by Children.
type ChildInfo struct {
	ID          string         // the child's ID
	State       ChildState     // running, restarting or stopped
	Line        backplane.Line // the child's device while running; the zero Line otherwise
	Generation  uint64         // how many times it was started
	Restart     Restart        // its restart type
	Significant bool           // whether its end can shut the supervisor down
	Supervisor  bool           // the child is a nested supervisor
}

// Counts is what Count reports (OTP's count_children).
type Counts struct {
	Specs       int // children known, in any state
	Active      int // children running
	Supervisors int // children that are nested supervisors
	Workers     int // the other children
}

type reqOp uint8

const (
	opAdd reqOp = iota + 1
	opTerminate
	opRestart
	opDelete
	opChildren
	opCount
)

// request is one run-time API call, handled by the supervisor's loop.
type request struct {
	op    reqOp
	id    string
	spec  ChildSpec
	reply chan reply // buffered 1: the loop's answer never blocks
}

type reply struct {
	id       string
	err      error
	children []ChildInfo
	counts   Counts
}

// call hands q to the current run and waits for its answer. With no
// current run (before Serve, or after it returned) it fails at once with
// ErrNotServing. A call made while Serve is still starting its initial
// children waits for them to start, as the loop answers only then.
func (s *Supervisor) call(ctx context.Context, q *request) (reply, error) {
	if !s.usable() {
		return reply{}, errUnusable
	}
	if ctx == nil {
		return reply{}, &nilContextError{op: q.op.String()}
	}
	if ctx.Err() != nil {
		return reply{}, context.Cause(ctx)
	}
	s.mu.Lock()
	r := s.cur
	s.mu.Unlock()
	if r == nil {
		return reply{}, ErrNotServing
	}
	q.reply = make(chan reply, 1)
	select {
	case r.reqs <- q:
		select {
		case a := <-q.reply:
			return a, a.err
		case <-ctx.Done():
			return reply{}, context.Cause(ctx)
		}
	case <-r.quit:
		return reply{}, ErrNotServing
	case <-ctx.Done():
		return reply{}, context.Cause(ctx)
	}
}

// String names the call, for error messages.
func (o reqOp) String() string {
	switch o {
	case opAdd:
		return "add child"
	case opTerminate:
		return "terminate child"
	case opRestart:
		return "restart child"
	case opDelete:
		return "delete child"
	case opChildren:
		return "children"
	case opCount:
		return "count"
	}
	return "call"
}

// AddChild adds a child and starts it, after the children already there
// (OTP's start_child). It returns the child's ID, generated under the
// Dynamic strategy when spec.ID is empty. It fails with a *ConfigError for
// an invalid spec, ErrAlreadyExists for an ID in use, and a *StartError if
// the child failed to start, in which case it is not added. A child whose
// Start returns ErrIgnore is added as stopped, or not added if it is
// Temporary or the strategy is Dynamic; either way AddChild returns its ID
// and no error, as OTP's start_child returns {ok, undefined}.
//
// It blocks until the child has started (its Starter.Start, or a nested
// supervisor's own start, has returned) or ctx is done; returning early
// does not cancel the addition. Before Serve, or after it returned, it
// fails at once with ErrNotServing (see Ready).
func (s *Supervisor) AddChild(ctx context.Context, spec ChildSpec) (string, error) {
	a, err := s.call(ctx, &request{op: opAdd, spec: spec})
	return a.id, err
}

// TerminateChild stops a child: it asks it to shut down and waits for it
// up to its grace. A Temporary child, and any child of a Dynamic
// supervisor, is then removed; any other stays known as stopped, for
// RestartChild or DeleteChild. It fails with ErrNotFound, or with an error
// matching ErrAbandoned if the child had to be abandoned. Terminating a
// stopped child is a no-op; terminating one waiting for a restart cancels
// the restart. It blocks until the child is stopped or abandoned, or ctx
// is done. Before Serve, or after it returned, it fails at once with
// ErrNotServing.
func (s *Supervisor) TerminateChild(ctx context.Context, id string) error {
	_, err := s.call(ctx, &request{op: opTerminate, id: id})
	return err
}

// RestartChild starts again a child that is stopped (OTP's
// restart_child). It fails with ErrNotFound, ErrRunning if the child is
// running, ErrRestarting if it is waiting for a restart, a *StartError if
// it failed to start, and errors.ErrUnsupported under the Dynamic
// strategy. If the child's Start returns ErrIgnore, the child stays
// stopped and RestartChild returns nil. It blocks until the child has
// started, or ctx is done. Before Serve, or after it returned, it fails
// at once with ErrNotServing.
func (s *Supervisor) RestartChild(ctx context.Context, id string) error {
	_, err := s.call(ctx, &request{op: opRestart, id: id})
	return err
}

// DeleteChild forgets a stopped child (OTP's delete_child). It fails with
// ErrNotFound, ErrRunning if the child is running, ErrRestarting if it is
// waiting for a restart, and errors.ErrUnsupported under the Dynamic
// strategy (whose stopped children are removed already). Before Serve, or
// after it returned, it fails at once with ErrNotServing.
func (s *Supervisor) DeleteChild(ctx context.Context, id string) error {
	_, err := s.call(ctx, &request{op: opDelete, id: id})
	return err
}

// Children lists the children in start order, with their state (OTP's
// which_children): a stopped child, including one whose Start returned
// ErrIgnore, has the zero Line (OTP's undefined). Before Serve, or after
// it returned, it fails at once with ErrNotServing.
func (s *Supervisor) Children(ctx context.Context) ([]ChildInfo, error) {
	a, err := s.call(ctx, &request{op: opChildren})
	return a.children, err
}

// Count counts the children (OTP's count_children): Specs counts every
// known child, Active those running. Before Serve, or after it returned,
// it fails at once with ErrNotServing.
func (s *Supervisor) Count(ctx context.Context) (Counts, error) {
	a, err := s.call(ctx, &request{op: opCount})
	return a.counts, err
}
