package backplane

import (
	"strconv"
	"sync/atomic"
	"unique"
)

// DeviceID identifies a Device. IDs of the devices of this process come from
// a counter and are never reused, so an ID seen in an old message can never
// name a newer device by accident.
//
// An ID may also name a device on another node of a cluster (the cluster
// module hands out such IDs and Lines to them): it then carries that
// node's name and incarnation (see DeviceID.Node), so IDs from different
// nodes, or from two lives of one node, never compare equal. Devices of
// this process have the zero NodeID.
//
// DeviceID is a small comparable value: use it as a map key or compare it
// with ==. The zero DeviceID names no device; it prints as "#0" and is used
// as the requester of a shutdown that comes from outside any device.
type DeviceID struct {
	n    uint64
	node unique.Handle[NodeID] // zero for a device of this process
}

// NodeID names one life of a node of a cluster: a process that runs a
// backplane and links its devices with those of other processes. Name is
// the node's name, unique in its cluster; Incarnation tells apart the
// successive runs of a node with the same name, so that messages from a
// node that died are never taken for messages from its successor.
//
// The zero NodeID stands for this process, which needs no name to link its
// own devices.
type NodeID struct {
	Name        string
	Incarnation uint64
}

// IsZero reports whether n is the zero NodeID.
func (n NodeID) IsZero() bool { return n == NodeID{} }

// String formats the node as its name, a slash and its incarnation in
// hexadecimal, e.g. "api-1/5f3a9c", or "local" for the zero NodeID.
func (n NodeID) String() string {
	if n.IsZero() {
		return "local"
	}
	return n.Name + "/" + strconv.FormatUint(n.Incarnation, 16)
}

// lastID is the process-wide ID counter. It is global because IDs must be
// unique across every device in the process (rule 1 of the contract); an
// atomic add is the cheapest way to hand them out without coordination.
var lastID atomic.Uint64

func nextSeq() uint64 { return lastID.Add(1) }

// IsZero reports whether id is the zero DeviceID, which names no device.
func (id DeviceID) IsZero() bool { return id.n == 0 }

// Seq returns the sequence number of the ID on its node: 1 for the first
// device created in the process, 2 for the next, and so on.
func (id DeviceID) Seq() uint64 { return id.n }

// Node returns the node the device lives on: the zero NodeID for a device
// of this process. id.Node().IsZero() tells a device of this process from
// one on another node, whose ID the cluster module made.
func (id DeviceID) Node() NodeID {
	if id.node == (unique.Handle[NodeID]{}) {
		return NodeID{}
	}
	return id.node.Value()
}

// isRemote reports whether id names a device on another node.
func (id DeviceID) isRemote() bool { return id.node != unique.Handle[NodeID]{} }

// String formats the ID as "#" followed by its sequence number, e.g. "#42",
// and for a device on another node "@" and the node's name, e.g.
// "#42@api-1".
func (id DeviceID) String() string {
	var buf [24]byte
	buf[0] = '#'
	b := strconv.AppendUint(buf[:1], id.n, 10)
	if id.isRemote() {
		return string(b) + "@" + id.node.Value().Name
	}
	return string(b)
}
