package cluster

import (
	"errors"
	"fmt"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/cluster/internal/wire"
	"github.com/backplane-go/backplane/internal/bridge"
)

// The conversions between backplane values and their wire form.

func wireNode(n backplane.NodeID) wire.Node { return wire.Node{Name: n.Name, Inc: n.Incarnation} }
func nodeID(n wire.Node) backplane.NodeID {
	return backplane.NodeID{Name: n.Name, Incarnation: n.Inc}
}

// wireID encodes id as seen from this node (self): a local ID is qualified
// with this node.
func (n *Node) wireID(id backplane.DeviceID) wire.Device {
	if id.IsZero() {
		return wire.Device{}
	}
	if !bridge.IsRemote(id) {
		return wire.Device{Node: n.self, Seq: id.Seq()}
	}
	return wire.Device{Node: wireNode(id.Node()), Seq: id.Seq()}
}

// deviceID decodes d: a device of this node comes back as its local ID.
func (n *Node) deviceID(d wire.Device) backplane.DeviceID {
	if d.IsZero() {
		return backplane.DeviceID{}
	}
	if d.Node == n.self {
		return bridge.LocalID(d.Seq)
	}
	return bridge.RemoteID(nodeID(d.Node), d.Seq)
}

// wireFault encodes f. A cascade keeps the device depended on and the root
// of the chain with its fault; the hops between are not sent.
func (n *Node) wireFault(f *backplane.Fault) *wire.Fault {
	if f == nil {
		return nil
	}
	if f.Kind == backplane.FaultCascade {
		root, rf := f.Root()
		if rf == nil || rf.Kind == backplane.FaultCascade || root.IsZero() || f.Device.IsZero() {
			// A hand-made chain without a proper root: send what it says.
			return &wire.Fault{Kind: uint8(backplane.FaultError), Text: clip(f.Error(), wire.MaxTextLen)}
		}
		return &wire.Fault{
			Kind:   uint8(backplane.FaultCascade),
			Device: n.wireID(f.Device),
			Root:   n.wireID(root),
			Cause:  n.wireFault(rf),
		}
	}
	w := &wire.Fault{Kind: uint8(f.Kind)}
	switch {
	case f.Kind == backplane.FaultPanic:
		w.Text = clip(fmt.Sprint(f.Value), wire.MaxTextLen)
		w.Stack = f.Stack
		if len(w.Stack) > wire.MaxStackLen {
			w.Stack = w.Stack[:wire.MaxStackLen]
		}
	case f.Err != nil:
		w.Text = clip(f.Err.Error(), wire.MaxTextLen)
	}
	return w
}

// fault decodes w, received from the node from.
func (n *Node) fault(from backplane.NodeID, w *wire.Fault) *backplane.Fault {
	if w == nil {
		return nil
	}
	kind := backplane.FaultKind(w.Kind)
	var err error
	if w.Text != "" {
		err = &RemoteError{Node: from, Text: w.Text}
	}
	switch kind {
	case backplane.FaultCascade:
		root := n.deviceID(w.Root)
		f := backplane.CascadeFault(root, n.fault(from, w.Cause))
		if dev := n.deviceID(w.Device); dev != root {
			f = backplane.CascadeFault(dev, f)
		}
		return f
	case backplane.FaultError:
		if err == nil {
			err = &RemoteError{Node: from}
		}
		return backplane.ErrorFault(err)
	case backplane.FaultPanic:
		return &backplane.Fault{Kind: kind, Value: w.Text, Stack: w.Stack}
	case backplane.FaultUnreachable:
		if err == nil {
			err = errors.New("unreachable")
		}
		return &backplane.Fault{Kind: kind, Err: &UnreachableError{Node: from, Reason: err}}
	}
	return &backplane.Fault{Kind: kind, Err: err}
}

// unreachable is the fault of a proxy whose node cannot be reached.
func unreachable(node backplane.NodeID, reason error) *backplane.Fault {
	return &backplane.Fault{Kind: backplane.FaultUnreachable, Err: &UnreachableError{Node: node, Reason: reason}}
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
