package supervisor

import (
	"fmt"
	"time"

	"github.com/backplane-go/backplane"
)

// EventType says what an Event reports.
type EventType uint8

// The event types.
const (
	// EventChildStarted: a child was started (at supervisor start, by
	// AddChild or by RestartChild).
	EventChildStarted EventType = iota + 1
	// EventChildRestarted: a child was started again by the restart
	// strategy and is running.
	EventChildRestarted
	// EventChildExited: a child's task returned, on its own or because the
	// supervisor stopped it.
	EventChildExited
	// EventChildStartFailed: a child failed to start.
	EventChildStartFailed
	// EventChildAbandoned: the supervisor stopped waiting for a child and
	// killed its device; its goroutine may still be running.
	EventChildAbandoned
	// EventRestartLimit: the restart intensity was exceeded; the supervisor
	// is giving up.
	EventRestartLimit
	// EventAutoShutdown: a significant child's end shuts the supervisor down.
	EventAutoShutdown
)

var eventTypeNames = [...]string{
	EventChildStarted:     "child started",
	EventChildRestarted:   "child restarted",
	EventChildExited:      "child exited",
	EventChildStartFailed: "child start failed",
	EventChildAbandoned:   "child abandoned",
	EventRestartLimit:     "restart limit reached",
	EventAutoShutdown:     "auto shutdown",
}

// String returns the type's lower-case name, e.g. "child exited".
func (t EventType) String() string {
	if int(t) < len(eventTypeNames) && eventTypeNames[t] != "" {
		return eventTypeNames[t]
	}
	return fmt.Sprintf("EventType(%d)", uint8(t))
}

// Event is what a supervisor reports to its hook (see WithEventHook). The
// concrete types are ChildStarted, ChildRestarted, ChildExited,
// ChildStartFailed, ChildAbandoned, RestartLimitReached and
// AutoShutdownTriggered; switch on the type or on Type(). Map returns the
// fields under stable snake_case keys, for logs and the observer.
type Event interface {
	Type() EventType
	String() string
	Map() map[string]any
	event()
}

// Source names the supervisor an event comes from. Every event embeds it.
type Source struct {
	Supervisor   string             // the supervisor's name
	SupervisorID backplane.DeviceID // the supervisor's device
	MaxRestarts  int                // its intensity: at most MaxRestarts restarts ...
	Period       time.Duration      // ... within any Period (WithIntensity)
}

func (s Source) put(m map[string]any, t EventType) map[string]any {
	m["type"] = t.String()
	m["supervisor"] = s.Supervisor
	m["supervisor_id"] = s.SupervisorID.String()
	m["max_restarts"] = s.MaxRestarts
	m["period"] = s.Period.String()
	return m
}

// Instance names one run of a child: its ID, its device and its
// generation (1 for the first start, then one more per start). A device
// runs one generation only, so (Device, Generation) never names two runs.
// A nested supervisor runs on its child device: its own events carry that
// device as their SupervisorID, which joins the levels of a tree.
type Instance struct {
	Child      string             // the child's ID
	Device     backplane.DeviceID // the device of this run (zero if it never got one)
	Generation uint64             // 1 for the first start, then one more per start
}

func (i Instance) put(m map[string]any) map[string]any {
	m["child"] = i.Child
	m["device"] = i.Device.String()
	m["generation"] = i.Generation
	return m
}

func faultString(f *backplane.Fault) string {
	if f == nil {
		return "clean"
	}
	return f.Error()
}

// ChildStarted reports a child started.
type ChildStarted struct {
	Source
	Instance
}

// Type returns EventChildStarted.
func (ChildStarted) Type() EventType { return EventChildStarted }
func (ChildStarted) event()          {}

// String describes the event.
func (e ChildStarted) String() string {
	return fmt.Sprintf("%s: child %q started as %v", e.Supervisor, e.Child, e.Device)
}

// Map returns the event's fields.
func (e ChildStarted) Map() map[string]any {
	return e.Instance.put(e.Source.put(map[string]any{}, e.Type()))
}

// ChildRestarted reports a child restarted by the strategy and running.
type ChildRestarted struct {
	Source
	Instance
}

// Type returns EventChildRestarted.
func (ChildRestarted) Type() EventType { return EventChildRestarted }
func (ChildRestarted) event()          {}

// String describes the event.
func (e ChildRestarted) String() string {
	return fmt.Sprintf("%s: child %q restarted as %v", e.Supervisor, e.Child, e.Device)
}

// Map returns the event's fields.
func (e ChildRestarted) Map() map[string]any {
	return e.Instance.put(e.Source.put(map[string]any{}, e.Type()))
}

// ChildExited reports a child whose task has returned.
type ChildExited struct {
	Source
	Instance
	// Fault is the fault its device disconnected with; nil for a clean
	// end, including a shutdown request.
	Fault *backplane.Fault
	// Err is what its task (Manage, or a nested supervisor's Serve)
	// returned: nil, or a *backplane.Crash saying why.
	Err error
	// Stopped is true when the supervisor asked it to stop.
	Stopped bool
}

// Type returns EventChildExited.
func (ChildExited) Type() EventType { return EventChildExited }
func (ChildExited) event()          {}

// String describes the event.
func (e ChildExited) String() string {
	how := "exited"
	if e.Stopped {
		how = "stopped"
	}
	return fmt.Sprintf("%s: child %q %s (%s)", e.Supervisor, e.Child, how, faultString(e.Fault))
}

// Map returns the event's fields.
func (e ChildExited) Map() map[string]any {
	m := e.Instance.put(e.Source.put(map[string]any{}, e.Type()))
	m["fault"] = faultString(e.Fault)
	m["stopped"] = e.Stopped
	if e.Err != nil {
		m["error"] = e.Err.Error()
	}
	return m
}

// ChildStartFailed reports a child that failed to start.
type ChildStartFailed struct {
	Source
	Instance
	Err error // why
}

// Type returns EventChildStartFailed.
func (ChildStartFailed) Type() EventType { return EventChildStartFailed }
func (ChildStartFailed) event()          {}

// String describes the event.
func (e ChildStartFailed) String() string {
	return fmt.Sprintf("%s: child %q failed to start: %v", e.Supervisor, e.Child, e.Err)
}

// Map returns the event's fields.
func (e ChildStartFailed) Map() map[string]any {
	m := e.Instance.put(e.Source.put(map[string]any{}, e.Type()))
	m["error"] = fmt.Sprint(e.Err)
	return m
}

// ChildAbandoned reports a child the supervisor stopped waiting for. Its
// device was killed (if it was still connected) and Fault is the
// FaultKilled it is reported with; Go cannot stop its goroutine, which may
// still be running (see Supervisor.WaitAbandoned).
type ChildAbandoned struct {
	Source
	Instance
	Grace time.Duration    // the grace it was given (BrutalKill: none)
	Fault *backplane.Fault // FaultKilled, with ErrShutdownTimeout or ErrBrutalKill
}

// Type returns EventChildAbandoned.
func (ChildAbandoned) Type() EventType { return EventChildAbandoned }
func (ChildAbandoned) event()          {}

// String describes the event.
func (e ChildAbandoned) String() string {
	return fmt.Sprintf("%s: child %q abandoned (%s)", e.Supervisor, e.Child, faultString(e.Fault))
}

// Map returns the event's fields.
func (e ChildAbandoned) Map() map[string]any {
	m := e.Instance.put(e.Source.put(map[string]any{}, e.Type()))
	m["grace"] = e.Grace.String()
	m["fault"] = faultString(e.Fault)
	return m
}

// RestartLimitReached reports that the restart intensity was exceeded: the
// supervisor stops its children and disconnects with Err.
type RestartLimitReached struct {
	Source
	Err *RestartLimitError // what Serve returns, and the supervisor's fault
}

// Type returns EventRestartLimit.
func (RestartLimitReached) Type() EventType { return EventRestartLimit }
func (RestartLimitReached) event()          {}

// String describes the event.
func (e RestartLimitReached) String() string {
	if e.Err == nil {
		return e.Supervisor + ": restart limit reached"
	}
	return fmt.Sprintf("%s: restart limit reached: more than %d restarts in %v", e.Supervisor, e.Err.MaxRestarts, e.Err.Period)
}

// Map returns the event's fields.
func (e RestartLimitReached) Map() map[string]any {
	m := e.Source.put(map[string]any{}, e.Type())
	if e.Err == nil {
		return m
	}
	m["child"] = e.Err.Child
	m["max_restarts"] = e.Err.MaxRestarts
	m["period"] = e.Err.Period.String()
	m["fault"] = faultString(e.Err.Fault)
	return m
}

// AutoShutdownTriggered reports that a significant child's end shuts the
// supervisor down (see AutoShutdown).
type AutoShutdownTriggered struct {
	Source
	Child string // the significant child whose end triggered it
}

// Type returns EventAutoShutdown.
func (AutoShutdownTriggered) Type() EventType { return EventAutoShutdown }
func (AutoShutdownTriggered) event()          {}

// String describes the event.
func (e AutoShutdownTriggered) String() string {
	return fmt.Sprintf("%s: auto shutdown after child %q", e.Supervisor, e.Child)
}

// Map returns the event's fields.
func (e AutoShutdownTriggered) Map() map[string]any {
	m := e.Source.put(map[string]any{}, e.Type())
	m["child"] = e.Child
	return m
}
