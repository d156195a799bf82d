package cluster

import (
	"context"
	"errors"
	"fmt"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/cluster/internal/transport"
	"github.com/backplane-go/backplane/cluster/internal/wire"
	"github.com/backplane-go/backplane/internal/bridge"
)

// MaxArgLen is the largest argument Spawn carries to another node, in
// bytes.
const MaxArgLen = wire.MaxArgLen

var (
	// ErrUnknownKind reports a Spawn of a task kind that the node asked has
	// not registered (Node.RegisterKind), or a kind that is not a valid
	// name.
	ErrUnknownKind = errors.New("cluster: unknown task kind")

	// ErrArgTooLarge reports a Spawn whose argument is over MaxArgLen
	// bytes.
	ErrArgTooLarge = errors.New("cluster: spawn argument too large")

	// errClosing is the reason in the UnreachableError of a Spawn refused
	// by a node that is closing.
	errClosing = errors.New("node closing")
)

// The Reasons of a spawn-reply frame without a device.
const (
	reasonUnknownKind = "unknown kind"
	reasonClosing     = "closing"
	reasonParentDown  = "parent down"
)

// Task is a task that other nodes may start on this one (RegisterKind,
// Spawn). It runs under Manage, on a device of its own, with the argument
// the starting node gave; it should return when ctx ends.
type Task func(ctx context.Context, arg []byte) error

// spawnReq is a pending Spawn: the node asked, what is linked, and where
// the answer goes.
type spawnReq struct {
	node   wire.Node
	kind   string
	parent backplane.Line
	mode   backplane.LinkMode
	c      chan spawnReply // buffered: one answer
}

type spawnReply struct {
	dev *backplane.Device // the proxy of the task's device
	err error
}

// RegisterKind makes task startable by other nodes under the name kind
// (Spawn), until UnregisterKind. It fails for an empty kind or one longer
// than 255 bytes (backplane.ErrInvalid), a nil task (backplane.ErrNilArg),
// a kind already registered, and after Close (ErrClosed).
func (n *Node) RegisterKind(kind string, task Task) error {
	switch {
	case !validKind(kind):
		return errorf("cluster: register kind %q: %w: not a kind name", kind, backplane.ErrInvalid)
	case task == nil:
		return errorf("cluster: register kind %q: %w", kind, backplane.ErrNilArg)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	switch {
	case n.closed:
		return errorf("cluster: register kind %q: %w", kind, ErrClosed)
	case n.kinds[kind] != nil:
		return errorf("cluster: register kind %q: already registered", kind)
	}
	n.kinds[kind] = task
	return nil
}

// UnregisterKind withdraws a kind registered with RegisterKind: later
// Spawns of it fail with ErrUnknownKind. Tasks of that kind already
// running go on.
func (n *Node) UnregisterKind(kind string) {
	n.mu.Lock()
	delete(n.kinds, kind)
	n.mu.Unlock()
}

// validKind reports whether kind may be registered: 1..255 bytes, not
// starting with a zero byte.
func validKind(kind string) bool {
	return kind != "" && len(kind) <= wire.MaxNameLen && kind[0] != 0
}

// Spawn starts a task of the kind registered under kind on the node called
// node, with arg, and returns the Line of the device it runs under
// (Erlang's spawn_link on another node). parent, a device of this process,
// is linked to that device in mode, seen from parent as in
// backplane.Group.Spawn: Monitor means parent watches the task, Notify
// that the task watches parent (and so cascades when parent faults), Peer
// both. The link is in place before the task starts, so no outcome of the
// task can be missed: parent, if it monitors, is told the task's end with
// its fault (its error as a *RemoteError, its panic, a cascade, a kill),
// or with FaultUnreachable if the node is lost first.
//
// Spawn blocks until the node has answered, or until ctx ends; give ctx a
// deadline, since a node that does not exist never answers, and if by then
// no node of that name is known here the error wraps ErrUnknownNode too. If
// ctx ends after the request was sent, the task, should it start, is
// killed. For this node's own name, Spawn starts the task here.
//
// It fails with ErrUnknownKind if the node has not registered kind, with
// ErrArgTooLarge for an arg over MaxArgLen bytes, with an error wrapping
// ErrUnreachable (an *UnreachableError) if the node is closing or the
// session with it ends first, with backplane.ErrInvalid for a bad node
// name, mode, or a parent that is not a device of this process,
// backplane.ErrNilArg for a nil parent, backplane.ErrLinkDown if parent
// disconnects first (the task is then killed, or never started), and
// ErrClosed after Close. The argument is copied.
func (n *Node) Spawn(ctx context.Context, node, kind string, arg []byte, parent backplane.Linkable, mode backplane.LinkMode) (backplane.Line, error) {
	d, err := n.spawn(ctx, node, kind, arg, parent, mode)
	if err != nil {
		return backplane.Line{}, err
	}
	return d.Line(), nil
}

// spawn is Spawn, returning the task's device (its proxy, for another
// node), whose Fault says how the task ended once it is Done.
func (n *Node) spawn(ctx context.Context, node, kind string, arg []byte, parent backplane.Linkable, mode backplane.LinkMode) (*backplane.Device, error) {
	errf := func(err error) (*backplane.Device, error) {
		return nil, errorf("cluster: spawn %s on %s: %w", clip(kind, 64), node, err)
	}
	var pl backplane.Line
	if parent != nil {
		pl = parent.Line()
	}
	switch {
	case !transport.ValidName(node):
		return errf(fmt.Errorf("%w: not a node name", backplane.ErrInvalid))
	case !validKind(kind):
		return errf(ErrUnknownKind)
	case len(arg) > MaxArgLen:
		return errf(fmt.Errorf("%w: %d bytes, over %d", ErrArgTooLarge, len(arg), MaxArgLen))
	case pl.IsZero():
		return errf(fmt.Errorf("parent: %w", backplane.ErrNilArg))
	case mode == 0 || mode&^backplane.Peer != 0:
		return errf(fmt.Errorf("%w: link mode %v", backplane.ErrInvalid, mode))
	case bridge.IsProxy(pl):
		return errf(fmt.Errorf("%w: parent %v is a device of another node", backplane.ErrInvalid, pl.ID()))
	case !pl.Alive():
		return errf(fmt.Errorf("parent %v: %w", pl.ID(), backplane.ErrLinkDown))
	}
	if node == n.self.Name {
		d, err := n.spawnHere(kind, arg, pl, mode)
		if err != nil {
			return errf(err)
		}
		return d, nil
	}
	to, err := n.incarnation(ctx, node)
	if err != nil {
		return errf(err)
	}
	if mode&backplane.Notify != 0 {
		// The task will watch parent: parent's end is reported to the
		// node with its fault even if it comes before the task's node
		// has made the edge (as for Line.Link: remote.Watch).
		if err := n.watchFor(to, pl); err != nil {
			return errf(err)
		}
	}
	c := make(chan spawnReply, 1)
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return errf(ErrClosed)
	}
	n.nextRef++
	ref := n.nextRef
	n.spawns[ref] = &spawnReq{node: to, kind: kind, parent: pl, mode: mode, c: c}
	n.mu.Unlock()
	f := &wire.Frame{Kind: wire.KindSpawn, To: to, Ref: ref, Name: kind, Source: n.wireID(pl.ID()), Mode: uint8(mode)}
	if len(arg) > 0 {
		f.Arg = append([]byte(nil), arg...) // a Send may queue the frame
	}
	if err := n.send(f); err != nil {
		n.mu.Lock()
		delete(n.spawns, ref)
		n.mu.Unlock()
		return errf(&UnreachableError{Node: nodeID(to), Reason: err})
	}
	select {
	case r := <-c:
		if r.err != nil {
			return errf(r.err)
		}
		return r.dev, nil
	case <-ctx.Done():
	}
	n.mu.Lock()
	_, waiting := n.spawns[ref]
	delete(n.spawns, ref)
	n.mu.Unlock()
	if !waiting { // answered meanwhile: the answer is on its way
		r := <-c
		if r.err != nil {
			return errf(r.err)
		}
		return r.dev, nil
	}
	// A late answer finds no one waiting, and kills the task it started.
	return errf(context.Cause(ctx))
}

// incarnation returns the incarnation of the node called name: the one in
// a live session, or the one that answers a ping.
func (n *Node) incarnation(ctx context.Context, name string) (wire.Node, error) {
	n.mu.Lock()
	inc, ok := n.live[name]
	n.mu.Unlock()
	if ok {
		return wire.Node{Name: name, Inc: inc}, nil
	}
	r, err := n.ask(ctx, wire.Node{Name: name}, pingName)
	switch {
	case err != nil && ctx.Err() != nil && !n.inSession(name):
		return wire.Node{}, fmt.Errorf("%w (never heard from): %w", ErrUnknownNode, err)
	case err != nil:
		return wire.Node{}, err
	}
	return r.Node, nil
}

// spawnHere is Spawn on this node. The device it returns is the task's
// own, run by the node.
func (n *Node) spawnHere(kind string, arg []byte, parent backplane.Line, mode backplane.LinkMode) (*backplane.Device, error) {
	n.mu.Lock()
	task, closed := n.kinds[kind], n.closed
	n.mu.Unlock()
	switch {
	case closed:
		return nil, ErrClosed
	case task == nil:
		return nil, ErrUnknownKind
	}
	d := backplane.New(bridge.Owned(), backplane.WithName(kind))
	if err := parent.Link(d, mode); err != nil {
		_ = d.Disconnect(nil) // never linked, never ran: nobody to tell
		return nil, err
	}
	if !n.run(d, task, append([]byte(nil), arg...)) {
		return nil, ErrClosed
	}
	return d, nil
}

// run starts task under d, in a goroutine of the node's, unless the node
// is closed: then d is killed, and run returns false.
func (n *Node) run(d *backplane.Device, task Task, arg []byte) bool {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		_ = d.Line().Kill(backplane.DeviceID{}, ErrClosed)
		return false
	}
	n.tasks[d] = struct{}{}
	n.wg.Add(1)
	n.mu.Unlock()
	go func() {
		defer n.wg.Done()
		_ = d.Manage(context.Background(), func(ctx context.Context) error { return task(ctx, arg) })
		n.mu.Lock()
		delete(n.tasks, d)
		n.mu.Unlock()
	}()
	return true
}

// onSpawn starts a task for a peer: it makes the device, links it as asked
// (the half in which the parent watches lives on the parent's node: here
// the peer is told of the device's end), answers, and only then starts the
// task, so that the answer reaches the peer before any report of the
// task's end.
func (n *Node) onSpawn(f *wire.Frame) {
	reply := &wire.Frame{Kind: wire.KindSpawnReply, To: f.From, Ref: f.Ref}
	refuse := func(reason string) {
		reply.Reason = reason
		_ = n.send(reply)
	}
	n.mu.Lock()
	task, closed := n.kinds[f.Name], n.closed
	n.mu.Unlock()
	switch {
	case closed:
		refuse(reasonClosing)
		return
	case task == nil:
		refuse(reasonUnknownKind)
		return
	}
	d := backplane.New(bridge.Owned(), backplane.WithName(f.Name))
	fail := func(reason string) {
		_ = d.Disconnect(nil) // never ran: nobody to tell
		refuse(reason)
	}
	// Whatever the mode, the peer holds a Line to d: tell it d's end.
	if err := n.watchFor(f.From, d.Line()); err != nil {
		fail(reasonClosing)
		return
	}
	if backplane.LinkMode(f.Mode)&backplane.Notify != 0 {
		// d watches the parent, through its proxy here.
		pp, err := n.proxy(n.deviceID(f.Source), "")
		if err != nil {
			fail(reasonClosing)
			return
		}
		if err := d.Link(pp, backplane.Monitor); err != nil {
			fail(reasonParentDown)
			return
		}
	}
	reply.Source = wire.Device{Node: n.self, Seq: d.ID().Seq()}
	if err := n.send(reply); err != nil {
		_ = d.Disconnect(nil) // the peer is gone: nobody to tell
		return
	}
	n.run(d, task, f.Arg)
}

// onSpawnReply hands an answer to the Spawn waiting for it, if it comes
// from the node asked; it makes the proxy of the device started and the
// parent's half of the link first, on the handler's goroutine, so that no
// later frame about the device finds them missing.
func (n *Node) onSpawnReply(f *wire.Frame) {
	n.mu.Lock()
	s, ok := n.spawns[f.Ref]
	if ok && s.node != f.From {
		n.mu.Unlock()
		n.dropForged(f, "answer to a spawn sent to another node")
		return
	}
	delete(n.spawns, f.Ref)
	n.mu.Unlock()
	if !ok {
		if !f.Source.IsZero() {
			// Its Spawn gave up waiting: nobody holds the task's Line.
			_ = n.send(&wire.Frame{Kind: wire.KindKill, To: f.From, Target: f.Source.Seq, Reason: "cluster: spawn abandoned"})
		}
		return
	}
	if f.Source.IsZero() {
		s.c <- spawnReply{err: spawnRefused(nodeID(f.From), f.Reason)}
		return
	}
	id := n.deviceID(f.Source)
	p, err := n.proxyWatched(id, s.kind)
	if err != nil {
		s.c <- spawnReply{err: err}
		return
	}
	if s.mode&backplane.Monitor != 0 {
		if err := s.parent.Link(p, backplane.Monitor); err != nil {
			_ = p.Line().Kill(backplane.DeviceID{}, errors.New("cluster: spawn: parent down"))
			s.c <- spawnReply{err: err}
			return
		}
	}
	s.c <- spawnReply{dev: p}
}

// spawnRefused is the error of a Spawn that node refused for reason.
func spawnRefused(node backplane.NodeID, reason string) error {
	switch reason {
	case reasonUnknownKind:
		return ErrUnknownKind
	case reasonClosing:
		return &UnreachableError{Node: node, Reason: errClosing}
	case reasonParentDown:
		return fmt.Errorf("parent: %w", backplane.ErrLinkDown)
	}
	return &RemoteError{Node: node, Text: reason}
}

// failSpawnsLocked fails the pending Spawns to node (any incarnation if Inc is
// 0) with err. n.mu is held.
func (n *Node) failSpawnsLocked(node wire.Node, err func() error) {
	for ref, s := range n.spawns {
		if s.node == node || node.Inc == 0 {
			s.c <- spawnReply{err: err()}
			delete(n.spawns, ref)
		}
	}
}
