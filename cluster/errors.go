package cluster

import (
	"errors"
	"fmt"
	"strings"

	"github.com/backplane-go/backplane"
)

var (
	// ErrClosed reports an operation on a Node that has been closed. It is
	// also the reason in the faults (UnreachableError) and NodeEvents of
	// the sessions that Close ended.
	ErrClosed = errors.New("cluster: node closed")

	// ErrNoDevice reports a device that its node does not know (any more):
	// it has disconnected, or its ID was never made known to other nodes
	// (see Node.Register). A proxy for such a device disconnects with a
	// Fault of kind FaultUnreachable wrapping ErrNoDevice.
	ErrNoDevice = errors.New("cluster: no such device on its node")

	// ErrNotFound reports a Lookup of a name that is not registered on the
	// node asked.
	ErrNotFound = errors.New("cluster: name not registered")

	// ErrUnknownNode is wrapped, beside the context's cause, by the error
	// of a Lookup whose context ended while no node of the name asked was
	// known here: none had sent this node anything in a session still
	// live. The name may be misspelt, or the node not running, in another
	// Cluster or NATS system, or refused by NATS for lack of the cluster's
	// credentials (Config.Secret).
	ErrUnknownNode = errors.New("cluster: unknown node")

	// ErrInsecure reports a Start that would connect to an external NATS
	// (Config.URL) without credentials while Config.Insecure is false.
	ErrInsecure = errors.New("cluster: no credentials")

	// ErrLocalID reports a local DeviceID passed where a remote one is
	// expected: a device of this process is linked through its own Line.
	ErrLocalID = errors.New("cluster: ID of a device of this process")

	// ErrUnreachable reports that a node cannot be reached: the session to
	// it ended or could not be opened. Faults of kind FaultUnreachable made
	// by this package wrap an *UnreachableError, which unwraps to it.
	ErrUnreachable = errors.New("cluster: node unreachable")
)

// UnreachableError says which node could not be reached and why: the
// transport's reason (a heartbeat timeout, a gap in the sequence of frames,
// the peer's restart or goodbye, the closing of the peer's NATS connection,
// the loss of this node's), or
// ErrNoDevice when the node answered that the device is gone.
type UnreachableError struct {
	Node   backplane.NodeID
	Reason error
}

// Error describes the failure.
func (e *UnreachableError) Error() string {
	if errors.Is(e.Reason, ErrNoDevice) {
		return fmt.Sprintf("cluster: no such device on node %v", e.Node)
	}
	return fmt.Sprintf("cluster: node %v unreachable: %s", e.Node, unprefix(e.Reason))
}

// Unwrap returns ErrUnreachable and the reason, so that errors.Is matches
// either.
func (e *UnreachableError) Unwrap() []error { return []error{ErrUnreachable, e.Reason} }

// RemoteError is the error of a task on another node, as carried by the
// wire: its message only. It is the Err of a FaultError fault received from
// a remote device.
type RemoteError struct {
	Node backplane.NodeID
	Text string
}

// Error returns the remote error's message.
func (e *RemoteError) Error() string { return e.Text }

// prefix starts the message of every error of this package, once.
const prefix = "cluster: "

// errorf is fmt.Errorf for the errors of this package that wrap others:
// format starts with prefix, and an error among args whose message starts
// with it too (a sentinel of this package, or an error that wraps one)
// appears without it, so that the message names the package once. The
// error still wraps what it was given: errors.Is and errors.As see the
// same chain.
func errorf(format string, args ...any) error {
	for i, a := range args {
		if err, ok := a.(error); ok && err != nil && strings.HasPrefix(err.Error(), prefix) {
			args[i] = &unprefixed{err: err}
		}
	}
	return fmt.Errorf(format, args...)
}

// unprefixed is an error of this package, wrapped by another whose
// message names the package already: its message drops the prefix.
type unprefixed struct{ err error }

func (e *unprefixed) Error() string { return unprefix(e.err) }
func (e *unprefixed) Unwrap() error { return e.err }

// unprefix returns err's message without a leading prefix.
func unprefix(err error) string {
	if err == nil {
		return "<nil>"
	}
	return strings.TrimPrefix(err.Error(), prefix)
}
