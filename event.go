package backplane

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// EventKind says what an Event reports.
type EventKind uint8

// The kinds of Event.
const (
	// EventCreated: a device was made (Event.Name is its name).
	EventCreated EventKind = iota + 1
	// EventLinked: Device linked to Peer in Mode (seen from Device).
	EventLinked
	// EventUnlinked: Device removed Mode of its link to Peer, and an active
	// edge or queued notification went away.
	EventUnlinked
	// EventDisconnected: Device disconnected with Fault (nil: cleanly).
	EventDisconnected
	// EventShutdownRequested: Peer asked Device to shut down.
	EventShutdownRequested
)

var eventKindNames = [...]string{
	EventCreated:           "created",
	EventLinked:            "linked",
	EventUnlinked:          "unlinked",
	EventDisconnected:      "disconnected",
	EventShutdownRequested: "shutdown requested",
}

// String returns the kind's lower-case name, e.g. "disconnected".
func (k EventKind) String() string {
	if int(k) < len(eventKindNames) && eventKindNames[k] != "" {
		return eventKindNames[k]
	}
	return fmt.Sprintf("EventKind(%d)", uint8(k))
}

// Event reports something that happened on the backplane, for logging,
// metrics and the observer. Which fields are set depends on Kind.
type Event struct {
	Kind   EventKind
	Device DeviceID // the device the event is about
	Line   Line     // a Line to Device, for acting on it (e.g. an observer's shutdown button)
	Name   string   // EventCreated: the device's name, if any
	Peer   DeviceID // the other device of a link, or the shutdown requester
	Mode   LinkMode // EventLinked, EventUnlinked
	Fault  *Fault   // EventDisconnected: nil for a clean disconnect
}

// String describes the event in one line.
func (e Event) String() string {
	switch e.Kind {
	case EventCreated:
		if e.Name != "" {
			return fmt.Sprintf("%v created (%s)", e.Device, e.Name)
		}
		return fmt.Sprintf("%v created", e.Device)
	case EventLinked, EventUnlinked:
		return fmt.Sprintf("%v %s %v (%v)", e.Device, e.Kind, e.Peer, e.Mode)
	case EventDisconnected:
		if e.Fault != nil {
			return fmt.Sprintf("%v disconnected: %s", e.Device, e.Fault.describe())
		}
		return fmt.Sprintf("%v disconnected cleanly", e.Device)
	case EventShutdownRequested:
		return fmt.Sprintf("%v shutdown requested%s", e.Device, by(e.Peer))
	}
	return e.Kind.String()
}

// Hook receives every Event of the process. It is called synchronously, in
// the goroutine that caused the event and outside every backplane lock, so
// it may call back into the backplane (including AddHook and the remove
// functions); it must be fast and must not block. Events from different
// goroutines may arrive in any order; events caused by one goroutine arrive
// in the order it caused them.
type Hook func(Event)

// hooks is the process-wide list of event hooks. It is global because the
// backplane itself is process-wide: any device may link to any other, and
// an observer sees them all. The list is an immutable snapshot behind an
// atomic pointer, replaced whole by AddHook and remove: with no hook the
// hot paths pay one load and one predictable branch, and a hook that is
// called never holds a lock that AddHook takes.
var hooks atomic.Pointer[hookSet]

// hookMu serialises the writers of hooks; readers never take it.
var hookMu sync.Mutex

// hookSet is one snapshot of the hooks, in registration order. It is never
// modified once published.
type hookSet struct {
	list []*hookEntry
}

// hookEntry is one registration. off is set by remove, so that a snapshot
// taken before the removal stops calling the hook too.
type hookEntry struct {
	h   Hook
	off atomic.Bool
}

// AddHook subscribes h to every Event of the process and returns the
// function that unsubscribes it. Any number of hooks may be added,
// independently of each other (an application's logger, a library's
// metrics, a test's recorder): each event is delivered to every hook, one
// after the other, in the order they were added. Adding the same function
// twice subscribes it twice. A nil h is ignored, and its remove does
// nothing.
//
// remove may be called any number of times, from any goroutine; only the
// first call does anything. Once it has returned, no call of h starts,
// although one already running (in another goroutine, or the caller's own
// if remove is called from inside h) finishes. A hook added while an event
// is being delivered does not see that event, and sees every event that
// starts after AddHook returns.
//
// AddHook and remove are safe for concurrent use, also from inside a hook:
// neither holds a lock while any hook runs. Each costs a copy of the list
// of hooks; they are meant for setting up observers, not for every
// operation. With no hook added, an operation pays one atomic load and a
// branch for its event; with hooks, one call per hook.
func AddHook(h Hook) (remove func()) {
	if h == nil {
		return func() {}
	}
	e := &hookEntry{h: h}
	hookMu.Lock()
	var list []*hookEntry
	if old := hooks.Load(); old != nil {
		list = append(list, old.list...)
	}
	hooks.Store(&hookSet{list: append(list, e)})
	hookMu.Unlock()
	var once sync.Once
	return func() { once.Do(func() { removeHook(e) }) }
}

// removeHook takes e out of the list, and stops the snapshots that still
// hold it from calling it.
func removeHook(e *hookEntry) {
	e.off.Store(true)
	hookMu.Lock()
	defer hookMu.Unlock()
	old := hooks.Load()
	if old == nil {
		return
	}
	list := make([]*hookEntry, 0, len(old.list))
	for _, x := range old.list {
		if x != e {
			list = append(list, x)
		}
	}
	if len(list) == 0 {
		hooks.Store(nil) // back to the fast path
		return
	}
	hooks.Store(&hookSet{list: list})
}

// emit builds the Event and calls the hooks with it. It is kept out of
// line, and the Event is built here rather than by the callers, so that hot
// paths reserve no stack space for an Event when no hook is set: the
// disconnect path runs in tasks' goroutines, whose stacks start small.
//
//go:noinline
func emit(hs *hookSet, kind EventKind, d *device, peer DeviceID, mode LinkMode, f *Fault) {
	e := Event{Kind: kind, Device: d.id(), Line: Line{d}, Peer: peer, Mode: mode, Fault: f}
	if kind == EventCreated {
		e.Name = d.name
	}
	for _, x := range hs.list {
		if !x.off.Load() {
			x.h(e)
		}
	}
}
