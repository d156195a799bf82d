package backplane

// transport carries what is asked of a proxy device to the node where the
// device it stands for lives. It is bridge.Remote, which the cluster module
// implements over NATS; its methods are documented there.
//
// An edge whose watcher is a remote device lives on the watcher's node, so
// that when that node loses touch with this one it can tell the watcher
// itself. A link that would make a proxy watch a device is therefore not
// recorded here: the backplane calls Watch instead, and the transport asks
// the remote node to make the edge there. An edge whose watcher is local
// and whose watched device is a proxy is an ordinary local edge; the
// transport disconnects the proxy when the remote device disconnects.
type transport interface {
	Watch(to DeviceID, target Line) error
	Unwatch(to DeviceID, target Line) error
	Shutdown(to, from DeviceID) error
	Kill(to, from DeviceID, reason error) error
}

// proxy is what a proxy device holds beyond a local device's state.
type proxy struct {
	id     DeviceID
	remote transport
}

// newProxy returns a proxy device: the local stand-in for the device id on
// another node (bridge.NewProxy documents it). A proxy has no
// garbage-collector safety net: the transport that made it disconnects it.
func newProxy(id DeviceID, r transport, opts ...Option) (*Device, error) {
	if !id.isRemote() {
		return nil, &DeviceError{Op: "proxy", Device: id, Err: errNotRemote}
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
	o.h.net.Store(netOff)
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
