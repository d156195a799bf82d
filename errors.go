package backplane

import (
	"errors"
	"fmt"
)

// Sentinel errors returned (wrapped in a *LinkError where an operation names
// two devices) by the backplane. Match them with errors.Is.
var (
	// ErrInvalid reports a nil *Device, a zero-value Device or a zero-value
	// Line: something that was never made by New or Device.Line.
	ErrInvalid = errors.New("backplane: nil or zero-value Device or Line")

	// ErrSelfLink reports an attempt to link a device to itself.
	ErrSelfLink = errors.New("backplane: cannot link a device to itself")

	// ErrDeviceDown reports an operation on a device that has already
	// disconnected: linking from it, disconnecting it again, managing it.
	ErrDeviceDown = errors.New("backplane: device has disconnected")

	// ErrLinkDown reports that the other side of an operation has already
	// disconnected: linking to it, or requesting its shutdown.
	ErrLinkDown = errors.New("backplane: the other device has disconnected")

	// ErrBadMode reports a LinkMode that is not Monitor, Notify or Peer.
	ErrBadMode = errors.New("backplane: invalid link mode")

	// ErrBadFault reports a *Fault passed to Device.Disconnect whose Kind
	// is not one of the FaultKind constants (the zero Fault, for one).
	ErrBadFault = errors.New("backplane: invalid fault kind")

	// ErrBusy reports a Manage, PartManage or Watch call on a device that is
	// already running one: a device runs one task at a time.
	ErrBusy = errors.New("backplane: device is already running a task")
)

// LinkError describes a failed operation between two devices. It unwraps to
// one of the sentinel errors (ErrSelfLink, ErrDeviceDown, ErrLinkDown,
// ErrInvalid, ErrBadMode).
type LinkError struct {
	Op   string   // "link", "unlink" or "shutdown"
	From DeviceID // the device the operation was called on (zero if invalid)
	To   DeviceID // the other device (zero if invalid)
	Err  error    // the reason: one of the sentinel errors
}

// Error formats the failed operation, the two devices and the reason, e.g.
// "backplane: link #3 -> #4: the other device has disconnected". A zero
// DeviceID prints as "#0" (for From: outside any device); when both are
// zero the devices are left out: "backplane: link: nil or zero-value
// Device or Line".
func (e *LinkError) Error() string {
	if e == nil {
		return "backplane: <nil LinkError>"
	}
	if e.From.IsZero() && e.To.IsZero() {
		return fmt.Sprintf("backplane: %s: %v", e.Op, trimPrefix(e.Err))
	}
	return fmt.Sprintf("backplane: %s %v -> %v: %v", e.Op, e.From, e.To, trimPrefix(e.Err))
}

// Unwrap returns the reason, one of the sentinel errors.
func (e *LinkError) Unwrap() error {
	if e == nil {
		return nil
	}
	return e.Err
}

// trimPrefix returns err's message without a leading "backplane: ", for a
// message of this package that wraps it, so the prefix appears once.
func trimPrefix(err error) string {
	const p = "backplane: "
	if err == nil {
		return "<nil>"
	}
	s := err.Error()
	if len(s) > len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}

// DeviceError describes a failed operation on one device. It unwraps to one
// of the sentinel errors (ErrInvalid, ErrDeviceDown, ErrBusy, ErrNilArg,
// ErrBadFault).
type DeviceError struct {
	Op     string   // "disconnect", "manage", "watch", "receive", ...
	Device DeviceID // the device (zero if invalid)
	Err    error    // the reason: one of the sentinel errors
}

// Error formats the failed operation, the device and the reason, e.g.
// "backplane: manage #7: device is already running a task". The device is
// left out when it is the zero DeviceID (an invalid Device, or a call that
// names none): "backplane: manage: nil context or task".
func (e *DeviceError) Error() string {
	if e == nil {
		return "backplane: <nil DeviceError>"
	}
	if e.Device.IsZero() {
		return fmt.Sprintf("backplane: %s: %v", e.Op, trimPrefix(e.Err))
	}
	return fmt.Sprintf("backplane: %s %v: %v", e.Op, e.Device, trimPrefix(e.Err))
}

// Unwrap returns the reason, one of the sentinel errors.
func (e *DeviceError) Unwrap() error {
	if e == nil {
		return nil
	}
	return e.Err
}

// errProxy reports a Manage, PartManage or Watch call on a proxy device
// (see newProxy): a proxy stands for a device on another node and runs no
// task here. Only the cluster module holds proxies' *Devices, so no
// application meets it; package bridge hands it to the tests.
var errProxy = errors.New("backplane: a proxy device runs no task")

// errNotRemote reports a proxy asked for with an ID that does not name a
// device on another node.
var errNotRemote = errors.New("backplane: not the ID of a remote device")

// ErrNilArg reports a nil context or a nil task function passed to Manage,
// PartManage, Watch or Group.Spawn.
var ErrNilArg = errors.New("backplane: nil context or task")
