package backplane

import (
	"context"
	"sync"
	"sync/atomic"
)

// Device is the owned presence of one task on the backplane. Create one with
// New, link it to other devices, run a task under it with Manage, and let it
// disconnect: every device that watches it is then told, exactly once, with
// a Disconnected message carrying the Fault it ended with (nil if clean).
//
// A *Device is owned by one task: it is the handle that task uses to read
// its inbox and to end its life on the backplane. Share a Line, not the
// *Device, with anyone else. All methods are nevertheless safe for
// concurrent use.
//
// A Device that is released without disconnecting is dropped: its watchers
// are told with a Fault of kind FaultDrop. Call Drop (typically deferred) to
// make that happen at once; otherwise the garbage collector does it
// eventually, when the *Device becomes unreachable. Lines do not keep a
// Device from being dropped. That safety net is a finalizer on the *Device,
// set the first time the device is exposed: when a Line to it is handed
// out (Line, or the *Device passed to a Link or Spawn in which it is
// watched), when it links itself in a mode in which it is watched (Notify,
// Peer), when PartManage or Watch gives a task its context (LineOf), or at
// New if an event hook is installed. Until then nobody but the holder of
// the handle can observe the device, so nobody could observe its drop: a
// device that is forgotten unexposed is not dropped, and its memory goes
// with its handle, except that a forgotten device that watches others
// stays in their link tables until they disconnect. The finalizer of an
// exposed device is set at the next garbage collection, or sooner when
// many devices are exposed at once, and only if the device is still
// connected then: a device that is exposed and ends soon after never pays
// for it, and a forgotten one is dropped one collection later than it
// would be otherwise. Do not set a finalizer of your own on a *Device with
// runtime.SetFinalizer: it would make the safety net crash the program;
// runtime.AddCleanup on it is fine.
//
// The zero Device and a nil *Device are not usable: every method returns
// ErrInvalid (or a zero value) rather than panicking.
//
// Cost: an idle device is 144 bytes in two allocations, plus the safety
// net's record in the runtime once it is exposed and has lived through a
// collection (BENCHMARKS.md), and New costs about a hundred nanoseconds.
// The first exposure costs a short critical section; for a device still
// connected at the next collection, setting the safety net and removing
// it at the disconnect cost about as much again as New (Group.Spawn and
// supervisors leave it out for the devices they run and disconnect
// themselves). The device runs no goroutine of its own. Linking,
// unlinking and delivering a notification each take one or two short
// critical sections and allocate nothing in the common case.
type Device struct {
	d   *device
	net atomic.Uint32 // the safety net's state: netIdle, netQueued, netArmed or netOff (net.go)
}

// device is the shared state behind a Device handle and its Lines. Its
// layout is packed by hand: it is the per-device memory cost, and 128 bytes
// puts it in a size class whose objects are 128-byte aligned, so the first
// 64 bytes are one cache line. Those hold everything a notification
// touches on a device that is not waited on (the lock, the state, the
// links and the first inbox slot): a fan-out to many watchers reads one
// line per watcher.
type device struct {
	mu    sync.Mutex
	state devState // guarded by mu, like everything below but n, kind and name
	kind  devKind  // fixed at creation
	ready bool     // sig.ready exists: someone may be waiting for a message
	net   bool     // the handle may have the safety net, a finalizer (Device.net); fixed at creation
	spare bool     // task is an Owned device's first task context, made with it and unused
	pass  bool     // made WithPanicPassThrough: a task's panic is re-raised; fixed at creation
	gone  bool     // a task's panic is passing through (pass): its goroutine is crashing
	links linkSet
	slot  Message // the oldest pending message; the zero Message when the inbox is empty

	n     uint64   // the local sequence number: the ID, and the lock order
	more  *queue   // the pending messages after slot, oldest first; made for the second
	sig   *signals // made on demand, by Ready, Receive or Done
	task  *taskCtx // the task's context, while a task runs (Manage, Watch); see spare
	fault *Fault   // set at disconnect
	crash *Crash   // set when the device goes down during a managed task
	name  string
}

// ownedDevice is a device made with ownedOption, its handle and the context of
// its first task, allocated together: an Owned device is made to run a
// task. The handle of any other device is an object of its own, whose
// unreachability the garbage collector's safety net watches for.
type ownedDevice struct {
	d device
	h Device
	t taskCtx
}

type devState uint8

// devKind tells apart the devices of this process from proxies, the local
// stand-ins for devices on other nodes (proxy.go).
type devKind uint8

const (
	kindLocal devKind = iota
	kindProxy
)

// id returns the device's ID: its local sequence number, or for a proxy the
// ID of the remote device it stands for.
func (d *device) id() DeviceID {
	if d.kind == kindProxy {
		return d.sig.proxy.id
	}
	return DeviceID{n: d.n}
}

const (
	stateIdle     devState = iota // connected, no task running
	stateManaged                  // connected, Manage or PartManage running
	stateWatching                 // connected, Watch running
	stateDown                     // disconnected
)

// closedChan is returned by Done for devices that went down before anyone
// asked for their channel. It is closed once, at init, and never changes.
var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// Option configures a Device made by New.
type Option interface {
	apply(config) config // by value: a pointer would make New allocate the config
}

// config is what the options of New set.
type config struct {
	name  string
	owned bool
	pass  bool
}

type nameOption string

func (n nameOption) apply(c config) config { c.name = string(n); return c }

// WithName gives the device a human-readable name, shown by Device.Name, in
// events and by the observer. Names need not be unique.
func WithName(name string) Option { return nameOption(name) }

// ownedOption is the Owned option of package bridge, for the supervisor
// and the cluster module: it tells New that the caller owns the device for
// its whole life and will disconnect it, typically by running it under
// Manage in a goroutine it waits for. New then leaves out the garbage
// collector's safety net (see Device), which is about 40% of New's cost,
// and makes the device, its handle and the context of its first task in one
// allocation instead of three. A device made with it that is forgotten
// without disconnecting is never dropped: its watchers are never told. That
// is why it is not offered to applications: a speed switch one call away
// from a silent leak. Group.Spawn uses it for the devices it runs.
type ownedOption struct{}

type passOption struct{}

func (passOption) apply(c config) config { c.pass = true; return c }

// WithPanicPassThrough makes the device let its tasks' panics through
// instead of recovering them for good (see "Panics" in the package doc).
// A task run by Manage or PartManage that panics still takes the device
// down with a FaultPanic, and its watchers are told and its dependents
// cascade as usual; then the panic goes on, with its original value, in
// the goroutine that called Manage, as if nothing had recovered it. A
// function run by Watch that panics leaves the device connected, as
// without the option, and the panic goes on out of Watch. Under
// Group.Spawn, that goroutine is the Group's, so the panic crashes the
// program, as an unrecovered panic in any goroutine does.
func WithPanicPassThrough() Option { return passOption{} }

func (ownedOption) apply(c config) config { c.owned = true; return c }

// New creates a connected Device with a fresh DeviceID, no links and an
// empty inbox. Options apply in order, a later one overriding an earlier
// one; a nil Option is ignored.
func New(opts ...Option) *Device { return newDevice(configure(opts)) }

func configure(opts []Option) config {
	var c config
	for _, o := range opts {
		if o != nil { // a nil Option is documented as ignored, not a nil dereference
			c = o.apply(c)
		}
	}
	return c
}

func newDevice(c config) *Device {
	var h *Device
	var d *device
	if c.owned {
		// No safety net watches the handle, so it need not be an object of
		// its own: one allocation holds both, and the first task's context.
		o := new(ownedDevice)
		d, h = &o.d, &o.h
		h.d = d
		d.task, d.spare = &o.t, true
		h.net.Store(netOff)
	} else {
		d = new(device)
		h = &Device{d: d}
		d.net = true
	}
	d.n, d.name, d.pass = nextSeq(), c.name, c.pass
	if hk := hooks.Load(); hk != nil {
		h.armNet() // the hooks get a Line to the device
		emit(hk, EventCreated, d, DeviceID{}, 0, nil)
	}
	return h
}

// ID returns the device's ID; the zero DeviceID for a nil or zero Device.
func (h *Device) ID() DeviceID {
	if h == nil || h.d == nil {
		return DeviceID{}
	}
	return h.d.id()
}

// Name returns the name given with WithName, or "".
func (h *Device) Name() string {
	if h == nil || h.d == nil {
		return ""
	}
	return h.d.name
}

// Line returns a Line to the device: a cheap, copyable, non-owning reference
// that others can use to link to it and to request its shutdown. For a nil
// or zero Device it returns the zero Line. It never allocates.
//
// Handing out the first Line arms the device's safety net (see Device); the
// first call costs that, a few hundred nanoseconds, and every later call an
// atomic load.
func (h *Device) Line() Line {
	if h == nil {
		return Line{}
	}
	if h.net.Load() == netIdle {
		h.armNet()
	}
	return Line{d: h.d}
}

// line returns the device's Line without arming the safety net, for the
// handle's own calls that hand nothing out.
func (h *Device) line() Line {
	if h == nil {
		return Line{}
	}
	return Line{d: h.d}
}

// Alive reports whether the device is still connected.
func (h *Device) Alive() bool { return h.line().Alive() }

// Done returns a channel that is closed when the device disconnects. For a
// nil or zero Device it returns a closed channel.
func (h *Device) Done() <-chan struct{} { return h.line().Done() }

// Fault returns why the device disconnected: nil while it is connected and
// after a clean disconnect, and otherwise the *Fault it disconnected with,
// the one its watchers were told. It returns an error, not a *Fault, so
// that its nil is a nil error: `return d.Fault()` from a function that
// returns an error reports success for a device that ended cleanly. Read
// the Fault's fields with errors.As or a type assertion:
//
//	if f, ok := d.Fault().(*backplane.Fault); ok && f.Kind == backplane.FaultPanic { ... }
func (h *Device) Fault() error {
	if f := h.fault(); f != nil {
		return f
	}
	return nil
}

// fault returns the device's *Fault, or nil.
func (h *Device) fault() *Fault {
	if h == nil || h.d == nil {
		return nil
	}
	d := h.d
	d.mu.Lock()
	f := d.fault
	d.mu.Unlock()
	return f
}

// Link links the device to other (a *Device or a Line) in the given mode,
// seen from this device: Monitor means this device watches other. Linking
// an existing link again is a no-op, and modes add up.
//
// It fails with ErrSelfLink for the device itself, ErrDeviceDown if this
// device has disconnected, ErrLinkDown if other has, ErrInvalid for a nil or
// zero device and ErrBadMode for a bad mode, each wrapped in a *LinkError.
// A link that fails leaves no edge behind; a link that succeeds delivers
// exactly one notification per direction watched, unless it is unlinked.
// It does not block beyond two short critical sections.
func (h *Device) Link(other Linkable, mode LinkMode) error {
	if mode&Notify != 0 && h != nil && h.net.Load() == netIdle {
		h.armNet() // other watches this device
	}
	return h.line().Link(other, mode)
}

// Unlink removes the given directions of the link between the device and
// other. It reports whether it removed an active edge; after it returns, no
// notification for the removed directions will be enqueued. Unlinking a link
// that does not exist is a no-op that returns false and no error.
func (h *Device) Unlink(other Linkable, mode LinkMode) (bool, error) {
	return h.line().unlink(other, mode, false)
}

// UnlinkFlush is Unlink that also removes, from this device's inbox, a
// Disconnected message from other that is already queued (Erlang's
// demonitor with the flush option). Like Unlink, it reports whether it
// removed an active edge: false when the edge had already fired, even if
// it removed the queued notification, as demonitor(Ref, [flush, info])
// returns false for a monitor that had fired. Either way, after it
// returns, no Disconnected from other for the removed directions is in the
// inbox or will be enqueued.
func (h *Device) UnlinkFlush(other Linkable, mode LinkMode) (bool, error) {
	return h.line().unlink(other, mode, true)
}

// Disconnect disconnects the device: cleanly if err is nil, otherwise with a
// Fault. A *Fault is used as it is (a nil *Fault is a clean disconnect);
// any other error becomes a Fault of kind FaultError. Every device watching
// this one is told, exactly once, and all links are gone. Disconnect does
// not block on anyone: notifications are enqueued, never waited for.
//
// Disconnecting twice is a no-op that returns ErrDeviceDown. A *Fault whose
// Kind is not one of the FaultKind constants is refused with ErrBadFault,
// and the device stays connected: watchers are never told a fault of no
// kind.
func (h *Device) Disconnect(err error) error {
	if h == nil || h.d == nil {
		return &DeviceError{Op: "disconnect", Err: ErrInvalid}
	}
	var f *Fault
	if err != nil {
		if ff, ok := err.(*Fault); ok {
			if ff != nil && !ff.Kind.valid() {
				return &DeviceError{Op: "disconnect", Device: h.d.id(), Err: ErrBadFault}
			}
			f = ff
		} else {
			f = ErrorFault(err)
		}
	}
	if !h.d.disconnect(f, nil) {
		return &DeviceError{Op: "disconnect", Device: h.d.id(), Err: ErrDeviceDown}
	}
	h.stopNet()
	return nil
}

// Drop releases the device: if it is still connected, it disconnects with a
// Fault of kind FaultDrop. It is safe to call at any time and any number of
// times, so `defer d.Drop()` right after New guarantees no device is ever
// forgotten on an early return.
func (h *Device) Drop() {
	if h != nil && h.d != nil && h.d.disconnect(dropFault, nil) {
		h.stopNet()
	}
}

// Pending returns how many messages are waiting in the inbox.
func (h *Device) Pending() int {
	if h == nil || h.d == nil {
		return 0
	}
	d := h.d
	d.mu.Lock()
	n := d.pending()
	d.mu.Unlock()
	return n
}

// TryReceive takes the next message from the inbox without blocking. It
// reports false if the inbox is empty.
func (h *Device) TryReceive() (Message, bool) {
	if h == nil || h.d == nil {
		return Message{}, false
	}
	d := h.d
	d.mu.Lock()
	m, ok := d.pop()
	if ok && d.pending() > 0 {
		d.signalLocked()
	}
	d.mu.Unlock()
	return m, ok
}

// Receive waits for the next message. It returns early with context.Cause
// of ctx when ctx is done, and with ErrDeviceDown when the inbox is empty
// and the device has disconnected (no message can come any more).
func (h *Device) Receive(ctx context.Context) (Message, error) {
	if h == nil || h.d == nil {
		return Message{}, &DeviceError{Op: "receive", Err: ErrInvalid}
	}
	d := h.d
	if ctx == nil {
		return Message{}, &DeviceError{Op: "receive", Device: d.id(), Err: ErrNilArg}
	}
	stop := ctx.Done()
	d.mu.Lock()
	for {
		if m, ok := d.pop(); ok {
			if d.pending() > 0 {
				d.signalLocked()
			}
			d.mu.Unlock()
			return m, nil
		}
		if d.state == stateDown {
			d.signalLocked() // pass the wake-up on to any other receiver
			d.mu.Unlock()
			return Message{}, &DeviceError{Op: "receive", Device: d.id(), Err: ErrDeviceDown}
		}
		ready := d.readyLocked()
		sig := d.sig
		sig.waiters++ // sig is not recycled while this goroutine may use ready
		d.mu.Unlock()
		if stop == nil {
			// A context that is never done (Background, TODO): a plain
			// receive, cheaper than a select.
			<-ready
			d.mu.Lock()
			sig.waiters--
			d.recycleSignalsLocked()
			continue
		}
		select {
		case <-ready:
			d.mu.Lock()
			sig.waiters--
			d.recycleSignalsLocked()
		case <-stop:
			d.mu.Lock()
			sig.waiters--
			d.recycleSignalsLocked()
			d.mu.Unlock()
			return Message{}, context.Cause(ctx)
		}
	}
}
