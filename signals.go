package backplane

import "sync"

// signals are a device's channels, made only for devices whose owner waits
// on them: most devices are read with TryReceive or Manage and never need
// them, and keeping one pointer in the device saves a word on every device.
type signals struct {
	ready   chan struct{} // one token = "look at the inbox"
	done    chan struct{} // closed at disconnect
	proxy   *proxy        // set at creation for a proxy device, never changed
	waiters int32         // Receive calls that may be waiting on ready; guarded by the device's mu
	lent    bool          // ready was handed out by Ready: it may be used outside the device
}

// spareSignals holds the signals of devices that went down, each with an
// empty ready channel that nobody else holds, and nothing else. A device
// whose owner blocks in Receive takes one, instead of making a signals and
// a channel (two objects, 128 bytes): the common round trip of a watcher
// that waits for one notification and is then dropped (BENCHMARKS.md,
// "Performance round 2", goal 5).
var spareSignals sync.Pool

func (d *device) signalsLocked() *signals {
	if d.sig == nil {
		d.sig = new(signals)
	}
	return d.sig
}

// Ready returns a channel that receives a value when the inbox may hold a
// message, for use in a select beside the caller's own channels. After a
// receive from it, call TryReceive until it reports false: one value may
// stand for several messages, and a value may be stale. The channel also
// fires when the device disconnects. No goroutine is started for it.
func (h *Device) Ready() <-chan struct{} {
	if h == nil || h.d == nil {
		return closedChan
	}
	d := h.d
	d.mu.Lock()
	c := d.readyLocked()
	d.sig.lent = true // the caller holds c from now on: never recycled
	d.mu.Unlock()
	return c
}

// readyLocked returns the device's ready channel, made (or taken from
// spareSignals) on first use, with a token in it if the inbox is not empty
// or the device is down.
func (d *device) readyLocked() chan struct{} {
	if d.sig == nil {
		if s, _ := spareSignals.Get().(*signals); s != nil {
			d.sig = s
		}
	}
	sig := d.signalsLocked()
	if !d.ready {
		if sig.ready == nil {
			sig.ready = make(chan struct{}, 1)
		}
		d.ready = true
		if d.pending() > 0 || d.state == stateDown {
			sig.ready <- struct{}{}
		}
	}
	return sig.ready
}

// signalLocked drops a token in the ready channel if anyone has asked for
// it. It never blocks: one pending token is enough to wake the reader.
func (d *device) signalLocked() {
	if d.ready {
		select {
		case d.sig.ready <- struct{}{}:
		default:
		}
	}
}

// recycleSignalsLocked gives the signals of a device that is down to
// spareSignals, if nothing but the device holds them: no Receive may be
// waiting on the ready channel, Ready never handed it out, and there is no
// Done channel or proxy. A device is down for good, so only Receive, Ready
// and Done can use its signals again, and they make new ones.
func (d *device) recycleSignalsLocked() {
	sig := d.sig
	if d.state != stateDown || sig == nil || sig.ready == nil || sig.waiters != 0 ||
		sig.lent || sig.done != nil || sig.proxy != nil {
		return
	}
	select {
	case <-sig.ready: // the token of the disconnect, or of a last message
	default:
	}
	d.sig, d.ready = nil, false
	spareSignals.Put(sig)
}
