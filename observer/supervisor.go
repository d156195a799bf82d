package observer

import (
	"time"

	"github.com/backplane-go/backplane"
)

// SupervisorEventKind says what a SupervisorEvent reports. It is a string
// so that a supervisor package can convert its own event kinds without
// importing this one; the constants below are the kinds the Recorder
// understands, and any other kind is kept in the event feed as it is.
type SupervisorEventKind string

// The kinds of SupervisorEvent the Recorder understands.
const (
	// ChildStarted: Supervisor started Child (first start).
	ChildStarted SupervisorEventKind = "child started"
	// ChildExited: Child of Supervisor ended, with Fault (nil: cleanly).
	ChildExited SupervisorEventKind = "child exited"
	// ChildRestarted: Supervisor started Child again; Child is the new
	// device, and Fault the fault that made the restart necessary, if any.
	ChildRestarted SupervisorEventKind = "child restarted"
	// RestartLimit: Supervisor gave up: too many restarts too quickly.
	RestartLimit SupervisorEventKind = "restart limit reached"
	// ChildAbandoned: Supervisor stopped waiting for Child, whose goroutine
	// ignored its context and was left running.
	ChildAbandoned SupervisorEventKind = "child abandoned"
	// ChildStartFailed: Supervisor could not start Child (Err says why).
	ChildStartFailed SupervisorEventKind = "child start failed"
	// AutoShutdown: the end of a significant child (ChildName) shuts
	// Supervisor down.
	AutoShutdown SupervisorEventKind = "auto shutdown"
)

// SupervisorEvent is what a supervisor reports about its children. Feed
// one to Recorder.RecordSupervisor, Logger.RecordSupervisor or, through
// SupervisorHooks, to all of them.
type SupervisorEvent struct {
	Kind           SupervisorEventKind
	Supervisor     backplane.DeviceID // the supervisor's own device
	SupervisorName string             // optional
	Child          backplane.DeviceID // the child's device (zero if none)
	ChildName      string             // the child's name in the supervisor's spec
	Fault          *backplane.Fault   // ChildExited, ChildRestarted, ChildAbandoned: why
	Err            error              // optional: ChildStartFailed, RestartLimit
	Time           time.Time          // zero: the consumer's clock
}

// SupervisorHook receives supervisor events. Like backplane.Hook, it is
// called synchronously and must be fast and must not block.
type SupervisorHook func(SupervisorEvent)
