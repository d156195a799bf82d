package cluster

import (
	"context"
	"errors"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/cluster/internal/transport"
	"github.com/backplane-go/backplane/cluster/internal/wire"
	"github.com/backplane-go/backplane/internal/bridge"
)

// nodeSeq is the sequence number reserved for the device that stands for a
// node incarnation itself (NodeLine). No device reaches it: sequence
// numbers count up from 1 in each process.
const nodeSeq = ^uint64(0)

// ErrNodeLine reports a request that a node line cannot carry out: it
// stands for a node incarnation, not a device, so it cannot be asked to
// shut down, be killed, or watch anything. Other devices link to it.
var ErrNodeLine = errors.New("cluster: a node line stands for a node, not a device")

// NodeLine returns a Line whose device stands for one incarnation of
// another node (Erlang's monitor_node): a device linked to it receives
// exactly one Disconnected, with a Fault of kind FaultUnreachable wrapping
// an *UnreachableError (and so ErrUnreachable), when the session with that
// incarnation ends: its NATS connection closed (it died), it timed out,
// lost a frame, said goodbye, was replaced by a restart of the node, or
// this node was closed (ErrClosed). A later
// incarnation of the node is another node line. Every NodeLine of one
// incarnation returns the same Line while it is up.
//
// node.Incarnation 0 means the incarnation now reachable: NodeLine then
// asks the node, unless a session with it is live, and blocks until it
// answers or ctx ends; give ctx a deadline, since a node that does not
// exist never answers, and if by then no node of that name is known here
// the error wraps ErrUnknownNode as well as ctx's cause (as for Lookup).
// With an incarnation, NodeLine does not block: if the session with it is
// not live it opens one, and the line fires if the incarnation does not
// answer within Config.Timeout. An incarnation already known gone (a later
// one was heard from) gets no Line but at once an error wrapping the
// Fault the line would carry, so an *UnreachableError and ErrUnreachable.
// As for any device, a Line that goes down before it is linked to fails
// the Link with backplane.ErrLinkDown.
//
// The device's ID is a remote DeviceID whose Node is the incarnation (so
// Message.From().Node() of the Disconnected names it) and whose Seq is
// the largest uint64, which no device has; IsNodeLine recognises it. Line
// with that ID returns the node line too. Asking the Line to shut down or
// to kill fails with ErrNodeLine, as does a link in which it would watch
// another device. NodeLine fails with backplane.ErrInvalid for an empty
// or malformed name or this node's own, and with ErrClosed after Close.
func (n *Node) NodeLine(ctx context.Context, node backplane.NodeID) (backplane.Line, error) {
	switch {
	case !transport.ValidName(node.Name):
		return backplane.Line{}, errorf("cluster: node line to %q: %w: not a node name", node.Name, backplane.ErrInvalid)
	case node.Name == n.self.Name:
		return backplane.Line{}, errorf("cluster: node line to %v: %w: this node", node, backplane.ErrInvalid)
	}
	if node.Incarnation == 0 {
		n.mu.Lock()
		inc, ok := n.live[node.Name]
		n.mu.Unlock()
		if ok {
			node.Incarnation = inc
		} else {
			r, err := n.ask(ctx, wire.Node{Name: node.Name}, pingName)
			switch {
			case err != nil && ctx.Err() != nil && !n.inSession(node.Name):
				return backplane.Line{}, errorf("cluster: node line to %s: %w (never heard from): %w", node.Name, ErrUnknownNode, err)
			case err != nil:
				return backplane.Line{}, errorf("cluster: node line to %s: %w", node.Name, err)
			}
			node = nodeID(r.Node)
		}
	}
	p, err := n.proxy(bridge.RemoteID(node, nodeSeq), "node "+node.Name)
	if err != nil {
		return backplane.Line{}, errorf("cluster: node line to %v: %w", node, err)
	}
	if !p.Alive() {
		// Known gone: say why now, rather than hand out a Line that every
		// link fails on with ErrLinkDown.
		return backplane.Line{}, errorf("cluster: node line to %v: %w", node, p.Fault())
	}
	return p.Line(), nil
}

// IsNodeLine reports whether id is the ID of a node line (see NodeLine).
func IsNodeLine(id backplane.DeviceID) bool { return id.Seq() == nodeSeq && bridge.IsRemote(id) }

// newNodeLine makes the proxy for the node incarnation of id, whose Seq is
// nodeSeq. n.mu is held.
func newNodeLine(id backplane.DeviceID, name string) (*backplane.Device, error) {
	return bridge.NewProxy(id, nodeRemote{}, backplane.WithName(name))
}

// pingNode makes sure a session with node is live or being opened, so that
// its end reaches the node lines: a lookup whose answer nobody waits for.
// An error means the node is known gone; the caller fires the line.
func (n *Node) pingNode(node wire.Node) error {
	n.mu.Lock()
	n.nextRef++
	ref := n.nextRef
	n.mu.Unlock()
	return n.send(&wire.Frame{Kind: wire.KindLookup, To: node, Ref: ref, Name: pingName})
}

// nodeRemote is the transport of a node line: it carries nothing.
type nodeRemote struct{}

func (nodeRemote) Watch(backplane.DeviceID, backplane.Line) error        { return ErrNodeLine }
func (nodeRemote) Unwatch(backplane.DeviceID, backplane.Line) error      { return nil }
func (nodeRemote) Shutdown(backplane.DeviceID, backplane.DeviceID) error { return ErrNodeLine }
func (nodeRemote) Kill(backplane.DeviceID, backplane.DeviceID, error) error {
	return ErrNodeLine
}
