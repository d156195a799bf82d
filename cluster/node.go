package cluster

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/cluster/internal/transport"
	"github.com/backplane-go/backplane/cluster/internal/wire"
	"github.com/backplane-go/backplane/internal/bridge"
)

// Node joins this process to a backplane cluster: it links the process's
// devices with devices of other nodes, with the rules that hold inside one
// process (SEMANTICS.md), and with FaultUnreachable when a node can no
// longer be reached.
//
// A Node is safe for concurrent use. Close it to leave the cluster.
type Node struct {
	tr   *transport.Transport
	self wire.Node
	id   backplane.NodeID

	exportsDev *backplane.Device // watches the exported devices no peer watches (export.watched)
	wg         sync.WaitGroup    // the node's goroutines: exports and peers

	mu      sync.Mutex
	closed  bool
	proxies proxyTable                // remote device -> its proxy
	exports map[uint64]*export        // local devices other nodes may name
	names   map[string]backplane.Line // Register
	peers   map[wire.Node]*peer       // per live session
	lookups map[uint64]*lookup
	kinds   map[string]Task                // RegisterKind
	spawns  map[uint64]*spawnReq           // Spawns waiting for an answer
	tasks   map[*backplane.Device]struct{} // tasks started here for Spawn, running
	nextRef uint64
	live    map[string]uint64 // peers heard from in a session still live: name -> incarnation
	placed  map[string]int    // remote children running, by the node they were placed on (RemoteChild)
	gone    map[string]bool   // nodes whose last session ended, not heard from since

	// heard is live as the handler knows it; only the handler's goroutine
	// uses it, so that a frame costs no lock to keep live up to date.
	heard map[string]uint64
	// downs is onDown's buffer of the proxies of a frame, also only the
	// handler's: cleared after each frame.
	downs  []*backplane.Device
	forged atomic.Uint64 // frames dropped by the handler: see forgery

	events    *events // Config.OnNode; nil if none
	reg       *registry
	storeDir  string // the embedded server's JetStream store; "" if none
	heartbeat time.Duration
	timeout   time.Duration // Config.Timeout
	started   chan struct{} // closed once tr, self and id are set
	log       *slog.Logger  // nil: no logging
}

// peer is what a node keeps for a live session with another node: a device
// that watches, on the peer's behalf, the local devices the peer's devices
// watch, and the goroutine that reports their disconnections.
type peer struct {
	node  wire.Node
	watch *backplane.Device
}

// export is a local device that other nodes may name, and the names it is
// registered under.
//
// An export is forgotten when its device disconnects, by one of two
// goroutines. A device watched for a peer (watchFor) is forgotten by the
// report goroutine of the peer, which is told of the disconnection anyway,
// so that a device exported only to be watched has one hub link, the
// peer's, and its disconnection wakes one goroutine. A device with names
// or registry entries, or one that no peer watches any longer (its session
// ended), is watched by exportsDev and forgotten by forgetExports, which
// also frees its names.
type export struct {
	line    backplane.Line
	names   []string
	watched bool // exportsDev watches the device
}

// lookup is a pending Lookup or Ping: the node asked, and where its
// answer goes.
type lookup struct {
	node wire.Node
	c    chan lookupReply // buffered: one answer
}

type lookupReply struct {
	dev wire.Device
	err error
}

// Start starts a node and joins the cluster, with Config's defaults for
// the fields left zero. It blocks until the embedded server (if any) is
// ready and the node is connected to NATS. It fails for an invalid Config,
// with ErrInsecure for an external NATS (Config.URL) without credentials
// unless Config.Insecure, and when NATS refuses the node's credentials.
func Start(cfg Config) (*Node, error) {
	if cfg.Name == "" {
		return nil, errorf("cluster: start: %w", errors.New("empty node name"))
	}
	cfg = cfg.withDefaults()
	tcfg := cfg.transport()
	dir := ""
	if cfg.URL == "" {
		var err error
		if dir, err = storeDir(cfg.Name); err != nil {
			return nil, err
		}
		tcfg.ServerOptions = jetStream(cfg.Name, dir, tcfg.ServerOptions)
	}
	n := &Node{
		exportsDev: backplane.New(bridge.Owned(), backplane.WithName("cluster exports")),
		storeDir:   dir,
		heartbeat:  cfg.Heartbeat,
		timeout:    cfg.Timeout,
		events:     newEvents(cfg.OnNode),
		started:    make(chan struct{}),
		log:        cfg.Logger,
		exports:    make(map[uint64]*export),
		names:      make(map[string]backplane.Line),
		peers:      make(map[wire.Node]*peer),
		lookups:    make(map[uint64]*lookup),
		kinds:      make(map[string]Task),
		spawns:     make(map[uint64]*spawnReq),
		tasks:      make(map[*backplane.Device]struct{}),
		live:       make(map[string]uint64),
		placed:     make(map[string]int),
		gone:       make(map[string]bool),
		heard:      make(map[string]uint64),
	}
	n.reg = newRegistry(n, cfg.Cluster, cfg.Replicas)
	tr, err := transport.Start(tcfg, (*handler)(n))
	if err != nil {
		close(n.started)
		_ = n.exportsDev.Disconnect(nil)
		n.removeStore()
		if errors.Is(err, transport.ErrInsecure) {
			return nil, errorf("cluster: start %q: %w: %w", cfg.Name, ErrInsecure, err)
		}
		return nil, errorf("cluster: start %q: %w", cfg.Name, err)
	}
	n.tr = tr
	n.self = tr.Self()
	n.id = nodeID(n.self)
	close(n.started) // the transport's callbacks may run from now on
	n.wg.Add(1)
	go n.forgetExports()
	if n.events != nil {
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			n.events.run()
		}()
	}
	return n, nil
}

// ID returns the node's name and incarnation.
func (n *Node) ID() backplane.NodeID { return n.id }

// Secret returns the cluster's shared secret: Config.Secret, or the one
// the node generated. Hand it to the nodes that join this one (as their
// Config.Secret), through the environment or a file only they can read,
// never on a command line. It is "" if the node has none: Insecure, or
// joined through URL with other credentials.
func (n *Node) Secret() string { return n.tr.Secret() }

// ClientURL returns the embedded NATS server's client URL, for other nodes
// or tools to connect to; "" when the node uses an external server.
func (n *Node) ClientURL() string { return n.tr.ClientURL() }

// RouteURL returns the embedded NATS server's route URL, for other nodes'
// Config.Routes; "" when it has no route listener.
func (n *Node) RouteURL() string { return n.tr.RouteURL() }

// Close leaves the cluster: every session ends, every edge to a remote
// device fires with FaultUnreachable, the tasks started here for Spawn are
// killed (with ErrClosed as the reason), and the node's goroutines and
// embedded server stop. Close waits for those tasks to return: a task must
// return when its context ends. Other local devices are untouched. Close
// is idempotent.
func (n *Node) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	n.failSpawnsLocked(wire.Node{}, func() error { return ErrClosed })
	var tasks []*backplane.Device
	for d := range n.tasks {
		tasks = append(tasks, d)
	}
	n.mu.Unlock()
	n.reg.close()
	for _, d := range tasks {
		_ = d.Line().Kill(backplane.DeviceID{}, ErrClosed)
	}
	err := n.tr.Close() // reports Down for every session: proxies and peers go
	n.mu.Lock()
	proxies := n.proxies.nodes
	n.proxies = proxyTable{}
	peers := n.peers
	n.peers = make(map[wire.Node]*peer)
	for ref, l := range n.lookups {
		l.c <- lookupReply{err: ErrClosed}
		delete(n.lookups, ref)
	}
	n.mu.Unlock()
	for node, m := range proxies {
		for _, p := range m {
			_ = p.Disconnect(unreachable(node, ErrClosed))
		}
	}
	for _, p := range peers {
		_ = p.watch.Disconnect(nil)
	}
	_ = n.exportsDev.Disconnect(nil)
	n.events.close() // after the transport's last Down
	n.wg.Wait()
	n.removeStore()
	return err
}

// Line returns a Line to the device id on another node. Linking to it,
// linking it to local devices and asking it to shut down work as they do
// for a local device; the Line refers to a proxy that disconnects with the
// remote device's fault when the remote device disconnects, or with a Fault
// of kind FaultUnreachable when its node can no longer be reached (or does
// not know the device: ErrNoDevice).
//
// IDs come from Lookup, from messages (Message.From of a remote
// disconnection or shutdown request), or from faults. For the ID of a
// device of this node, Line returns its Line if other nodes know it, and
// fails with ErrLocalID otherwise. It fails with ErrClosed after Close.
func (n *Node) Line(id backplane.DeviceID) (backplane.Line, error) {
	if id.IsZero() {
		return backplane.Line{}, errorf("cluster: line to %v: %w", id, backplane.ErrInvalid)
	}
	if !bridge.IsRemote(id) || id.Node() == n.id {
		n.mu.Lock()
		e, ok := n.exports[id.Seq()]
		n.mu.Unlock()
		if !ok {
			return backplane.Line{}, errorf("cluster: line to %v: %w", id, ErrLocalID)
		}
		return e.line, nil
	}
	return n.lineTo(id, "")
}

// lineTo is Line for a remote id; name names a new proxy.
func (n *Node) lineTo(id backplane.DeviceID, name string) (backplane.Line, error) {
	p, err := n.proxy(id, name)
	if err != nil {
		return backplane.Line{}, errorf("cluster: line to %v: %w", id, err)
	}
	return p.Line(), nil
}

// proxy returns the proxy for the remote device id, making it (and asking
// the device's node to watch it) if there is none. name, if known, is the
// name the device is registered under on its node.
func (n *Node) proxy(id backplane.DeviceID, name string) (*backplane.Device, error) {
	return n.proxyWith(id, name, true)
}

// proxyWatched returns a new proxy for the remote device id, which its node
// already watches for this one (a task it started for Spawn).
func (n *Node) proxyWatched(id backplane.DeviceID, name string) (*backplane.Device, error) {
	return n.proxyWith(id, name, false)
}

// proxyWith is proxy; watch says whether to ask the device's node to watch
// it.
func (n *Node) proxyWith(id backplane.DeviceID, name string, watch bool) (*backplane.Device, error) {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil, ErrClosed
	}
	if p, ok := n.proxies.get(id); ok {
		n.mu.Unlock()
		return p, nil
	}
	isNode := id.Seq() == nodeSeq
	var p *backplane.Device
	var err error
	if isNode {
		p, err = newNodeLine(id, name)
	} else {
		p, err = bridge.NewProxy(id, (*remote)(n), backplane.WithName(name))
	}
	if err != nil {
		n.mu.Unlock()
		return nil, err
	}
	n.proxies.put(id, p)
	n.mu.Unlock()
	switch {
	case isNode:
		err = n.pingNode(wireNode(id.Node()))
	case !watch:
	default:
		err = n.send(&wire.Frame{Kind: wire.KindWatch, To: wireNode(id.Node()), Target: id.Seq()})
	}
	if err != nil {
		n.downProxy(id, p, unreachable(id.Node(), err))
	}
	return p, nil
}

// downProxy disconnects p, the proxy for id, with f, and forgets it.
func (n *Node) downProxy(id backplane.DeviceID, p *backplane.Device, f *backplane.Fault) {
	n.mu.Lock()
	n.proxies.take(id, p)
	n.mu.Unlock()
	_ = p.Disconnect(f)
}

// export makes l's device nameable by other nodes, until it disconnects,
// watched by exportsDev.
func (n *Node) export(l backplane.Line) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.exportLocked(l, true)
}

// exportLocked is export; watch says whether exportsDev is to watch the
// device (otherwise the caller makes a peer's watch watch it: watchFor).
func (n *Node) exportLocked(l backplane.Line, watch bool) error {
	if n.closed {
		return ErrClosed
	}
	seq := l.ID().Seq()
	e, ok := n.exports[seq]
	if ok && (e.watched || !watch) {
		return nil
	}
	if watch {
		if err := n.exportsDev.Link(l, backplane.Monitor); err != nil {
			return err
		}
		if ok {
			e.watched = true
			return nil
		}
	}
	n.exports[seq] = &export{line: l, watched: watch}
	return nil
}

// watchFor exports l's device and makes the watch of the peer node watch
// it, so that its disconnection is reported to node even if it comes
// before node has made its edge. The peer's report goroutine then forgets
// the export (forgetDowns). If that fails (l's device or the session is
// gone, or the node closed), the export is handed to exportsDev or
// forgotten (orphan).
func (n *Node) watchFor(node wire.Node, l backplane.Line) error {
	n.mu.Lock()
	err := n.exportLocked(l, false)
	n.mu.Unlock()
	if err != nil {
		return err
	}
	p, err := n.peer(node)
	if err == nil {
		err = p.watch.Link(l, backplane.Monitor)
	}
	if err != nil {
		n.orphan(l)
		return err
	}
	return nil
}

// orphan hands the export of l, if no longer watched by the peer that it
// was exported for, to exportsDev; if l's device is down (or the node
// closed), it forgets the export.
func (n *Node) orphan(l backplane.Line) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if e, ok := n.exports[l.ID().Seq()]; ok && e.line == l {
		n.orphanLocked(l.ID().Seq(), e)
	}
}

func (n *Node) orphanLocked(seq uint64, e *export) {
	if e.watched {
		return
	}
	if n.exportsDev.Link(e.line, backplane.Monitor) == nil {
		e.watched = true
		return
	}
	delete(n.exports, seq)
}

// orphanAll is orphan for every export left to a peer's watch: called
// when a session ended, whose watch no longer watches anything. An export
// still watched by another peer gets exportsDev's watch too, at the cost
// of a link, once.
func (n *Node) orphanAll() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for seq, e := range n.exports {
		n.orphanLocked(seq, e)
	}
}

// forgetDowns forgets the exports of the devices of downs, which a peer's
// watch saw disconnect, but those exportsDev watches: forgetExports
// forgets them with their names and registry entries.
func (n *Node) forgetDowns(downs []wire.Down) {
	n.mu.Lock()
	for _, d := range downs {
		if e, ok := n.exports[d.Seq]; ok && !e.watched {
			delete(n.exports, d.Seq)
		}
	}
	n.mu.Unlock()
}

// forgetExports drops the exported devices exportsDev watches once they
// disconnect.
func (n *Node) forgetExports() {
	defer n.wg.Done()
	for {
		m, err := n.exportsDev.Receive(context.Background())
		if err != nil {
			return
		}
		seq := m.From().Seq()
		n.mu.Lock()
		if e, ok := n.exports[seq]; ok {
			delete(n.exports, seq)
			for _, name := range e.names {
				if n.names[name] == e.line {
					delete(n.names, name)
				}
			}
		}
		n.mu.Unlock()
		n.reg.deviceGone(seq)
	}
}

// send sends f to f.To.
func (n *Node) send(f *wire.Frame) error { return n.tr.Send(f) }

// Register names a local device on this node, so that other nodes find it
// with Lookup. The name is taken until the device disconnects or Unregister
// is called. It fails for a name taken by another device, a proxy, a
// disconnected device, an empty name or one longer than 255 bytes.
func (n *Node) Register(name string, l backplane.Linkable) error {
	line := backplane.Line{}
	if l != nil {
		line = l.Line()
	}
	switch {
	case name == "" || len(name) > wire.MaxNameLen:
		return errorf("cluster: register %q: invalid name", name)
	case line.IsZero():
		return errorf("cluster: register %q: %w", name, backplane.ErrInvalid)
	case bridge.IsProxy(line):
		return errorf("cluster: register %q: %v is a remote device", name, line.ID())
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if old, ok := n.names[name]; ok && old != line {
		return errorf("cluster: register %q: taken by %v", name, old.ID())
	}
	if err := n.exportLocked(line, true); err != nil {
		return errorf("cluster: register %q: %w", name, err)
	}
	if _, ok := n.names[name]; !ok {
		e := n.exports[line.ID().Seq()]
		e.names = append(e.names, name)
		n.names[name] = line
	}
	return nil
}

// Unregister frees a name taken with Register.
func (n *Node) Unregister(name string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	l, ok := n.names[name]
	if !ok {
		return
	}
	delete(n.names, name)
	if e := n.exports[l.ID().Seq()]; e != nil {
		e.names = slices.DeleteFunc(e.names, func(s string) bool { return s == name })
	}
}

// Lookup asks the node called node for the device registered there under
// name, and returns a Line to it. It fails with ErrNotFound if the name is
// not registered, and with ctx's cause if ctx ends first: give it a
// deadline, since a node that does not exist never answers. If by then
// no node of that name is known here (none has sent this node anything in
// a session still live), the error also wraps ErrUnknownNode: the name
// may be wrong, or the node down, in another cluster, or refused for its
// credentials. A lookup of this node's own
// name answers from its own registry. Lookup blocks until the answer, or
// until ctx ends; it asks again every Config.Heartbeat meanwhile.
func (n *Node) Lookup(ctx context.Context, node, name string) (backplane.Line, error) {
	if name == "" || len(name) > wire.MaxNameLen || name[0] == 0 {
		return backplane.Line{}, errorf("cluster: lookup %q on %s: %w", name, node, ErrNotFound)
	}
	if node == n.self.Name {
		n.mu.Lock()
		l, ok := n.names[name]
		n.mu.Unlock()
		if !ok {
			return backplane.Line{}, errorf("cluster: lookup %s on %s: %w", name, node, ErrNotFound)
		}
		return l, nil
	}
	r, err := n.ask(ctx, wire.Node{Name: node}, name)
	switch {
	case err != nil && ctx.Err() != nil && !n.inSession(node):
		return backplane.Line{}, errorf("cluster: lookup %s on %s: %w (never heard from): %w", name, node, ErrUnknownNode, err)
	case err != nil:
		return backplane.Line{}, errorf("cluster: lookup %s on %s: %w", name, node, err)
	case r.IsZero():
		return backplane.Line{}, errorf("cluster: lookup %s on %s: %w", name, node, ErrNotFound)
	}
	id := n.deviceID(r)
	if !bridge.IsRemote(id) {
		return n.Line(id)
	}
	return n.lineTo(id, name)
}

// Ping makes a round trip to the node in the session with it: when it
// returns nil, the node has handled every link, unlink, shutdown and kill
// that this node sent it before the call. It fails with ErrUnreachable if
// the session ends, and with ctx's cause if ctx ends first.
func (n *Node) Ping(ctx context.Context, node backplane.NodeID) error {
	if node.IsZero() || node == n.id {
		return nil
	}
	if _, err := n.ask(ctx, wireNode(node), pingName); err != nil {
		return errorf("cluster: ping %v: %w", node, err)
	}
	return nil
}

// pingName is the lookup name of a Ping: no registered name starts with a
// zero byte.
const pingName = "\x00ping"

// ask sends a lookup for name to node and waits for the answer. A lookup
// to a node whose incarnation is unknown travels outside any session and
// may be lost, so it is sent again every heartbeat until answered.
func (n *Node) ask(ctx context.Context, node wire.Node, name string) (wire.Device, error) {
	c := make(chan lookupReply, 1)
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return wire.Device{}, ErrClosed
	}
	n.nextRef++
	ref := n.nextRef
	n.lookups[ref] = &lookup{node: node, c: c}
	n.mu.Unlock()
	defer func() {
		n.mu.Lock()
		delete(n.lookups, ref)
		n.mu.Unlock()
	}()
	var retry <-chan time.Time
	if node.Inc == 0 {
		t := time.NewTicker(n.heartbeat)
		defer t.Stop()
		retry = t.C
	}
	for {
		if err := n.send(&wire.Frame{Kind: wire.KindLookup, To: node, Ref: ref, Name: name}); err != nil {
			return wire.Device{}, errors.Join(ErrUnreachable, err)
		}
		select {
		case r := <-c:
			return r.dev, r.err
		case <-ctx.Done():
			return wire.Device{}, context.Cause(ctx)
		case <-retry:
		}
	}
}
