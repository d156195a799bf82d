package cluster

import (
	"context"
	"log/slog"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/cluster/internal/wire"
	"github.com/backplane-go/backplane/internal/bridge"
)

// A node speaks only for itself. The transport hands the handler frames of
// live sessions only, each with From set to the peer incarnation of its
// session; forgery names the frames in which that peer speaks for a device
// of another node, which are dropped (and counted in Stats.Forged). The
// rules, per kind:
//
//   - Down: Source, the device that disconnected, must be a device of the
//     sender, and not the sender itself (nodeSeq): a node line fires only
//     when the session ends, never on the node's word. A Down of several
//     devices (Downs) names them by sequence number alone, so they are
//     the sender's by construction, and none may be nodeSeq. The Fault it carries may name other nodes' devices (a cascade's
//     Device and Root): that is the history of a chain, told by the sender
//     about its own device.
//   - Shutdown, Kill, Watch: Source, the asking device, must be zero or a
//     device of the sender. The sending node clears a Source that is not
//     its own (see ownWireID).
//   - LookupReply: Source, the device found, must be zero or a device of the
//     sender; that the sender is the node asked is checked against the
//     pending lookup (answers).
//   - Link, Unlink: Source, the device to watch, may be any node's device:
//     a node links one remote device to another (Line.Link between two
//     proxies). Nothing is believed on the sender's word: the receiving
//     node watches Source through Source's own node, which alone reports
//     its end.
//   - Spawn: Source, the parent to link the new task to, must be a device
//     of the sender: a node starts tasks linked to its own devices only.
//   - SpawnReply: Source, the device started, must be zero or a device of
//     the sender; it is accepted only from the node incarnation asked, for
//     a Spawn still waiting (onSpawnReply), and dropped otherwise. A reply
//     whose Spawn gave up waiting is answered with a Kill of the device.
//   - Lookup: carries no device.
//
// Target, where a kind has one, is a sequence number on the receiving node,
// and is acted on only for a device this node exported (registered, or
// named in a link); other numbers are ignored, since a device may
// disconnect while a frame about it is on its way.
func forgery(f *wire.Frame) string {
	switch f.Kind {
	case wire.KindDown:
		for _, d := range f.Downs { // devices of From by construction
			if d.Seq == nodeSeq {
				return "down of a node line"
			}
		}
		if len(f.Downs) > 0 {
			break
		}
		if f.Source.Node != f.From {
			return "down of a device of another node"
		}
		if f.Source.Seq == nodeSeq {
			return "down of a node line"
		}
	case wire.KindShutdown, wire.KindKill, wire.KindWatch:
		if !f.Source.IsZero() && f.Source.Node != f.From {
			return "source is a device of another node"
		}
	case wire.KindLookupReply, wire.KindSpawnReply:
		if !f.Source.IsZero() && f.Source.Node != f.From {
			return "answer is a device of another node"
		}
	case wire.KindSpawn:
		if f.Source.Node != f.From {
			return "parent is a device of another node"
		}
	}
	return ""
}

// answers reports whether a lookup reply from from may answer a lookup
// sent to asked: from is the node asked, at the incarnation asked if the
// lookup named one.
func answers(asked, from wire.Node) bool {
	return from.Name == asked.Name && (asked.Inc == 0 || asked.Inc == from.Inc)
}

// dropForged counts f, a forged frame, and logs it at level Debug.
func (n *Node) dropForged(f *wire.Frame, why string) {
	n.forged.Add(1)
	if n.log != nil && n.log.Enabled(context.Background(), slog.LevelDebug) {
		n.log.Debug("cluster: forged frame dropped", slog.String("node", n.id.String()),
			slog.String("kind", f.Kind.String()), slog.String("from", f.From.String()),
			slog.String("source", f.Source.String()), slog.String("why", why))
	}
}

// ownWireID encodes id, the device on whose behalf this node asks another
// node something, if it is a device of this node; any other ID is not this
// node's to speak for, and is sent as the zero Device (a request from no
// device).
func (n *Node) ownWireID(id backplane.DeviceID) wire.Device {
	if bridge.IsRemote(id) && id.Node() != n.id {
		return wire.Device{}
	}
	return n.wireID(id)
}
