// Package backplane gives goroutines Erlang-style links and monitors: when
// one task ends, every task that depends on it is told, exactly once, with
// the reason.
//
// # Devices and links
//
// A [Device] is the owned presence of one task on the backplane. Devices
// link to each other in a [LinkMode]: with Monitor a device is told when the
// other disconnects, with Notify the other is told when this one does, and
// Peer is both. A device disconnects exactly once, cleanly or with a
// [Fault] (dropped, error, panic, cascade, killed), and every device that
// watches it finds one Disconnected [Message] in its inbox.
//
//	a, b := backplane.New(), backplane.New()
//	defer a.Drop()
//	a.Link(b, backplane.Monitor)         // a watches b
//	b.Disconnect(errors.New("boom"))     // b fails
//	m, _ := a.TryReceive()               // disconnected #2 (task error: boom)
//
// A [Line] is a cheap, copyable, non-owning reference to a device: hand it
// out to let others link to the device or ask it to shut down.
//
// # Managed tasks
//
// [Device.Manage] runs a task under a device. The task's result, its panic,
// a shutdown request or a faulted dependency ends it; the device disconnects
// accordingly and Manage returns nil or a [Crash] saying why. A fault
// cascades: a managed device that watches a faulted device goes down at
// once with a FaultCascade that keeps the root cause, and so on down the
// chain, without waiting for any task to notice. The task's context is
// cancelled with the Crash as its cause. [Group.Spawn] starts a goroutine
// under a new managed device linked to a parent in one call, and
// [Group.Wait] waits for them and returns the first that failed, so that a
// failure nobody watched does not vanish.
//
// # Panics
//
// By default a task's panic is recovered, at the one boundary where the
// backplane runs user code: Manage and PartManage turn it into a FaultPanic
// (the value and the stack of the panicking goroutine), with which the
// device disconnects, so its watchers are told and its dependents cascade,
// and return a Crash of kind CrashPanic; Watch returns that Crash and
// leaves the device connected; a Group's task fails with it, and
// Group.Wait reports it. A panic is never swallowed: it always ends up in a
// Fault that someone is told about. A task that calls runtime.Goexit is
// treated as a panic whose value says so.
//
// A program that wants panics to crash it, as Go does by default and
// errgroup leaves them to, makes the device with [WithPanicPassThrough].
// The device still goes down with the FaultPanic first, so watchers and
// hooks are told and dependents cascade; then the panic goes on with its
// original value, raised again while the panicking frames are still on the
// stack, so a crash report shows where it happened. Under Manage it goes on
// in the goroutine that called Manage, which may recover it; under
// Group.Spawn that goroutine is the Group's, and the program crashes
// (Group.Wait does not return for that task). Watch lets the panic out of
// Watch, the device still connected.
//
// # Guarantees
//
// The behaviour contract (no link lost or doubled, per-sender FIFO, delivery
// never blocks nor drops, the device is observably gone before anyone is
// told) is listed in SEMANTICS.md and each rule has a test. Every method is
// safe for concurrent use. The package starts no goroutine of its own except
// those of Group.Spawn, which the Group owns (and, rarely, one that runs a
// function registered on a task's context that was already cancelled, as
// context.AfterFunc does).
//
// # Dropped devices
//
// A device released without disconnecting is dropped: its watchers get a
// FaultDrop. [Device.Drop] does it at once (defer it after [New]); the
// garbage collector does it eventually for a *Device that became
// unreachable, through a finalizer on it, set after the device is first
// exposed to anyone but its owner, at the next collection if the device is
// still connected then (see [Device]). Do not rely on the collector for
// timing: it is a safety net, not a mechanism.
//
// # Across processes
//
// A [DeviceID] can name a device on another node of a cluster; it prints as
// "#7@db", and [DeviceID.Node] says which node ([NodeID]). The module
// github.com/backplane-go/backplane/cluster links devices across processes
// and machines over NATS, and hands out Lines to remote devices that link
// like any other. It reaches the core's transport plumbing through an
// internal package, not through this package's API. This package itself
// never touches the network.
//
// # Events
//
// [AddHook] subscribes a [Hook] to an [Event] for every device created,
// linked, unlinked, disconnected or asked to shut down, and returns the
// function that unsubscribes it. Any number of hooks (a logger, metrics,
// the observer, a test) come and go independently; each event reaches them
// in the order they were added. Without a hook the cost is one atomic load
// and branch.
package backplane
