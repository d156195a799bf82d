package backplane

import (
	"unique"

	"github.com/backplane-go/backplane/internal/bridge/handoff"
)

// plumbing is the core's side of package internal/bridge: what exists only
// for the other packages of this repository, the cluster module's proxies
// and the remote IDs they decode, and the Owned option of supervisors. The
// operations are exported methods of an unexported type, handed to package
// bridge as an any through package handoff, so that those packages reach
// them through a package applications cannot import, and this package's
// API lists only what an application calls. (Package bridge imports this
// one for the types of its signatures; this one cannot import it back.)
type plumbing struct{}

func init() {
	// The only write of handoff.Core. Package initialisation runs this
	// before initialising any package that imports this one, package bridge
	// among them, so bridge finds it set.
	handoff.Core = plumbing{}
}

// NewProxy is newProxy; r must implement transport (bridge.Remote does).
func (plumbing) NewProxy(id DeviceID, r any, opts ...Option) (*Device, error) {
	t, _ := r.(transport)
	return newProxy(id, t, opts...)
}

// RemoteID returns the ID of the device with sequence number seq on node,
// or the zero DeviceID when seq is 0 or node has no name.
func (plumbing) RemoteID(node NodeID, seq uint64) DeviceID {
	if seq == 0 || node.Name == "" {
		return DeviceID{}
	}
	return DeviceID{n: seq, node: unique.Make(node)}
}

// LocalID returns the ID of the device of this process with sequence
// number seq.
func (plumbing) LocalID(seq uint64) DeviceID { return DeviceID{n: seq} }

// IsRemote reports whether id names a device on another node.
func (plumbing) IsRemote(id DeviceID) bool { return id.isRemote() }

// IsProxy reports whether l refers to a proxy device.
func (plumbing) IsProxy(l Line) bool { return l.d != nil && l.d.kind == kindProxy }

// Owned returns the option that leaves out the safety net (see ownedOption).
func (plumbing) Owned() Option { return ownedOption{} }

// ErrProxy returns errProxy, for the tests of proxies.
func (plumbing) ErrProxy() error { return errProxy }

// ErrNotRemote returns errNotRemote, for the tests of proxies.
func (plumbing) ErrNotRemote() error { return errNotRemote }
