package backplane

import (
	"context"
	"runtime"
)

// Watched is the outcome of Watch: either the function completed (Messaged
// is false and Value holds its result) or a message arrived first (Messaged
// is true and Message holds it).
type Watched[T any] struct {
	Value    T
	Message  Message
	Messaged bool
}

// Watch runs f under the device and returns whichever comes first: f's
// result or the next message in the device's inbox. A message wins a tie,
// and a message already queued when Watch is called is returned without
// running f. Watch does not disconnect the device, whatever happens.
//
// f runs in the calling goroutine with a context that is cancelled (cause:
// a message arrived) when a message arrives; Watch returns once f has
// returned, so f must honour its context. f's error is returned as it is,
// unless a message won. A panic in f is returned as a *Crash of kind
// CrashPanic, and then any message stays queued; on a device made
// WithPanicPassThrough, the panic goes on out of Watch instead, the device
// still connected.
//
// It fails with ErrDeviceDown if the device has disconnected (also when
// that happens while f runs and f returns no error), ErrBusy if it is
// already running a task, and ErrNilArg for a nil ctx or f.
func Watch[T any](ctx context.Context, h *Device, f func(context.Context) (T, error)) (Watched[T], error) {
	var w Watched[T]
	if h == nil || h.d == nil {
		return w, &DeviceError{Op: "watch", Err: ErrInvalid}
	}
	d := h.d
	if ctx == nil || f == nil {
		return w, &DeviceError{Op: "watch", Device: d.id(), Err: ErrNilArg}
	}
	if h.net.Load() == netIdle {
		h.armNet() // f can hand out the device's Line (LineOf)
	}
	d.mu.Lock()
	if err := d.startLocked("watch"); err != nil {
		d.mu.Unlock()
		return w, err
	}
	if m, ok := d.pop(); ok {
		if d.pending() > 0 {
			d.signalLocked()
		}
		d.mu.Unlock()
		return Watched[T]{Message: m, Messaged: true}, nil
	}
	wctx := d.newTaskLocked(ctx)
	d.state = stateWatching
	d.task = wctx
	d.mu.Unlock()
	defer func() {
		// Runs on return, panic and Goexit alike: the device goes back to
		// idle unless something took it down meanwhile.
		d.mu.Lock()
		if d.state == stateWatching {
			d.state = stateIdle
			d.task = nil
		}
		d.mu.Unlock()
		wctx.cancel(nil)
		runtime.KeepAlive(h)
	}()

	var pf *Fault
	var err error
	func() {
		defer func() {
			if r := recover(); r != nil {
				if d.pass {
					panic(r) // WithPanicPassThrough; the deferred cleanup above still runs
				}
				pf = &Fault{Kind: FaultPanic, Value: r, Stack: stack()}
			}
		}()
		w.Value, err = f(wctx)
	}()
	if pf != nil {
		return Watched[T]{}, &Crash{Kind: CrashPanic, Fault: pf}
	}
	d.mu.Lock()
	m, ok := d.pop()
	if ok && d.pending() > 0 {
		d.signalLocked()
	}
	down := d.state == stateDown
	d.mu.Unlock()
	if ok {
		return Watched[T]{Message: m, Messaged: true}, nil
	}
	if down && err == nil {
		// The device was disconnected while f ran (Kill, Disconnect): f's
		// context was cancelled for that, so say so.
		err = &DeviceError{Op: "watch", Device: d.id(), Err: ErrDeviceDown}
	}
	return w, err
}
