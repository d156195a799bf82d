package backplane

// Remote carries what is asked of a proxy device to the node where the
// device it stands for lives. It is implemented by transports that link
// devices across processes (the cluster module does it over NATS);
// applications do not implement it.
//
// An edge whose watcher is a remote device lives on the watcher's node, so
// that when that node loses touch with this one it can tell the watcher
// itself. A link that would make a proxy watch a device is therefore not
// recorded here: the backplane calls Watch instead, and the transport asks
// the remote node to make the edge there. An edge whose watcher is local
// and whose watched device is a proxy is an ordinary local edge; the
// transport disconnects the proxy when the remote device disconnects.
//
// The methods are called without locks held, in the calling goroutine, in
// the order of the calls that caused them; a transport must keep that order
// per remote node, and must not block for long.
type Remote interface {
	// Watch asks that the remote device to watch target, a local device or
	// another proxy. Its error is returned by the Link that caused it.
	Watch(to DeviceID, target Line) error
	// Unwatch undoes Watch. Its error is returned by the Unlink that caused
	// it.
	Unwatch(to DeviceID, target Line) error
	// Shutdown asks the remote device to stop, on behalf of the device from
	// (Line.Shutdown on the proxy).
	Shutdown(to, from DeviceID) error
	// Kill is Line.Kill on the proxy.
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
// It differs in three ways. Its ID is id. The directions of a link in which
// it would watch another device, shutdown requests and kills go to r (see
// Remote): its inbox stays empty. And it runs no task: Manage, PartManage
// and Watch fail with ErrProxy. The transport disconnects it, with the remote device's own
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
	o := new(proxyDevice) // no safety net: the handle need not be apart
	d := &o.d
	d.n, d.kind, d.name = nextSeq(), kindProxy, c.name
	d.sig = &signals{proxy: &proxy{id: id, remote: r}}
	o.h.d = d
	if hk := hooks.Load(); hk != nil {
		emit(hk, EventCreated, d, DeviceID{}, 0, nil)
	}
	return &o.h, nil
}

// proxyDevice is a proxy and its handle, allocated together.
type proxyDevice struct {
	d device
	h Device
}

// IsProxy reports whether the line refers to a proxy device: a stand-in for
// a device on another node (see NewProxy).
func (l Line) IsProxy() bool { return l.d != nil && l.d.kind == kindProxy }

// alive reports whether d is connected.
func (d *device) alive() bool {
	d.mu.Lock()
	up := d.state != stateDown
	d.mu.Unlock()
	return up
}

// killRemote is Line.Kill for a proxy.
func (d *device) killRemote(from DeviceID, reason error) error {
	if !d.alive() {
		return &LinkError{Op: "kill", From: from, To: d.id(), Err: ErrLinkDown}
	}
	p := d.sig.proxy
	if err := p.remote.Kill(p.id, from, reason); err != nil {
		return &LinkError{Op: "kill", From: from, To: p.id, Err: err}
	}
	return nil
}

// shutdownRemote is Line.Shutdown for a proxy.
func (d *device) shutdownRemote(from DeviceID) error {
	if !d.alive() {
		return &LinkError{Op: "shutdown", From: from, To: d.id(), Err: ErrLinkDown}
	}
	p := d.sig.proxy
	if err := p.remote.Shutdown(p.id, from); err != nil {
		return &LinkError{Op: "shutdown", From: from, To: p.id, Err: err}
	}
	return nil
}

// remoteHalves splits a link between a and b, at least one of them a
// proxy: it returns the part of mode that is recorded here, and calls f
// for each direction whose watcher is a proxy (watcher, watched).
func remoteHalves(a, b *device, mode LinkMode, f func(w, t *device) error) (LinkMode, error) {
	local := mode
	if a.kind == kindProxy && mode&Monitor != 0 {
		local &^= Monitor
		if err := f(a, b); err != nil {
			return 0, err
		}
	}
	if b.kind == kindProxy && mode&Notify != 0 {
		local &^= Notify
		if err := f(b, a); err != nil {
			if mode&Monitor != 0 && a.kind == kindProxy {
				_ = a.sig.proxy.remote.Unwatch(a.sig.proxy.id, Line{b})
			}
			return 0, err
		}
	}
	return local, nil
}

func remoteWatch(w, t *device) error { p := w.sig.proxy; return p.remote.Watch(p.id, Line{t}) }

// remoteUnwatch asks w's node to drop the edge, unless w is down: its
// node's edges to it are gone then, or going.
func remoteUnwatch(w, t *device) error {
	if !w.alive() {
		return nil
	}
	p := w.sig.proxy
	return p.remote.Unwatch(p.id, Line{t})
}

// linkRemote is Link where a or b is a proxy.
func linkRemote(a, b *device, mode LinkMode) error {
	switch {
	case !a.alive():
		return &LinkError{Op: "link", From: a.id(), To: b.id(), Err: ErrDeviceDown}
	case !b.alive():
		return &LinkError{Op: "link", From: a.id(), To: b.id(), Err: ErrLinkDown}
	}
	local, err := remoteHalves(a, b, mode, remoteWatch)
	if err != nil {
		return &LinkError{Op: "link", From: a.id(), To: b.id(), Err: err}
	}
	if local == 0 {
		if hk := hooks.Load(); hk != nil {
			emit(hk, EventLinked, a, b.id(), mode, nil)
		}
		return nil
	}
	if err := linkLocal(a, b, local, mode); err != nil {
		// Leave no edge behind: take back what was asked of the remote node.
		_, _ = remoteHalves(a, b, mode&^local, remoteUnwatch)
		return err
	}
	return nil
}
