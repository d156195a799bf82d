package backplane

import (
	"fmt"
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
		return fmt.Sprintf("%v shutdown requested by %v", e.Device, e.Peer)
	}
	return e.Kind.String()
}

// Hook receives every Event of the process. It is called synchronously, in
// the goroutine that caused the event and outside every backplane lock, so
// it may call back into the backplane; it must be fast and must not block.
// Events from different goroutines may arrive in any order; events caused
// by one goroutine arrive in the order it caused them.
type Hook func(Event)

// hook is the process-wide event hook. It is global because the backplane
// itself is process-wide: any device may link to any other, and one
// observer sees them all. An atomic pointer keeps the cost with no hook set
// to one load and one predictable branch on the hot paths.
var hook atomic.Pointer[Hook]

// SetHook installs h as the process's event hook and returns the previous
// one (nil if none). SetHook(nil) removes the hook. To feed several
// consumers, install one Hook that calls each.
func SetHook(h Hook) Hook {
	var p *Hook
	if h != nil {
		p = &h
	}
	old := hook.Swap(p)
	if old == nil {
		return nil
	}
	return *old
}

// emit builds the Event and calls the hook with it. It is kept out of line,
// and the Event is built here rather than by the callers, so that hot paths
// reserve no stack space for an Event when no hook is set: the disconnect
// path runs in tasks' goroutines, whose stacks start small.
//
//go:noinline
func emit(hk *Hook, kind EventKind, d *device, peer DeviceID, mode LinkMode, f *Fault) {
	e := Event{Kind: kind, Device: d.id(), Line: Line{d}, Peer: peer, Mode: mode, Fault: f}
	if kind == EventCreated {
		e.Name = d.name
	}
	(*hk)(e)
}
