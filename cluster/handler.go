package cluster

import (
	"errors"
	"log/slog"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/cluster/internal/transport"
	"github.com/backplane-go/backplane/cluster/internal/wire"
	"github.com/backplane-go/backplane/internal/bridge"
)

// reasonNoDevice is the Reason of a Down frame for a device its node does
// not know: the proxy then fails with ErrNoDevice.
const reasonNoDevice = "no such device"

// handler is the node seen by its transport: it acts on the frames of live
// sessions, and on their end. The transport calls it from one goroutine.
type handler Node

// Receive acts on one frame of a live session, unless it is forged (see
// forgery).
func (h *handler) Receive(f *wire.Frame) {
	n := (*Node)(h)
	if <-n.started; n.tr == nil {
		return // Start failed
	}
	if f.Epoch != 0 { // in a session, not a session-less Lookup
		n.heardFrom(f.From)
	}
	if why := forgery(f); why != "" {
		n.dropForged(f, why)
		return
	}
	switch f.Kind {
	case wire.KindWatch:
		n.onWatch(f)
	case wire.KindDown:
		n.onDown(f)
	case wire.KindLink:
		n.onLink(f)
	case wire.KindUnlink:
		n.onUnlink(f)
	case wire.KindShutdown:
		if l, ok := n.exported(f.Target); ok {
			_ = l.Shutdown(n.deviceID(f.Source))
		}
	case wire.KindKill:
		if l, ok := n.exported(f.Target); ok {
			var reason error
			if f.Reason != "" {
				reason = &RemoteError{Node: nodeID(f.From), Text: f.Reason}
			}
			_ = l.Kill(n.deviceID(f.Source), reason)
		}
	case wire.KindLookup:
		n.onLookup(f)
	case wire.KindLookupReply:
		n.onLookupReply(f)
	case wire.KindSpawn:
		n.onSpawn(f)
	case wire.KindSpawnReply:
		n.onSpawnReply(f)
	}
}

// onLookupReply hands an answer to the lookup waiting for it, if it comes
// from the node asked.
func (n *Node) onLookupReply(f *wire.Frame) {
	n.mu.Lock()
	l, ok := n.lookups[f.Ref]
	if ok && !answers(l.node, f.From) {
		n.mu.Unlock()
		n.dropForged(f, "answer to a lookup sent to another node")
		return
	}
	delete(n.lookups, f.Ref)
	n.mu.Unlock()
	if ok {
		l.c <- lookupReply{dev: f.Source}
	}
	// A lookup sent again may be answered twice: the second answer finds
	// no one waiting.
}

// heardFrom records that node has sent a frame in a session, which is live
// until Down. It runs on the handler's goroutine, and takes the lock only
// for a new session.
func (n *Node) heardFrom(node wire.Node) {
	old, ok := n.heard[node.Name]
	if ok && old == node.Inc {
		return
	}
	n.heard[node.Name] = node.Inc
	n.mu.Lock()
	n.live[node.Name] = node.Inc
	delete(n.gone, node.Name)
	n.mu.Unlock()
	if ok {
		// The transport ends a session before it hands over frames of a
		// later incarnation; should that ever not hold, the old one is
		// still told gone, once: its Down then finds it forgotten.
		prev := backplane.NodeID{Name: node.Name, Incarnation: old}
		n.events.push(NodeEvent{Node: prev, Reason: &UnreachableError{Node: prev, Reason: transport.ErrPeerRestarted}})
	}
	n.events.push(NodeEvent{Node: nodeID(node), Up: true})
}

// inSession reports whether some incarnation of the node called name has
// sent this node a frame in a session that is still live.
func (n *Node) inSession(name string) bool {
	n.mu.Lock()
	_, ok := n.live[name]
	n.mu.Unlock()
	return ok
}

// Down ends what the node kept for a session: every proxy for a device of
// that peer disconnects with FaultUnreachable, once, the devices the peer
// watched here are no longer watched for it, and the lookups and pings
// waiting for the peer's answer fail.
func (h *handler) Down(node wire.Node, reason error) {
	n := (*Node)(h)
	if <-n.started; n.tr == nil {
		return // Start failed
	}
	peerID := nodeID(node)
	if errors.Is(reason, transport.ErrClosed) {
		reason = ErrClosed // this node's Close ended the session
	}
	n.mu.Lock()
	gone := n.proxies.takeNode(peerID)
	p := n.peers[node]
	delete(n.peers, node)
	n.failSpawnsLocked(node, func() error { return &UnreachableError{Node: peerID, Reason: reason} })
	// A lookup or Ping sent in the session may have lost its request or
	// its answer with it: it fails now rather than when its context ends.
	for ref, l := range n.lookups {
		if l.node == node {
			l.c <- lookupReply{err: &UnreachableError{Node: peerID, Reason: reason}}
			delete(n.lookups, ref)
		}
	}
	if inc, ok := n.live[node.Name]; !ok || inc == node.Inc {
		delete(n.live, node.Name)
		n.gone[node.Name] = true // unless a later incarnation is live
	}
	n.mu.Unlock()
	if inc, ok := n.heard[node.Name]; ok && inc == node.Inc {
		delete(n.heard, node.Name)
		n.events.push(NodeEvent{Node: peerID, Reason: &UnreachableError{Node: peerID, Reason: reason}})
	}
	if p != nil {
		_ = p.watch.Disconnect(nil)
		// A link made to p.watch before this fails from now on, and its
		// caller orphans the export (watchFor): the exports p.watch
		// covered go to exportsDev, or are forgotten if down.
		n.orphanAll()
	}
	n.reg.down(node, reason)
	if n.log != nil {
		n.log.Warn("cluster: session ended", slog.String("node", n.id.String()),
			slog.String("peer", peerID.String()), slog.Any("reason", reason),
			slog.Int("unreachable_devices", len(gone)))
	}
	f := unreachable(peerID, reason)
	for _, p := range gone {
		_ = p.Disconnect(f)
	}
}

// exported returns the local device with sequence number seq, if other
// nodes may name it.
func (n *Node) exported(seq uint64) (backplane.Line, bool) {
	n.mu.Lock()
	e, ok := n.exports[seq]
	n.mu.Unlock()
	if !ok {
		return backplane.Line{}, false
	}
	return e.line, true
}

// onWatch starts watching a local device for the peer; a device that is
// gone is reported at once.
func (n *Node) onWatch(f *wire.Frame) {
	l, ok := n.exported(f.Target)
	if ok {
		p, err := n.peer(f.From)
		if err != nil {
			return // closing
		}
		if p.watch.Link(l, backplane.Monitor) == nil {
			return
		}
	}
	_ = n.send(&wire.Frame{Kind: wire.KindDown, To: f.From, Source: wire.Device{Node: n.self, Seq: f.Target}, Reason: reasonNoDevice})
}

// onDown disconnects the proxies of remote devices that disconnected: the
// frame's Source, or each of its Downs in order.
func (n *Node) onDown(f *wire.Frame) {
	if len(f.Downs) == 0 {
		n.down(f)
		return
	}
	// The frame is from another node (the transport sees to it), so every
	// device is remote; their proxies are taken under one lock, and
	// disconnected in order.
	from := nodeID(f.From)
	if cap(n.downs) < len(f.Downs) {
		n.downs = make([]*backplane.Device, wire.MaxDowns)
	}
	proxies := n.downs[:len(f.Downs)]
	defer clear(proxies)
	n.mu.Lock()
	n.proxies.takeDowns(from, f.Downs, proxies)
	n.mu.Unlock()
	// Entries that share a wire fault (Frame.Downs) share its Fault: a
	// Fault carries nothing of the device that went down with it.
	var lastW *wire.Fault
	var lastF *backplane.Fault
	for i, p := range proxies {
		if p == nil {
			continue
		}
		w := f.Downs[i].Fault
		if w == nil {
			_ = p.Disconnect(nil)
			continue
		}
		if w != lastW {
			lastW, lastF = w, n.fault(from, w)
		}
		_ = p.Disconnect(lastF)
	}
}

// down disconnects the proxy of f.Source, a remote device that
// disconnected.
func (n *Node) down(f *wire.Frame) {
	id := n.deviceID(f.Source)
	n.mu.Lock()
	p, ok := n.proxies.take(id, nil)
	n.mu.Unlock()
	if !ok {
		return
	}
	if f.Reason == reasonNoDevice {
		_ = p.Disconnect(unreachable(nodeID(f.From), ErrNoDevice))
		return
	}
	if ff := n.fault(nodeID(f.From), f.Fault); ff != nil {
		_ = p.Disconnect(ff)
	} else {
		_ = p.Disconnect(nil)
	}
}

// onLink makes a local device watch another device, for a link made on the
// peer. If the watched device is already gone, the watcher is told, since
// the link was made while it seemed alive.
func (n *Node) onLink(f *wire.Frame) {
	w, ok := n.exported(f.Target)
	if !ok {
		return // the watcher is gone: nobody to tell
	}
	id := n.deviceID(f.Source)
	var gone *backplane.Fault
	if bridge.IsRemote(id) {
		p, err := n.proxy(id, "")
		if err != nil {
			return // closing
		}
		if w.Link(p, backplane.Monitor) == nil {
			return
		}
		gone, _ = p.Fault().(*backplane.Fault)
	} else if t, ok := n.exported(id.Seq()); ok && w.Link(t, backplane.Monitor) == nil {
		return
	}
	if !w.Alive() {
		return
	}
	// The watched device is gone: tell the watcher through a proxy made for
	// the purpose, with the fault the device's proxy went down with, if any.
	if gone == nil {
		gone = unreachable(nodeID(f.Source.Node), ErrNoDevice)
	}
	if !bridge.IsRemote(id) {
		id = bridge.RemoteID(n.id, id.Seq()) // a proxy needs a remote ID
	}
	tmp, err := bridge.NewProxy(id, nopRemote{})
	if err != nil {
		return
	}
	if w.Link(tmp, backplane.Monitor) == nil {
		_ = tmp.Disconnect(gone)
	} else {
		_ = tmp.Disconnect(nil)
	}
}

// onUnlink undoes onLink.
func (n *Node) onUnlink(f *wire.Frame) {
	w, ok := n.exported(f.Target)
	if !ok {
		return
	}
	var t backplane.Line
	if f.Source.Node == n.self {
		if t, ok = n.exported(f.Source.Seq); !ok {
			return
		}
	} else {
		n.mu.Lock()
		p, ok := n.proxies.get(n.deviceID(f.Source))
		n.mu.Unlock()
		if !ok {
			return
		}
		t = p.Line()
	}
	_, _ = w.Unlink(t, backplane.Monitor)
}

// onLookup answers a lookup from the registry.
func (n *Node) onLookup(f *wire.Frame) {
	reply := &wire.Frame{Kind: wire.KindLookupReply, To: f.From, Ref: f.Ref}
	n.mu.Lock()
	l, ok := n.names[f.Name]
	n.mu.Unlock()
	if f.Name == pingName {
		reply.Source = wire.Device{Node: n.self, Seq: 1} // any non-zero answer
	} else if ok {
		reply.Source = wire.Device{Node: n.self, Seq: l.ID().Seq()}
	}
	_ = n.send(reply)
}

// peer returns what the node keeps for its session with node, making it
// if needed.
func (n *Node) peer(node wire.Node) (*peer, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil, ErrClosed
	}
	if p, ok := n.peers[node]; ok {
		return p, nil
	}
	p := &peer{node: node, watch: backplane.New(bridge.Owned(), backplane.WithName("cluster peer "+node.Name))}
	n.peers[node] = p
	n.wg.Add(1)
	go n.report(p)
	return p, nil
}

// nopRemote is the transport of a proxy that only ever tells one watcher
// that its device is gone.
type nopRemote struct{}

func (nopRemote) Watch(backplane.DeviceID, backplane.Line) error   { return ErrNoDevice }
func (nopRemote) Unwatch(backplane.DeviceID, backplane.Line) error { return nil }
func (nopRemote) Shutdown(backplane.DeviceID, backplane.DeviceID) error {
	return ErrNoDevice
}
func (nopRemote) Kill(backplane.DeviceID, backplane.DeviceID, error) error { return ErrNoDevice }
