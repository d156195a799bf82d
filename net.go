package backplane

import (
	"runtime"
	"sync"
)

// The safety net of rule 13: a finalizer on a device's handle drops the
// device if the handle becomes unreachable while the device is connected.
//
// Setting a finalizer and removing it again take a runtime lock and a walk
// of a sorted per-span list each way, which was a third of a seed benchmark
// whose two devices are both watched (BENCHMARKS.md, "Performance round
// 2"). Most devices that are exposed briefly go down through their handle
// soon after, and then nobody needs their net. So the net is set in two
// steps: at the first exposure the handle is queued (netQueued), which
// keeps it reachable, and so its device undroppable, while it waits; the
// queue is flushed at the next garbage collection, or when netBatch
// handles are waiting, whichever comes first, and the flush sets the
// finalizer of each queued device that is still up. A device that went
// down in between costs a queue entry, not a finalizer set and removed.
//
// A forgotten device that was exposed is still dropped: its handle is
// reachable from the queue until the flush that arms its net, and the
// collection after that finds it unreachable. It takes one collection
// more than a net set at once.

// The states of a handle's safety net (Device.net). A handle starts idle:
// its device has no finalizer yet, because nobody but the handle's holder
// can observe it, and whoever holds the handle can drop it. The first time
// the device can be observed by anyone else (a Line handed out, Link and
// the *Device passed as a Linkable; a task that may outlive the device's
// disconnect given its context, in PartManage and Watch; or creation with
// an event hook installed) the handle is queued, and the next flush of the
// queue arms it. It is off once the device is down through the handle, and
// for devices that never have one (Owned devices, proxies).
const (
	netIdle   uint32 = iota // no finalizer yet; queued on first exposure
	netQueued               // in netQueue, waiting for a flush to set the finalizer
	netArmed                // the finalizer is set (or being set)
	netOff                  // no finalizer will ever be set
)

// netBatch is how many handles may wait in netQueue before the goroutine
// that queues the last of them flushes it. It bounds the memory the queue
// keeps alive between collections and the work of one flush (a few
// microseconds when every device is still up).
const netBatch = 64

// netQueue holds the handles exposed since its last flush.
var netQueue struct {
	mu    sync.Mutex
	list  []*Device
	spare []*Device // the array of a flushed list, emptied, for reuse
	tick  bool      // a gcTick is out: the next collection flushes the queue
}

// armNet exposes the device: if it has a safety net that is not yet set or
// queued, its handle is queued for the next flush, which sets the net if
// the device is still up then. It is called on every exposure, so the
// common case (queued, armed, or off) is one atomic load.
//
// The net is a finalizer on the handle rather than runtime.AddCleanup,
// which allocates two more objects (a box for its argument and a closure):
// with it, creating and dropping devices was 10 to 15% slower and each
// device 32 bytes larger. The caveats of finalizers do not bite here: the
// handle is a small object of the package's own, never reused, and the
// collection more it lives (the finalizer gets it back) costs 16 bytes.
// The finalizer is removed when the device goes down through the handle
// (stopNet), which keeps the runtime's per-span list of finalizers short
// when devices come and go quickly.
func (h *Device) armNet() {
	if h.net.Load() != netIdle {
		return
	}
	if h.d == nil || !h.d.net {
		h.net.Store(netOff)
		return
	}
	if h.net.CompareAndSwap(netIdle, netQueued) {
		queueNet(h)
	}
}

// queueNet puts h in netQueue, makes sure a collection will flush it, and
// flushes it here if it is full.
func queueNet(h *Device) {
	q := &netQueue
	q.mu.Lock()
	if q.list == nil {
		q.list, q.spare = q.spare, nil
	}
	q.list = append(q.list, h)
	var full []*Device
	if len(q.list) >= netBatch {
		full, q.list = q.list, nil
	}
	tick := !q.tick
	q.tick = true
	q.mu.Unlock()
	if tick {
		startGCTick()
	}
	if full != nil {
		armQueued(full)
	}
}

// armQueued sets the net of each handle of list whose device is still up,
// and gives list back to netQueue for reuse. A device that went down
// through its handle since it was queued is passed by without touching it
// (its handle is off), and one that went down otherwise (a Kill, a
// cascade, a shutdown request) is passed by too: its drop could no longer
// be observed.
func armQueued(list []*Device) {
	for i, h := range list {
		list[i] = nil
		if h.net.Load() != netQueued {
			continue
		}
		d := h.d
		d.mu.Lock()
		down := d.state == stateDown
		d.mu.Unlock()
		if !down && h.net.CompareAndSwap(netQueued, netArmed) {
			// A concurrent stopNet may find netArmed before the finalizer
			// is set and clear nothing: the finalizer then finds the
			// device down and does nothing.
			runtime.SetFinalizer(h, (*Device).finalize)
		}
	}
	q := &netQueue
	q.mu.Lock()
	if q.spare == nil {
		q.spare = list[:0]
	}
	q.mu.Unlock()
}

// gcTick is an object kept by nothing, whose finalizer flushes netQueue:
// it runs after the first collection that finds it unreachable. It holds
// a pointer, so that it is never packed into a tiny block with other
// objects (whose finalizer might never run).
type gcTick struct{ _ *byte }

// startGCTick makes a gcTick; the next collection flushes netQueue.
func startGCTick() { runtime.SetFinalizer(new(gcTick), (*gcTick).flush) }

// flush runs in the runtime's finalizer goroutine, after a collection: it
// arms every handle queued so far. The next handle queued starts a new
// gcTick.
func (*gcTick) flush() {
	q := &netQueue
	q.mu.Lock()
	list := q.list
	q.list, q.tick = nil, false
	q.mu.Unlock()
	if len(list) > 0 {
		armQueued(list)
	}
}

// finalize is the safety net: the handle is unreachable, so its device is
// dropped if it is still connected.
func (h *Device) finalize() { h.d.disconnect(dropFault, nil) }

// stopNet removes the safety net of a device that is down; for a handle
// still queued, it makes the flush pass it by. A handle that was never
// exposed is left idle, without an atomic write: should it be exposed
// now, the flush finds its device down and passes it by. The handles of
// Owned devices and proxies have none (and are not objects of their own,
// which SetFinalizer would refuse).
func (h *Device) stopNet() {
	if s := h.net.Load(); s != netIdle && s != netOff && h.net.Swap(netOff) == netArmed {
		runtime.SetFinalizer(h, nil)
	}
}
