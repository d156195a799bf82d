// Package bridge is the way into the core's plumbing for the other packages
// of this repository: the proxies through which the cluster module links
// local devices with devices on other nodes, the IDs of remote devices it
// decodes, and the Owned option with which supervisors make the devices they
// run. None of it is for applications, so none of it is in the core's API;
// being internal, this package can be imported only by packages whose path
// starts with github.com/backplane-go/backplane, the nested modules
// (cluster, bench, e2e, ...) included.
//
// # Compatibility
//
// This package carries no compatibility promise of its own. The modules of
// this repository (the root and the nested cluster, observer/prom, bench,
// e2e and cmd/backplane-demo) are released together, under one version,
// and each nested module requires the root at that same version; this
// package changes only together with its callers, within one release.
//
// A build may still select a root module newer than the one a nested
// module was released with (minimal version selection allows it when
// another dependency asks for the newer root), and then compiles the
// nested module against this package of the newer root. To keep that
// working, a release adds to this package freely but removes or changes a
// name only once no nested module of the previous minor release uses it.
// If a build fails to compile here all the same, upgrade the nested
// modules to the root's version.
//
// # How it reaches the core
//
// The signatures below name the core's types, so this package imports the
// core, which therefore cannot import it. The core leaves a value whose
// methods are the plumbing in package handoff while it is initialised, and
// this package asserts it, once, to the interface core. Both are in the
// root module, so they always come from the same version; a mismatch made
// while developing fails at initialisation, in every test, not later.
package bridge

import (
	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/internal/bridge/handoff"
)

// Remote carries what is asked of a proxy device to the node where the
// device it stands for lives. The cluster module implements it over NATS.
//
// An edge whose watcher is a remote device lives on the watcher's node, so
// that when that node loses touch with this one it can tell the watcher
// itself. A link that would make a proxy watch a device is therefore not
// recorded locally: the core calls Watch instead, and the transport asks
// the remote node to make the edge there. An edge whose watcher is local
// and whose watched device is a proxy is an ordinary local edge; the
// transport disconnects the proxy when the remote device disconnects.
//
// The methods are called without locks held, in the calling goroutine, in
// the order of the calls that caused them; a transport must keep that
// order per remote node, and must not block for long.
type Remote interface {
	// Watch asks the remote device to watch target, a local device or
	// another proxy. Its error is returned by the Link that caused it.
	Watch(to backplane.DeviceID, target backplane.Line) error
	// Unwatch undoes Watch. Its error is returned by the Unlink that
	// caused it.
	Unwatch(to backplane.DeviceID, target backplane.Line) error
	// Shutdown asks the remote device to stop, on behalf of the device
	// from (Line.Shutdown on the proxy).
	Shutdown(to, from backplane.DeviceID) error
	// Kill is Line.Kill on the proxy.
	Kill(to, from backplane.DeviceID, reason error) error
}

// core is the method set of the value the core hands over (its type
// plumbing, in plumbing.go of the root package).
type core interface {
	NewProxy(id backplane.DeviceID, r any, opts ...backplane.Option) (*backplane.Device, error)
	RemoteID(node backplane.NodeID, seq uint64) backplane.DeviceID
	LocalID(seq uint64) backplane.DeviceID
	IsRemote(id backplane.DeviceID) bool
	IsProxy(l backplane.Line) bool
	Owned() backplane.Option
	ErrProxy() error
	ErrNotRemote() error
}

// c is the core's plumbing. The core is initialised before this package,
// which imports it, so handoff.Core is set by now.
var c = handoff.Core.(core)

// owned is made once: the option is a constant.
var owned = c.Owned()

// Sentinel errors of proxies, matched with errors.Is.
var (
	// ErrProxy reports a Manage, PartManage or Watch call on a proxy
	// device: a proxy stands for a device on another node and runs no task
	// here.
	ErrProxy = c.ErrProxy()
	// ErrNotRemote reports a NewProxy call with an ID that does not name a
	// device on another node (see RemoteID).
	ErrNotRemote = c.ErrNotRemote()
)

// NewProxy returns a proxy device: the local stand-in for the device id on
// another node. It is for the transport, which makes one for each remote
// device that local devices link to, and owns it.
//
// A proxy links like any device, and its Line is handed out like any Line.
// It differs in three ways. Its ID is id. The directions of a link in which
// it would watch another device, shutdown requests and kills go to r (see
// Remote): its inbox stays empty. And it runs no task: Manage, PartManage
// and Watch fail with ErrProxy. The transport disconnects it, with the
// remote device's own fault, when the remote device disconnects, or with a
// Fault of kind FaultUnreachable when its node can no longer be reached.
//
// A proxy has no garbage-collector safety net (as with Owned): the
// transport must disconnect it. NewProxy fails with ErrNotRemote if id does
// not name a remote device, and backplane.ErrNilArg if r is nil.
func NewProxy(id backplane.DeviceID, r Remote, opts ...backplane.Option) (*backplane.Device, error) {
	return c.NewProxy(id, r, opts...)
}

// RemoteID returns the ID of the device with sequence number seq on another
// node. The transport decodes the IDs it receives from node with it. It
// returns the zero DeviceID when seq is 0 or node has an empty name.
func RemoteID(node backplane.NodeID, seq uint64) backplane.DeviceID { return c.RemoteID(node, seq) }

// LocalID returns the ID that the device of this process with sequence
// number seq has (see DeviceID.Seq), or the zero DeviceID for 0. The
// transport decodes with it the IDs of this process's devices when they
// come back from other nodes.
func LocalID(seq uint64) backplane.DeviceID { return c.LocalID(seq) }

// IsRemote reports whether id names a device on another node. It is
// !id.Node().IsZero(), without copying the node's name.
func IsRemote(id backplane.DeviceID) bool { return c.IsRemote(id) }

// IsProxy reports whether l refers to a proxy device (see NewProxy).
func IsProxy(l backplane.Line) bool { return c.IsProxy(l) }

// Owned returns the option that tells backplane.New that the caller owns
// the device for its whole life and will disconnect it, typically by
// running it under Manage in a goroutine it waits for (a supervisor does
// this for its children). New then leaves out the garbage collector's
// safety net (see backplane.Device), which is about 40% of New's cost, and
// makes the device, its handle and the context of its first task in one
// allocation instead of three. A device made with Owned that is forgotten
// without disconnecting is never dropped: its watchers are never told.
// That is why applications are not offered it.
func Owned() backplane.Option { return owned }
