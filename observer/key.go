package observer

import (
	"hash/maphash"

	"github.com/backplane-go/backplane"
)

// remoteKeys is where the keys of devices on other nodes start: above every
// local sequence number a process will reach, and below 2^53, so that keys
// stay exact as JavaScript numbers.
const remoteKeys = 1 << 52

// keySeed makes the node part of remote keys. It is global so that every
// Recorder of the process gives a remote device the same key; it is fixed
// at start and never changes.
var keySeed = maphash.MakeSeed()

// key is the number a device is known by in the model and in the JSON the
// observer serves: its sequence number for a device of this process, and
// for a device on another node (a proxy, made by the cluster module) a number
// above remoteKeys made of a 20-bit hash of its node and the low 32 bits of
// its sequence number. Two remote devices could share a key (one chance in
// a million for two nodes, or a node past four billion devices); the view
// would then merge them, nothing more.
func key(id backplane.DeviceID) uint64 {
	if id.Node().IsZero() {
		return id.Seq()
	}
	n := id.Node()
	var h maphash.Hash
	h.SetSeed(keySeed)
	h.WriteString(n.Name)
	var inc [8]byte
	for i := range inc {
		inc[i] = byte(n.Incarnation >> (8 * i))
	}
	h.Write(inc[:])
	return remoteKeys | (h.Sum64()&0xFFFFF)<<32 | id.Seq()&0xFFFFFFFF
}

// ref is the DeviceID as text for a device on another node ("#7@db"), which
// its key does not show; "" for a device of this process.
func ref(id backplane.DeviceID) string {
	if !id.Node().IsZero() {
		return id.String()
	}
	return ""
}
