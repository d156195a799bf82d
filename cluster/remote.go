package cluster

import (
	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/cluster/internal/wire"
	"github.com/backplane-go/backplane/internal/bridge"
)

// remote is the node seen by its proxies: it carries what local code asks
// of a remote device to that device's node (bridge.Remote).
type remote Node

// Watch makes the remote device to watch target: the edge is made on to's
// node, whose proxy for target fires when target disconnects. Before asking,
// the node starts watching target on the peer's behalf, so that target's
// disconnection is reported to the peer with its real fault even if it
// happens before the peer has made the edge.
func (r *remote) Watch(to backplane.DeviceID, target backplane.Line) error {
	n := (*Node)(r)
	peer := wireNode(to.Node())
	if !bridge.IsProxy(target) {
		if err := n.watchFor(peer, target); err != nil {
			return err
		}
	}
	return n.send(&wire.Frame{Kind: wire.KindLink, To: peer, Target: to.Seq(), Source: n.wireID(target.ID())})
}

// Unwatch undoes Watch on to's node.
func (r *remote) Unwatch(to backplane.DeviceID, target backplane.Line) error {
	n := (*Node)(r)
	return n.send(&wire.Frame{Kind: wire.KindUnlink, To: wireNode(to.Node()), Target: to.Seq(), Source: n.wireID(target.ID())})
}

// Shutdown carries a shutdown request to the remote device. A node speaks
// only for its own devices: a from of another node is sent as no device.
func (r *remote) Shutdown(to, from backplane.DeviceID) error {
	n := (*Node)(r)
	return n.send(&wire.Frame{Kind: wire.KindShutdown, To: wireNode(to.Node()), Target: to.Seq(), Source: n.ownWireID(from)})
}

// Kill carries a kill to the remote device; from as for Shutdown.
func (r *remote) Kill(to, from backplane.DeviceID, reason error) error {
	n := (*Node)(r)
	f := &wire.Frame{Kind: wire.KindKill, To: wireNode(to.Node()), Target: to.Seq(), Source: n.ownWireID(from)}
	if reason != nil {
		f.Reason = clip(reason.Error(), wire.MaxTextLen)
	}
	return n.send(f)
}
