package cluster

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/supervisor"
)

// RemoteSpec describes a child of a supervisor whose task runs on another
// node (RemoteChild). Its fields other than Kind, Arg, Placement and
// StartTimeout are those of supervisor.ChildSpec, with the same meaning
// and zero values. The zero RemoteSpec has no Placement: its child's
// starts fail with backplane.ErrNilArg. RemoteChild copies it: a change
// made later to a RemoteSpec, or to the ChildSpec returned, does not reach
// the child's task (its grace included).
type RemoteSpec struct {
	// ID names the child among its siblings (supervisor.ChildSpec.ID).
	ID string
	// Kind is the task kind started on the node chosen, which must have
	// registered it (Node.RegisterKind).
	Kind string
	// Arg is the task's argument, at most MaxArgLen bytes; RemoteChild
	// copies it.
	Arg []byte
	// Placement chooses the node of every start and restart. Required.
	Placement Placement
	// Restart says when the child is restarted (supervisor.ChildSpec).
	Restart supervisor.Restart
	// Shutdown is the grace the task is given to return once the child is
	// asked to stop, after which it is killed on its node; 0 means
	// supervisor.DefaultShutdown, and supervisor.BrutalKill and
	// supervisor.Infinity mean what they mean for any child.
	Shutdown time.Duration
	// Significant marks a child whose end can shut the supervisor down
	// (supervisor.ChildSpec).
	Significant bool
	// StartTimeout bounds each start: the Placement and the start of the
	// task on the node it chose. Default: the node's Config.Timeout.
	StartTimeout time.Duration
}

// RemoteChild returns the spec of a supervisor child whose task, of the
// kind spec.Kind, runs on another node: OTP's distributed application,
// which fails over to another node when its node goes down. Give the spec
// to a supervisor of this process (supervisor.New, WithChildren or
// AddChild) as any other.
//
// At every start and restart, spec.Placement chooses a node, then the
// task is started there with Spawn, its device and the child's device
// linked in both directions (Peer), before it runs. The child's device
// then stands for the task:
//   - the task returns nil: the child ends cleanly;
//   - the task fails, or its node is lost: the child's device cascades
//     from it at once, so the child ends with a Fault of kind
//     FaultCascade whose Root is the task's fault: FaultUnreachable
//     (wrapping ErrUnreachable) when the node went down or away, its
//     error, panic or kill otherwise. The supervisor restarts the child
//     by its strategy and intensity, on the node the Placement chooses
//     then: a node lost is no longer in session, and RoundRobin and
//     LeastLoaded pass it by;
//   - the supervisor stops the child (a shutdown, a restart of its group,
//     the supervisor's own end): the task is asked to shut down, and
//     killed on its node if it has not returned within spec.Shutdown
//     (at once for BrutalKill), as a local child's device would be;
//   - the supervisor faults, or abandons the child: the task, which
//     watches the child's device, cascades or is killed.
//
// A start fails if the Placement fails or returns no node (an error
// wrapping ErrNoNode, or the Placement's own), if the Spawn fails (the
// kind is unknown there, the node is unknown or unreachable: see Spawn),
// or if spec.Placement is nil (backplane.ErrNilArg). As for any Starter,
// a failed start makes the supervisor's Serve fail at its first start,
// and is retried, counted against the intensity, at a restart.
//
// Each start blocks the supervisor until it ends, for at most
// spec.StartTimeout. A remote child costs, besides a local child, one
// Spawn per start (a round trip to the node) and the proxy of its task.
// The ChildSpec's Service may serve several supervisors at once. A nil
// Node is reported by every start, with backplane.ErrNilArg; RemoteChild
// itself does not fail or block.
func (n *Node) RemoteChild(spec RemoteSpec) supervisor.ChildSpec {
	spec.Arg = append([]byte(nil), spec.Arg...)
	c := &remoteChild{n: n, spec: spec, gens: make(map[backplane.DeviceID]*placedTask)}
	return supervisor.ChildSpec{
		ID:          spec.ID,
		Service:     c,
		Restart:     spec.Restart,
		Shutdown:    spec.Shutdown,
		Significant: spec.Significant,
	}
}

// remoteChild is the Service of a remote child: Start places and spawns
// the task, Serve stands for it until it ends or the child is stopped.
type remoteChild struct {
	n    *Node
	spec RemoteSpec

	mu   sync.Mutex
	gens map[backplane.DeviceID]*placedTask // started, by child device, until Serve takes it
}

// placedTask is one start of a remote child: the node it was placed on and
// the task's device there (its proxy).
type placedTask struct {
	node string
	dev  *backplane.Device
}

// Start chooses a node and starts the task there, linked to the child's
// device.
func (c *remoteChild) Start(ctx context.Context) error {
	id := clip(c.spec.ID, 64)
	self, ok := supervisor.Self(ctx)
	switch {
	case c.n == nil:
		return errorf("cluster: remote child %q: nil Node: %w", id, backplane.ErrNilArg)
	case c.spec.Placement == nil:
		return errorf("cluster: remote child %q: nil Placement: %w", id, backplane.ErrNilArg)
	case !ok:
		return errorf("cluster: remote child %q: %w: not started by a supervisor", id, backplane.ErrInvalid)
	}
	timeout := c.spec.StartTimeout
	if timeout <= 0 {
		timeout = c.n.timeout
	}
	sctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	node, err := c.spec.Placement(sctx, c.n)
	switch {
	case err != nil:
		return errorf("cluster: remote child %q: placement: %w", id, err)
	case node == "":
		return errorf("cluster: remote child %q: placement: %w", id, ErrNoNode)
	}
	dev, err := c.n.spawn(sctx, node, c.spec.Kind, c.spec.Arg, self, backplane.Peer)
	if err != nil {
		return errorf("cluster: remote child %q: %w", id, err)
	}
	c.n.addPlaced(node, 1)
	c.mu.Lock()
	c.gens[self.ID()] = &placedTask{node: node, dev: dev}
	c.mu.Unlock()
	return nil
}

// Serve waits for the task's end, or for the child's: then it stops the
// task as the child's end asks.
func (c *remoteChild) Serve(ctx context.Context) error {
	self, _ := supervisor.Self(ctx)
	c.mu.Lock()
	t := c.gens[self.ID()]
	delete(c.gens, self.ID())
	c.mu.Unlock()
	if t == nil {
		return errorf("cluster: remote child %q: %w: served without its start", clip(c.spec.ID, 64), backplane.ErrInvalid)
	}
	defer c.n.addPlaced(t.node, -1)
	select {
	case <-t.dev.Done():
		if t.dev.Fault() == nil {
			return nil // a clean end: the child's too
		}
		// The child's device watches the task's: the fault cascades to it,
		// if it has not already. Returning before would end it cleanly.
		<-ctx.Done()
		return nil
	case <-ctx.Done():
	}
	var crash *backplane.Crash
	errors.As(context.Cause(ctx), &crash)
	switch {
	case crash == nil:
	case crash.Kind == backplane.CrashPowerOff || crash.Kind == backplane.CrashDisconnected && crash.Fault == nil:
		// Asked to stop: the child's device went down cleanly, which
		// the task, that watches it, ignores.
		c.stop(self.ID(), t)
	case crash.Kind == backplane.CrashKilled:
		reason := error(supervisor.ErrShutdownTimeout)
		if crash.Fault != nil && crash.Fault.Err != nil {
			reason = crash.Fault.Err
		}
		_ = t.dev.Line().Kill(self.ID(), reason)
	}
	// A cascade came from the task, which is over, or from the supervisor:
	// the task watches the child's device, and cascades with it.
	return nil
}

// stop asks the task to shut down and waits for it for the child's grace,
// then kills it.
func (c *remoteChild) stop(from backplane.DeviceID, t *placedTask) {
	l := t.dev.Line()
	grace := c.spec.Shutdown
	switch grace {
	case 0:
		grace = supervisor.DefaultShutdown
	case supervisor.BrutalKill:
		_ = l.Kill(from, supervisor.ErrBrutalKill)
		return
	}
	_ = l.Shutdown(from)
	var expired <-chan time.Time
	if grace != supervisor.Infinity {
		tm := time.NewTimer(grace)
		defer tm.Stop()
		expired = tm.C
	}
	select {
	case <-t.dev.Done():
	case <-expired:
		_ = l.Kill(from, supervisor.ErrShutdownTimeout)
	}
}
