package backplane

import (
	"context"
	"errors"
	"runtime"
	"runtime/debug"
)

// errGoexit is the panic value recorded when a task calls runtime.Goexit
// (t.FailNow in a test, for instance): the goroutine ends without returning,
// and the device must still go down.
var errGoexit = errors.New("backplane: task called runtime.Goexit")

// errMessage is the cause of a Watch function's context when a message
// arrives.
var errMessage = errors.New("backplane: a message arrived")

// Manage runs task under the device until the first of:
//   - the task returns nil: the device disconnects cleanly, Manage returns nil;
//   - the task returns an error: the device disconnects with a FaultError,
//     Manage returns a *Crash of kind CrashError;
//   - the task panics: the device disconnects with a FaultPanic (value and
//     stack), Manage returns a *Crash of kind CrashPanic (or, on a device
//     made WithPanicPassThrough, the panic goes on once the device is
//     down);
//   - a Shutdown request arrives: the device disconnects cleanly, Manage
//     returns a *Crash of kind CrashPowerOff naming the requester;
//   - a device this one watches disconnects with a fault: the device
//     disconnects with a FaultCascade, Manage returns a *Crash of kind
//     CrashCascade naming that device.
//
// Two more ways end it from outside: Line.Kill (FaultKilled, a Crash of
// kind CrashKilled) and Disconnect or Drop called on the device while the
// task runs (a Crash of kind CrashDisconnected carrying the fault the
// watchers were told). A watched device that disconnects cleanly is
// ignored, and its link forgotten. Messages queued before Manage starts are handled first, so none
// is lost: a queued Shutdown or faulted Disconnected ends the device without
// running the task.
//
// Go cannot stop a goroutine. On a shutdown request or a cascade, the task's
// context is cancelled with the *Crash as its cause (context.Cause), and the
// device's watchers are told at once, without waiting for the task; Manage
// itself returns once the task has returned. A task must therefore honour
// its context.
//
// The task runs in the calling goroutine; Manage starts no goroutine. It
// fails with ErrDeviceDown if the device has disconnected, ErrBusy if it is
// already running a task, and ErrNilArg for a nil ctx or task.
func (h *Device) Manage(ctx context.Context, task func(context.Context) error) error {
	return h.manage(ctx, task, false)
}

// PartManage is Manage, except that when the task returns nil the device
// stays connected and usable, with its links intact. Every other outcome
// disconnects it, exactly as Manage does.
func (h *Device) PartManage(ctx context.Context, task func(context.Context) error) error {
	return h.manage(ctx, task, true)
}

func (h *Device) manage(ctx context.Context, task func(context.Context) error, part bool) error {
	if h == nil || h.d == nil {
		return &DeviceError{Op: "manage", Err: ErrInvalid}
	}
	d := h.d
	if ctx == nil || task == nil {
		return &DeviceError{Op: "manage", Device: d.id(), Err: ErrNilArg}
	}
	if part && h.net.Load() == netIdle {
		// The device may outlive the task, which can hand out its Line
		// (LineOf). Manage needs no net: the device is down when it returns.
		h.armNet()
	}
	d.mu.Lock()
	if err := d.startLocked("manage"); err != nil {
		d.mu.Unlock()
		return err
	}
	if crash := d.drainLocked(); crash != nil {
		h.stopNet()
		return crash
	}
	tctx := d.newTaskLocked(ctx)
	d.state = stateManaged
	d.task = tctx
	d.mu.Unlock()

	returned := false
	defer func() {
		if !returned {
			d.goexit(h)
		}
	}()
	pf, res := h.runTask(tctx, task, part)
	returned = true
	crash := d.finishManaged(res, pf, part)
	// What follows is repeated in runTask for a panic passing through,
	// rather than shared through a function that is not inlined: the
	// disconnect path runs on top of these frames, in a goroutine whose
	// stack starts small (see presize). With such a function here and a
	// larger closure in Group.Spawn, BenchmarkHook/task_monitor_error_notify
	// /none ran about 3.7 times slower, slower than with a hook installed
	// (which presizes the stack): the sign of a stack that grows.
	if crash != nil {
		tctx.cancel(crash)
	} else {
		tctx.cancel(nil)
	}
	if !part || crash != nil {
		h.stopNet() // the device is down
	}
	runtime.KeepAlive(h)
	return crash
}

// startLocked checks that a task can start on d.
func (d *device) startLocked(op string) error {
	switch d.state {
	case stateDown:
		return &DeviceError{Op: op, Device: d.id(), Err: ErrDeviceDown}
	case stateManaged, stateWatching:
		return &DeviceError{Op: op, Device: d.id(), Err: ErrBusy}
	}
	if d.kind == kindProxy {
		return &DeviceError{Op: op, Device: d.id(), Err: errProxy}
	}
	return nil
}

// drainLocked handles the messages queued before Manage started. It returns
// nil, with d.mu still held, if none of them ends the device; otherwise it
// takes the device down, unlocks d.mu and returns the crash.
func (d *device) drainLocked() *Crash {
	for {
		m, ok := d.pop()
		if !ok {
			return nil
		}
		switch {
		case m.isShutdown():
			crash := &Crash{Kind: CrashPowerOff, Device: m.fault.Device}
			d.goDown(nil, crash)
			return crash
		case m.fault != nil:
			crash := cascadeCrash(m.src.id(), m.fault)
			d.goDown(crash.Fault, crash)
			return crash
		}
	}
}

// runTask runs the task, turning a panic into a FaultPanic with the stack of
// the panicking goroutine. A runtime.Goexit is not recovered: it unwinds
// through Manage, whose deferred goexit takes the device down.
//
// On a device made WithPanicPassThrough, the device is taken down here and
// the panic raised again from the deferred function, while the frames of
// the panicking task are still on the stack: the program's crash report
// then shows where the task panicked, marked "[recovered, repanicked]".
func (h *Device) runTask(tctx *taskCtx, task func(context.Context) error, part bool) (pf *Fault, err error) {
	defer func() {
		if r := recover(); r != nil {
			pf = &Fault{Kind: FaultPanic, Value: r, Stack: stack()}
			if h.d.pass {
				// As manage does after a task's end: a panic always
				// crashes the task, so the device is down.
				crash := h.d.finishManaged(nil, pf, part)
				tctx.cancel(crash)
				h.stopNet()
				h.d.mu.Lock()
				h.d.gone = true // for Group.Spawn's goroutine, which unwinds next
				h.d.mu.Unlock()
				panic(r)
			}
		}
	}()
	return nil, task(tctx)
}

// finishManaged ends a managed task that has returned.
func (d *device) finishManaged(res error, pf *Fault, part bool) error {
	d.mu.Lock()
	if d.state == stateDown {
		// Something ended the device while the task ran (a shutdown
		// request, a cascade, Kill, Disconnect or Drop): it recorded why.
		crash := d.crash
		d.mu.Unlock()
		if crash == nil { // every path that takes a managed device down sets one
			panic("backplane: managed device went down without a crash")
		}
		return crash
	}
	// The task has returned by itself: its context is cancelled by manage,
	// after the notifications, in a shallow frame. (Cancelling it deep in the
	// disconnect path made a fresh goroutine's small stack grow.)
	d.task = nil
	if hooks.Load() != nil && (!part || res != nil || pf != nil) {
		presize() // this goroutine is about to run a disconnect that emits events
	}
	switch {
	case pf != nil:
		crash := &Crash{Kind: CrashPanic, Fault: pf}
		d.goDown(pf, crash)
		return crash
	case res != nil:
		crash := errorCrash(res)
		d.goDown(crash.Fault, crash)
		return crash
	case part:
		d.state = stateIdle
		d.mu.Unlock()
		return nil
	}
	d.goDown(nil, nil)
	return nil
}

// goexit takes the device down when its task ended the goroutine with
// runtime.Goexit instead of returning, so that no watcher waits forever.
func (d *device) goexit(h *Device) {
	d.mu.Lock()
	if d.state == stateDown {
		d.mu.Unlock()
		return
	}
	f := &Fault{Kind: FaultPanic, Value: errGoexit, Stack: stack()}
	d.goDown(f, &Crash{Kind: CrashPanic, Fault: f})
	runtime.KeepAlive(h)
}

// stack returns the formatted stack of the calling goroutine.
func stack() []byte { return debug.Stack() }

// presize makes sure the goroutine has stack room for a disconnect that
// follows a task's return with an event hook installed, while only
// Manage's own frames are on the stack. (A task ended by a shutdown or a
// cascade skips it: whoever ended it ran the disconnect.) Goroutines start
// with a 2 KiB stack. The common disconnect path (notify the watchers, wake
// their receivers) is kept shallow enough to fit in it, so a short task
// never grows its stack at all: growing it costs more than the rest of the
// task's life. Emitting events runs deeper, and growing the stack in the
// middle of that path copies every frame on the way; growing it here
// copies two or three. (A failure that cascades to a managed watcher also
// runs deeper, and may grow the stack where it does: that path is rarer
// than its cost to every short task would be.)
//
// Only the frame's size matters: the function's entry checks that the
// stack has room for it, and grows the stack if not. The array is used on a
// branch never taken, so the compiler keeps it in the frame but never
// zeroes it (zeroing it cost more than the rest of presize).
//
//go:noinline
func presize() {
	if presizeUse {
		var b [1536]byte
		touch(b[:])
	}
}

// presizeUse is never set. The compiler cannot know that, so presize keeps
// its frame.
var presizeUse bool

// touch keeps presize's array, and so its frame, from being optimised away.
//
//go:noinline
func touch(b []byte) { b[len(b)-1] = 1 }
