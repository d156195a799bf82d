package backplane

import "context"

// Line is a cheap, copyable, comparable, non-owning reference to a Device.
// Hand Lines out freely: whoever holds one can link to the device, link it
// to others, and request its shutdown, but cannot read its inbox or end its
// life. Lines do not keep a device from being dropped.
//
// A Line is one pointer; making and copying one never allocates. Two Lines
// are == when they refer to the same device. The zero Line refers to no
// device: its methods return ErrInvalid (or a zero value), never panic.
// All methods are safe for concurrent use.
type Line struct {
	d *device
}

// Linkable is anything that names a device to link with: a *Device or a
// Line. Linking through a Line and linking two *Devices directly are one
// code path with one behaviour.
type Linkable interface {
	Line() Line
}

// LineOf returns the Line of the device whose task was given ctx: the
// context Manage, PartManage or Watch passes to its task (and so Group.Spawn
// and a supervisor's children), or any context derived from one. It is how
// a task finds itself on the backplane, as Erlang's self() does, to link
// itself to what it depends on or to hand its Line to others. When tasks
// nest, the innermost one's device is returned. It reports false for a
// context that did not come from a task.
func LineOf(ctx context.Context) (Line, bool) {
	if ctx == nil {
		return Line{}, false
	}
	l, ok := ctx.Value(lineKey{}).(Line)
	return l, ok
}

// lineKey is the key under which a task's context answers its device's
// Line (see taskCtx.Value).
type lineKey struct{}

// Line returns l itself, so that a Line is Linkable.
func (l Line) Line() Line { return l }

// ID returns the ID of the device, or the zero DeviceID for the zero Line.
func (l Line) ID() DeviceID {
	if l.d == nil {
		return DeviceID{}
	}
	return l.d.id()
}

// IsZero reports whether l is the zero Line, which refers to no device.
func (l Line) IsZero() bool { return l.d == nil }

// String formats the Line as its device's ID.
func (l Line) String() string { return "line " + l.ID().String() }

// Alive reports whether the device is still connected. The answer can be
// stale by the time it is used; to act on a disconnect, link instead.
func (l Line) Alive() bool {
	if l.d == nil {
		return false
	}
	l.d.mu.Lock()
	up := l.d.state != stateDown
	l.d.mu.Unlock()
	return up
}

// Done returns a channel closed when the device disconnects (closed at once
// for the zero Line). The first call on a device makes the channel.
func (l Line) Done() <-chan struct{} {
	d := l.d
	if d == nil {
		return closedChan
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.state == stateDown && (d.sig == nil || d.sig.done == nil) {
		return closedChan
	}
	sig := d.signalsLocked()
	if sig.done == nil {
		sig.done = make(chan struct{})
	}
	return sig.done
}

// Link links l's device to other in the given mode, seen from l's device:
// see Device.Link, which it is.
func (l Line) Link(other Linkable, mode LinkMode) error {
	o := lineWatched(other, mode&Monitor != 0)
	a, b := l.d, o.d
	if a == nil || b == nil {
		return &LinkError{Op: "link", From: l.ID(), To: o.ID(), Err: ErrInvalid}
	}
	if a == b {
		return &LinkError{Op: "link", From: a.id(), To: b.id(), Err: ErrSelfLink}
	}
	if !mode.valid() {
		return &LinkError{Op: "link", From: a.id(), To: b.id(), Err: ErrBadMode}
	}
	if a.kind|b.kind != kindLocal {
		return linkRemote(a, b, mode)
	}
	return linkLocal(a, b, mode, mode)
}

// linkLocal records the directions mode of the link between a and b; all
// is the whole mode asked for, for the event.
func linkLocal(a, b *device, mode, all LinkMode) error {
	lockPair(a, b)
	switch {
	case a.state == stateDown:
		unlockPair(a, b)
		return &LinkError{Op: "link", From: a.id(), To: b.id(), Err: ErrDeviceDown}
	case b.state == stateDown:
		unlockPair(a, b)
		return &LinkError{Op: "link", From: a.id(), To: b.id(), Err: ErrLinkDown}
	}
	if am := a.links.update(b, mode, 0); am|mode != am {
		b.links.set(a, (am | mode).flip())
	}
	unlockPair(a, b)
	if hk := hooks.Load(); hk != nil {
		emit(hk, EventLinked, a, b.id(), all, nil)
	}
	return nil
}

// Unlink removes the given directions of the link between l's device and
// other: see Device.Unlink, which it is.
func (l Line) Unlink(other Linkable, mode LinkMode) (bool, error) {
	return l.unlink(other, mode, false)
}

func (l Line) unlink(other Linkable, mode LinkMode, flush bool) (bool, error) {
	o := lineOf(other)
	a, b := l.d, o.d
	if a == nil || b == nil {
		return false, &LinkError{Op: "unlink", From: l.ID(), To: o.ID(), Err: ErrInvalid}
	}
	if a == b {
		return false, &LinkError{Op: "unlink", From: a.id(), To: b.id(), Err: ErrSelfLink}
	}
	if !mode.valid() {
		return false, &LinkError{Op: "unlink", From: a.id(), To: b.id(), Err: ErrBadMode}
	}
	// An edge is active while its watcher still holds it: once the notifier
	// has gone down, the watcher's entry alone decides whether the pending
	// notification is delivered, so each side is edited only while alive and
	// the watcher's view is what counts as removed.
	removed, all := false, mode
	if a.kind|b.kind != kindLocal {
		// The directions watched by a proxy live on its node: ask it to
		// remove them, and count them removed once asked.
		local, err := remoteHalves(a, b, mode, remoteUnwatch)
		if err != nil {
			return false, &LinkError{Op: "unlink", From: a.id(), To: b.id(), Err: err}
		}
		removed = local != mode
		mode = local
	}
	lockPair(a, b)
	if a.state != stateDown {
		am := a.links.update(b, 0, mode)
		removed = removed || am&mode&Monitor != 0
	}
	if b.state != stateDown {
		bm := b.links.update(a, 0, mode.flip())
		removed = removed || bm&mode.flip()&Monitor != 0
	}
	if flush && mode&Monitor != 0 {
		// The flushed message is not an active edge: it does not change
		// the report (rule 6), as demonitor(Ref, [flush, info]) returns
		// false for a monitor that had fired.
		a.removeDisconnected(b)
	}
	unlockPair(a, b)
	if removed {
		if hk := hooks.Load(); hk != nil {
			emit(hk, EventUnlinked, a, b.id(), all, nil)
		}
	}
	return removed, nil
}

// Shutdown asks the device to stop, on behalf of the device from (use the
// zero DeviceID from outside any device). A device running Manage stops at
// once: it disconnects cleanly, its task's context is cancelled and Manage
// returns a Crash of kind CrashPowerOff. Any other device finds a Shutdown
// message in its inbox, after every earlier message from the same sender.
//
// It fails with ErrLinkDown (in a *LinkError) when the device has already
// disconnected, and with ErrInvalid for the zero Line. It never blocks
// beyond a short critical section.
func (l Line) Shutdown(from DeviceID) error {
	d := l.d
	if d == nil {
		return &LinkError{Op: "shutdown", From: from, Err: ErrInvalid}
	}
	if hk := hooks.Load(); hk != nil {
		emit(hk, EventShutdownRequested, d, from, 0, nil)
	}
	if d.kind == kindProxy {
		return d.shutdownRemote(from)
	}
	d.mu.Lock()
	switch d.state {
	case stateDown:
		d.mu.Unlock()
		return &LinkError{Op: "shutdown", From: from, To: d.id(), Err: ErrLinkDown}
	case stateManaged:
		crash := &Crash{Kind: CrashPowerOff, Device: from}
		d.goDown(nil, crash)
		return nil
	}
	d.enqueueLocked(shutdownMessage(from))
	return nil
}

// Kill disconnects the device with a Fault of kind FaultKilled on behalf of
// the device from, if it is still connected. It is for whoever runs the
// device's task and has given up waiting for it (a supervisor): a task
// running under Manage has its context cancelled and Manage returns a Crash
// of kind CrashKilled once the task returns. reason may be nil.
//
// It fails with ErrLinkDown (in a *LinkError) when the device has already
// disconnected, and with ErrInvalid for the zero Line.
func (l Line) Kill(from DeviceID, reason error) error {
	d := l.d
	if d == nil {
		return &LinkError{Op: "kill", From: from, Err: ErrInvalid}
	}
	if d.kind == kindProxy {
		return d.killRemote(from, reason)
	}
	f := &Fault{Kind: FaultKilled, Err: reason}
	if !d.disconnect(f, &Crash{Kind: CrashKilled, Device: from, Fault: f}) {
		return &LinkError{Op: "kill", From: from, To: d.id(), Err: ErrLinkDown}
	}
	return nil
}

// lineOf returns other's Line, treating a nil interface as the zero Line.
func lineOf(other Linkable) Line {
	if other == nil {
		return Line{}
	}
	return other.Line()
}

// lineWatched is lineOf for a link in which other is watched or not. A
// *Device that only watches is not exposed by the link (nobody can observe
// its end through it), so its safety net is not armed for it (see
// Device.net).
func lineWatched(other Linkable, watched bool) Line {
	if h, ok := other.(*Device); ok && !watched {
		return h.line()
	}
	return lineOf(other)
}

// lockPair locks two distinct devices in ID order, so that any two
// goroutines locking the same pair cannot deadlock.
func lockPair(a, b *device) {
	if a.n < b.n {
		a.mu.Lock()
		b.mu.Lock()
	} else {
		b.mu.Lock()
		a.mu.Lock()
	}
}

func unlockPair(a, b *device) {
	a.mu.Unlock()
	b.mu.Unlock()
}
