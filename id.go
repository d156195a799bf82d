package backplane

import (
	"strconv"
	"sync/atomic"
)

// DeviceID identifies a Device for the life of the process. IDs come from a
// counter and are never reused, so an ID seen in an old message can never
// name a newer device by accident.
//
// DeviceID is a small comparable value: use it as a map key or compare it
// with ==. The zero DeviceID names no device; it prints as "#0" and is used
// as the requester of a shutdown that comes from outside any device.
//
// The struct shape leaves room for a node part (for links across processes)
// without changing the API: code that compares, prints and stores IDs keeps
// working when the node part is added.
type DeviceID struct {
	n uint64
}

// lastID is the process-wide ID counter. It is global because IDs must be
// unique across every device in the process (rule 1 of the contract); an
// atomic add is the cheapest way to hand them out without coordination.
var lastID atomic.Uint64

func nextID() DeviceID { return DeviceID{n: lastID.Add(1)} }

// IsZero reports whether id is the zero DeviceID, which names no device.
func (id DeviceID) IsZero() bool { return id.n == 0 }

// Seq returns the process-local sequence number of the ID: 1 for the first
// device created in the process, 2 for the next, and so on.
func (id DeviceID) Seq() uint64 { return id.n }

// String formats the ID as "#" followed by its sequence number, e.g. "#42".
func (id DeviceID) String() string {
	var buf [21]byte
	buf[0] = '#'
	return string(strconv.AppendUint(buf[:1], id.n, 10))
}
