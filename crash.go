package backplane

import "fmt"

// CrashKind says why a managed task ended without success.
type CrashKind uint8

// The kinds of Crash.
const (
	// CrashPowerOff: a Shutdown request arrived (Crash.Device names the
	// requester). The device disconnected cleanly.
	CrashPowerOff CrashKind = iota + 1
	// CrashError: the task returned an error (Crash.Fault.Err).
	CrashError
	// CrashPanic: the task panicked (Crash.Fault.Value, Crash.Fault.Stack).
	CrashPanic
	// CrashCascade: a device the task depended on faulted (Crash.Device names
	// it, Crash.Fault.Cause is its fault).
	CrashCascade
	// CrashKilled: the device was disconnected with FaultKilled while the
	// task ran (Crash.Device names who did it).
	CrashKilled
	// CrashDisconnected: the device was disconnected by Device.Disconnect
	// or Device.Drop while the task ran; Crash.Fault is the fault it
	// disconnected with (nil if cleanly).
	CrashDisconnected
)

var crashKindNames = [...]string{
	CrashPowerOff:     "power off",
	CrashError:        "error",
	CrashPanic:        "panic",
	CrashCascade:      "cascade",
	CrashKilled:       "killed",
	CrashDisconnected: "disconnected",
}

// String returns the kind's lower-case name, e.g. "power off".
func (k CrashKind) String() string {
	if int(k) < len(crashKindNames) && crashKindNames[k] != "" {
		return crashKindNames[k]
	}
	return fmt.Sprintf("CrashKind(%d)", uint8(k))
}

// Crash is what the caller of Manage or PartManage gets when the task did
// not succeed. It is an error: use errors.As to get at it, and errors.Is to
// reach the task's own error through it.
//
// A Crash is also the cause of the task's context when the device is told
// to stop: context.Cause(ctx) returns it from inside the task.
type Crash struct {
	// Kind says what ended the task.
	Kind CrashKind
	// Device is the requester of a shutdown (CrashPowerOff), the device that
	// faulted (CrashCascade) or who killed the device (CrashKilled).
	Device DeviceID
	// Fault is the fault the managed device disconnected with; nil for
	// CrashPowerOff, where it disconnected cleanly.
	Fault *Fault
}

// Error describes the crash.
func (c *Crash) Error() string {
	if c == nil {
		return "backplane: <nil crash>"
	}
	switch c.Kind {
	case CrashPowerOff:
		return "backplane: crash: shutdown requested" + by(c.Device)
	case CrashKilled:
		return "backplane: crash: killed" + by(c.Device)
	case CrashDisconnected:
		if c.Fault == nil {
			return "backplane: crash: device disconnected while the task ran"
		}
		return "backplane: crash: device disconnected while the task ran: " + c.Fault.describe()
	}
	if c.Fault == nil {
		return "backplane: crash: " + c.Kind.String()
	}
	return "backplane: crash: " + c.Fault.describe()
}

// Unwrap returns the fault the device disconnected with (nil for a power
// off), so errors.Is and errors.As reach the task's own error.
func (c *Crash) Unwrap() error {
	if c == nil || c.Fault == nil {
		return nil
	}
	return c.Fault
}

// crashFault is a Crash and the Fault it carries, made in one allocation on
// the paths that need both at once (a task's error, a cascade).
type crashFault struct {
	c Crash
	f Fault
}

// errorCrash returns the crash of a task that returned err; its Fault is the
// FaultError the device disconnects with.
func errorCrash(err error) *Crash {
	cf := &crashFault{f: Fault{Kind: FaultError, Err: err}}
	cf.c = Crash{Kind: CrashError, Fault: &cf.f}
	return &cf.c
}

// cascadeCrash returns the crash of a managed device that depended on from,
// which disconnected with cause; its Fault is the FaultCascade the device
// disconnects with.
func cascadeCrash(from DeviceID, cause *Fault) *Crash {
	cf := new(crashFault)
	cf.f.setCascade(from, cause)
	cf.c = Crash{Kind: CrashCascade, Device: from, Fault: &cf.f}
	return &cf.c
}

// by names who asked for a shutdown or a kill: " by #3", or nothing when
// the request came from outside any device (the zero DeviceID).
func by(id DeviceID) string {
	if id.IsZero() {
		return ""
	}
	return " by " + id.String()
}
