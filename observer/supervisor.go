package observer

import (
	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/supervisor"
)

// supFields are the fields of a supervisor.Event the recorder and the
// logger use, read once from whichever concrete type the event has.
type supFields struct {
	typ       supervisor.EventType
	sup       backplane.DeviceID // the supervisor's device
	supName   string
	maxRest   int                // the supervisor's intensity: restarts allowed ...
	period    int64              // ... within this period, in nanoseconds
	child     backplane.DeviceID // the child's device (zero if none)
	childName string             // the child's ID in the supervisor's spec
	gen       uint64             // the child's generation (0 if none)
	fault     *backplane.Fault   // why the child ended, if it did
	err       error              // ChildStartFailed, RestartLimitReached
	stopped   bool               // ChildExited: stopped by the supervisor
}

// fieldsOf reads e; a nil e gives the zero supFields.
func fieldsOf(e supervisor.Event) supFields {
	var f supFields
	if e == nil {
		return f
	}
	f.typ = e.Type()
	src := func(s supervisor.Source) {
		f.sup, f.supName = s.SupervisorID, s.Supervisor
		f.maxRest, f.period = s.MaxRestarts, int64(s.Period)
	}
	inst := func(in supervisor.Instance) { f.child, f.childName, f.gen = in.Device, in.Child, in.Generation }
	switch e := e.(type) {
	case supervisor.ChildStarted:
		src(e.Source)
		inst(e.Instance)
	case supervisor.ChildRestarted:
		src(e.Source)
		inst(e.Instance)
	case supervisor.ChildExited:
		src(e.Source)
		inst(e.Instance)
		f.fault, f.stopped = e.Fault, e.Stopped
	case supervisor.ChildStartFailed:
		src(e.Source)
		inst(e.Instance)
		f.err = e.Err
	case supervisor.ChildAbandoned:
		src(e.Source)
		inst(e.Instance)
		f.fault = e.Fault
	case supervisor.RestartLimitReached:
		src(e.Source)
		if e.Err != nil {
			f.err, f.childName, f.fault = e.Err, e.Err.Child, e.Err.Fault
		}
	case supervisor.AutoShutdownTriggered:
		src(e.Source)
		f.childName = e.Child
	}
	return f
}
