package observer

import "github.com/backplane-go/backplane/supervisor"

// ForSupervisor returns an event hook for supervisor.WithEventHook that
// converts each event with FromSupervisor and passes it to every hook:
//
//	sup, err := supervisor.New(supervisor.WithName("root"),
//		supervisor.WithEventHook(observer.ForSupervisor(rec.RecordSupervisor, logger.RecordSupervisor)))
//
// The hook runs in the supervisor's goroutine and costs one conversion (no
// allocation) plus the hooks themselves.
func ForSupervisor(hooks ...SupervisorHook) func(supervisor.Event) {
	h := SupervisorHooks(hooks...)
	if h == nil {
		return func(supervisor.Event) {}
	}
	return func(e supervisor.Event) { h(FromSupervisor(e)) }
}

// FromSupervisor converts an event of package supervisor. Event types it
// does not know keep their type's name as Kind.
func FromSupervisor(e supervisor.Event) SupervisorEvent {
	var s SupervisorEvent
	instance := func(src supervisor.Source, in supervisor.Instance) {
		s.Supervisor, s.SupervisorName = src.SupervisorID, src.Supervisor
		s.Child, s.ChildName = in.Device, in.Child
	}
	switch e := e.(type) {
	case supervisor.ChildStarted:
		s.Kind = ChildStarted
		instance(e.Source, e.Instance)
	case supervisor.ChildRestarted:
		s.Kind = ChildRestarted
		instance(e.Source, e.Instance)
	case supervisor.ChildExited:
		s.Kind = ChildExited
		instance(e.Source, e.Instance)
		s.Fault = e.Fault
	case supervisor.ChildStartFailed:
		s.Kind = ChildStartFailed
		instance(e.Source, e.Instance)
		s.Err = e.Err
	case supervisor.ChildAbandoned:
		s.Kind = ChildAbandoned
		instance(e.Source, e.Instance)
		s.Fault = e.Fault
	case supervisor.RestartLimitReached:
		s.Kind = RestartLimit
		s.Supervisor, s.SupervisorName = e.SupervisorID, e.Supervisor
		if e.Err != nil {
			s.Err = e.Err
			s.ChildName = e.Err.Child
			s.Fault = e.Err.Fault
		}
	case supervisor.AutoShutdownTriggered:
		s.Kind = AutoShutdown
		s.Supervisor, s.SupervisorName = e.SupervisorID, e.Supervisor
		s.ChildName = e.Child
	default:
		if e != nil {
			s.Kind = SupervisorEventKind(e.Type().String())
		}
	}
	return s
}
