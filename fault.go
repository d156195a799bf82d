package backplane

import "fmt"

// FaultKind says why a device disconnected with a Fault.
type FaultKind uint8

// The kinds of Fault.
const (
	// FaultDrop: the device was abandoned, released without running or
	// without disconnecting (by Device.Drop, or found by the garbage
	// collector).
	FaultDrop FaultKind = iota + 1
	// FaultError: the device's task returned an error (Fault.Err).
	FaultError
	// FaultPanic: the device's task panicked (Fault.Value, Fault.Stack).
	FaultPanic
	// FaultCascade: a device this one depended on faulted (Fault.Device,
	// Fault.Cause; Fault.Root names the first device of the chain).
	FaultCascade
	// FaultKilled: the device was disconnected on its task's behalf, because
	// whoever ran it stopped waiting for it; its goroutine was abandoned.
	FaultKilled
	// FaultUnreachable is reserved for links across processes: the device is
	// on another node that can no longer be reached; it may still be alive.
	FaultUnreachable
)

// valid reports whether k is one of the kinds above.
func (k FaultKind) valid() bool { return k >= FaultDrop && k <= FaultUnreachable }

var faultKindNames = [...]string{
	FaultDrop:        "drop",
	FaultError:       "error",
	FaultPanic:       "panic",
	FaultCascade:     "cascade",
	FaultKilled:      "killed",
	FaultUnreachable: "unreachable",
}

// String returns the kind's lower-case name, e.g. "cascade".
func (k FaultKind) String() string {
	if int(k) < len(faultKindNames) && faultKindNames[k] != "" {
		return faultKindNames[k]
	}
	return fmt.Sprintf("FaultKind(%d)", uint8(k))
}

// Fault is the reason a device disconnected uncleanly. It is delivered in
// the Disconnected message to every device that watched it; all of them
// receive the same *Fault, so it must be treated as read-only.
//
// Fault is an error. errors.Is and errors.As reach through it to the task's
// own error (FaultError), to a panic value that is an error (FaultPanic) and,
// for a cascade, along the chain to the fault that started it.
type Fault struct {
	// Kind says what happened.
	Kind FaultKind
	// Err is the task's error for FaultError, and an optional reason for
	// FaultKilled and FaultUnreachable.
	Err error
	// Value is the value passed to panic, for FaultPanic.
	Value any
	// Stack is the formatted stack of the panicking goroutine, for FaultPanic.
	Stack []byte
	// Device is the device this one depended on, for FaultCascade.
	Device DeviceID
	// Cause is Device's fault, for FaultCascade.
	Cause *Fault

	// first is, for a cascade made by the backplane or by CascadeFault,
	// the first cascade of its chain, whose Device and Cause are the
	// chain's root (see Root); firstHop when that is this fault itself.
	// One word where the root's ID and fault took three: the Fault is 96
	// bytes, a size class smaller (BENCHMARKS.md, "Performance round 2").
	first *Fault
}

// firstHop is the first field of a cascade that is the first of its
// chain: its own Device and Cause are the root. A marker rather than a
// pointer to itself, so that a copy of the Fault answers Root from its
// own fields.
var firstHop = new(Fault)

// dropFault is the fault of every dropped device. It carries no per-device
// data (the sender of the message names the device), so one immutable value
// serves all of them and a drop never allocates.
var dropFault = &Fault{Kind: FaultDrop}

// ErrorFault returns a Fault of kind FaultError carrying err. It is what a
// device disconnects with when its task returns err.
func ErrorFault(err error) *Fault { return &Fault{Kind: FaultError, Err: err} }

// cascade returns the fault of a device that depended on from, which
// disconnected with f.
func cascade(from DeviceID, f *Fault) *Fault {
	c := new(Fault)
	c.setCascade(from, f)
	return c
}

func (f *Fault) setCascade(from DeviceID, cause *Fault) {
	*f = Fault{Kind: FaultCascade, Device: from, Cause: cause, first: firstHop}
	if cause.Kind == FaultCascade && cause.first != nil {
		f.first = cause.first
		if f.first == firstHop {
			f.first = cause
		}
	}
}

// chainRoot is Root for a cascade whose first is set.
func (f *Fault) chainRoot() (DeviceID, *Fault) {
	r := f.first
	if r == firstHop {
		r = f
	}
	return r.Device, r.Cause
}

// Root returns the first device of a cascade chain and its fault: the device
// whose failure this one is a consequence of, however many hops away. For a
// fault that is not a cascade, Root returns the zero DeviceID and f itself.
// It takes constant time for cascades made by the backplane or by
// CascadeFault.
func (f *Fault) Root() (DeviceID, *Fault) {
	if f == nil {
		return DeviceID{}, nil
	}
	if f.Kind != FaultCascade {
		return DeviceID{}, f
	}
	if f.first != nil {
		return f.chainRoot()
	}
	// A cascade built by hand, without CascadeFault: walk the chain, with a
	// bound in case it was built into a cycle.
	dev, r := f.Device, f.Cause
	for i := 0; r != nil && r.Kind == FaultCascade && i < 1<<16; i++ {
		if r.first != nil {
			return r.chainRoot()
		}
		dev, r = r.Device, r.Cause
	}
	return dev, r
}

// Error describes the fault. For a cascade it names the device depended on
// and the root cause, never the whole chain, so it stays short however long
// the chain is.
func (f *Fault) Error() string {
	if f == nil {
		return "backplane: <nil fault>"
	}
	return "backplane: " + f.describe()
}

func (f *Fault) describe() string {
	switch f.Kind {
	case FaultError:
		return "task error: " + trimPrefix(f.Err)
	case FaultPanic:
		if err, ok := f.Value.(error); ok {
			return "task panicked: " + trimPrefix(err)
		}
		return fmt.Sprintf("task panicked: %v", f.Value)
	case FaultCascade:
		rd, r := f.Root()
		if r == nil || r.Kind == FaultCascade {
			return fmt.Sprintf("cascade from %v", f.Device)
		}
		if rd == f.Device {
			return fmt.Sprintf("cascade from %v: %s", f.Device, r.describe())
		}
		return fmt.Sprintf("cascade from %v (root %v: %s)", f.Device, rd, r.describe())
	case FaultDrop:
		return "device dropped"
	case FaultKilled, FaultUnreachable:
		s := "device killed"
		if f.Kind == FaultUnreachable {
			s = "device unreachable"
		}
		if f.Err != nil {
			s += ": " + trimPrefix(f.Err)
		}
		return s
	}
	return f.Kind.String()
}

// Unwrap returns the error inside the fault: the task's error, a panic value
// that is an error, or (for a cascade) the cause's fault, so that errors.Is
// and errors.As walk the whole chain.
func (f *Fault) Unwrap() error {
	if f == nil {
		return nil
	}
	switch f.Kind {
	case FaultPanic:
		if err, ok := f.Value.(error); ok {
			return err
		}
		return nil
	case FaultCascade:
		if f.Cause == nil {
			return nil
		}
		return f.Cause
	}
	return f.Err
}

// Is reports whether target is a *Fault of the same kind with no further
// detail, so that errors.Is(err, &Fault{Kind: FaultPanic}) matches any
// panic fault in a chain.
func (f *Fault) Is(target error) bool {
	t, ok := target.(*Fault)
	if !ok || t == nil || f == nil {
		return false
	}
	return t.Kind == f.Kind && t.Err == nil && t.Value == nil && t.Cause == nil && t.Device.IsZero()
}

// CascadeFault returns the fault of a device that goes down because the
// device from, on which it depended, disconnected with cause. The result
// keeps the root of the chain (see Fault.Root). Managed devices get such a
// fault automatically; CascadeFault is for code that runs its own loop (a
// supervisor, for instance) and must pass a dependency's failure on. It
// returns nil if cause is nil.
func CascadeFault(from DeviceID, cause *Fault) *Fault {
	if cause == nil {
		return nil
	}
	return cascade(from, cause)
}
