package backplane

// Remote carries what happens to a proxy device to the node where the device
// it stands for lives. It is implemented by transports that link devices
// across processes (the cluster module does it over NATS); applications do
// not implement it.
type Remote interface {
	// Forward is called for every message the backplane would put in the
	// proxy's inbox: a Disconnected from a local device that the remote
	// device watches, or a Shutdown request made through the proxy's Line.
	// to is the remote device's ID. Forward is called with the proxy's lock
	// held, in the order the messages would have been queued, so that the
	// remote device sees them in that order: it must not block and must not
	// call methods of the proxy.
	Forward(to DeviceID, m Message)
	// Kill is called, without locks held, for Line.Kill on the proxy while
	// it is connected. Its error is returned by Kill.
	Kill(to, from DeviceID, reason error) error
}

// proxy is what a proxy device holds beyond a local device's state.
type proxy struct {
	id     DeviceID
	remote Remote
}

// NewProxy returns a proxy device: the local stand-in for the device id on
// another node. It is for transports, which make one for each remote device
// that local devices link to, and which own it.
//
// A proxy links like any device, and its Line is handed out like any Line.
// It differs in three ways. Its ID is id. What would be queued in its inbox
// (the Disconnected messages of the local devices the remote device watches,
// and Shutdown requests) goes to r.Forward instead, and Line.Kill goes to
// r.Kill. And it runs no task: Manage, PartManage and Watch fail with
// ErrProxy. The transport disconnects it, with the remote device's own
// fault, when the remote device disconnects, or with a Fault of kind
// FaultUnreachable when its node can no longer be reached.
//
// A proxy has no garbage-collector safety net (as with Owned): the transport
// must disconnect it. NewProxy fails with ErrNotRemote if id does not name
// a remote device, and ErrNilArg if r is nil.
func NewProxy(id DeviceID, r Remote, opts ...Option) (*Device, error) {
	if !id.IsRemote() {
		return nil, &DeviceError{Op: "proxy", Device: id, Err: ErrNotRemote}
	}
	if r == nil {
		return nil, &DeviceError{Op: "proxy", Device: id, Err: ErrNilArg}
	}
	c := configure(opts)
	d := &device{n: nextSeq(), kind: kindProxy, name: c.name}
	d.sig = &signals{proxy: &proxy{id: id, remote: r}}
	if hk := hook.Load(); hk != nil {
		emit(hk, EventCreated, d, DeviceID{}, 0, nil)
	}
	return &Device{d: d}, nil
}

// IsProxy reports whether the line refers to a proxy device: a stand-in for
// a device on another node (see NewProxy).
func (l Line) IsProxy() bool { return l.d != nil && l.d.kind == kindProxy }

// forwardLocked hands m to the proxy's transport. It is called with d.mu
// held and unlocks it.
//
//go:noinline
func (d *device) forwardLocked(m Message) {
	p := d.sig.proxy
	p.remote.Forward(p.id, m)
	d.mu.Unlock()
}

// killRemote is Line.Kill for a proxy.
func (d *device) killRemote(from DeviceID, reason error) error {
	d.mu.Lock()
	down := d.state == stateDown
	d.mu.Unlock()
	if down {
		return &LinkError{Op: "kill", From: from, To: d.id(), Err: ErrLinkDown}
	}
	p := d.sig.proxy
	return p.remote.Kill(p.id, from, reason)
}
