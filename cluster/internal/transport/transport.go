package transport

import (
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/backplane-go/backplane/cluster/internal/wire"
)

// Errors returned by Send and passed to Handler.Down. Down reasons wrap one
// of them; test with errors.Is.
var (
	// ErrSessionDown is wrapped by every Send error that is due to the
	// session to the peer being down or impossible to establish; the error
	// also wraps the reason.
	ErrSessionDown = errors.New("transport: session down")
	// ErrClosed reports that the Transport was closed.
	ErrClosed = errors.New("transport: closed")
	// ErrTimeout reports that no frame of the session was heard for
	// Config.Timeout, or that it could not be opened within that time.
	ErrTimeout = errors.New("transport: peer timed out")
	// ErrGap reports that a frame of the peer's stream was lost: a missing
	// sequence number or an unexpected epoch.
	ErrGap = errors.New("transport: frames lost")
	// ErrPeerBye reports that the peer ended the session.
	ErrPeerBye = errors.New("transport: peer ended the session")
	// ErrPeerRestarted reports that the peer incarnation is gone: a newer
	// incarnation of the same node name was heard from.
	ErrPeerRestarted = errors.New("transport: peer restarted")
	// ErrConnLost reports that the NATS connection was lost.
	ErrConnLost = errors.New("transport: NATS connection lost")
	// ErrPeerGone reports that the peer left NATS: a server found no
	// subscriber of it, because its connection closed (its process died,
	// or closed it) or the route to its server did (see WatchInterval).
	ErrPeerGone = errors.New("transport: peer's NATS connection closed")
	// ErrOverflow reports that too many frames were queued on a session
	// whose opening was not yet acknowledged (see MaxPending).
	ErrOverflow = errors.New("transport: too many frames pending")
	// ErrInvalid reports a Config or frame that the Transport cannot use.
	ErrInvalid = errors.New("transport: invalid")
	// ErrInsecure reports a Config that would run without credentials
	// while Config.Insecure is false. It wraps ErrInvalid.
	ErrInsecure = fmt.Errorf("%w: no credentials (set Secret, Password or NATS credentials, or Insecure)", ErrInvalid)
)

// MaxPending is how many frames Send queues on a session whose Hello has
// not been acknowledged yet; one more ends the session with ErrOverflow.
const MaxPending = 1 << 16

// Config configures a Transport. It is cluster.Config as the transport
// takes it, with cluster.Config's defaults applied (Config.withDefaults in
// package cluster, the one place where they are): see cluster.Config for
// what each field means and what its default is. The transport applies
// no default of its own: Cluster, Heartbeat and Timeout are required, and
// so is Listen for an embedded server; an empty RouteListen means no
// route listener.
type Config struct {
	// Name is the node name, unique in the cluster: 1..64 characters of
	// [A-Za-z0-9._-]. Required.
	Name string
	// Cluster is the subject prefix shared by the nodes of a cluster. It
	// is also the embedded server's cluster name. Required.
	Cluster string
	// URL, if set, is the NATS server or cluster to connect to (comma
	// separated URLs). If empty, a NATS server is embedded in the Transport
	// and the client connects to it in-process.
	URL string
	// Listen is the embedded server's client address (port 0 picks a
	// random port). Required for an embedded server.
	Listen string
	// RouteListen is the embedded server's route (cluster) address; empty
	// means no route listener.
	RouteListen string
	// Routes are the route URLs ("nats://host:port") of other nodes'
	// embedded servers.
	Routes []string
	// ServerOptions, if set, may change the embedded server's options
	// (authentication, TLS, ...) after the Transport has set its own. If it
	// sets client authentication of its own (Username, Users, Nkeys,
	// TrustedOperators, CustomClientAuthentication or AuthCallout), the
	// Transport's token is withdrawn and clients, this node's included,
	// authenticate as the hook says.
	ServerOptions func(*server.Options)
	// NATSOptions are applied to the client connection (authentication,
	// TLS, reconnect policy, ...). The Transport's connection event
	// handlers and the disabled reconnect buffer cannot be overridden.
	// Credentials given here (user and password, token, nkey, JWT, TLS
	// client certificate) replace the ones the Transport would present.
	NATSOptions []nats.Option

	// Secret is the cluster's shared secret. The embedded server requires
	// it from every client (as a NATS token) and every route (as the
	// password of route user "backplane"); the client presents it as its
	// token, to the embedded server or to the server at URL. If it is empty
	// and a server is embedded, Start generates one (32 random bytes,
	// base64url), so that a lone node is protected with no configuration:
	// Transport.Secret returns it, to be handed to the nodes that join.
	// Route URLs in Routes are given the route credentials unless they
	// carry their own.
	Secret string
	// Users, if set, turns on per-node credentials on the embedded server:
	// it maps each node name of the cluster to its password, or better to
	// a bcrypt hash of it ("$2a$...", see HashPassword), and the server
	// then admits a client only as one of these users and lets user N
	// publish only frames from N and subscribe only to frames to N (see
	// Permissions), so that a node cannot impersonate another even though
	// it holds valid credentials. The Secret then authenticates routes
	// only. Every node's server must have the same Users.
	Users map[string]string
	// Password is this node's own password, presented as user Name, for
	// per-node credentials on the embedded server (Users) or on the
	// server at URL. If empty and Users maps Name to a plain password,
	// that one is used.
	Password string
	// TLS, if set, secures the links between machines: the embedded
	// server's client and route listeners require TLS with this
	// configuration (its Certificates are the server's; set ClientCAs and
	// ClientAuth to verify clients), routes are solicited with it, and the
	// client connection to the server at URL uses it (RootCAs to verify
	// the server). The in-process connection to the embedded server does
	// not use it.
	TLS *tls.Config
	// Insecure allows running without credentials: an embedded server that
	// authenticates nobody (when Secret is empty), or a server at URL
	// reached without any credentials. Without it, Start fails with
	// ErrInsecure in the second case. A warning is logged when it is
	// used.
	Insecure bool
	// Heartbeat is the heartbeat period. Required.
	Heartbeat time.Duration
	// Timeout ends a session when no frame of it was heard for this long.
	// It must exceed Heartbeat. Required.
	Timeout time.Duration
	// Logf, if set, receives debug messages: sessions opening and ending,
	// every frame dropped and why.
	Logf func(format string, args ...any)
	// Warnf, if set, receives warnings: running without credentials.
	// If nil, warnings go to Logf.
	Warnf func(format string, args ...any)
}

// Handler receives what arrives on a Transport. Its methods are called
// from one goroutine per Transport, never concurrently, and never while the
// Transport holds a lock. They may call Send but not Close.
type Handler interface {
	// Receive is called for every non-session frame (Watch, Down, Deliver,
	// Shutdown, Kill, Lookup, LookupReply) of a live session, in the order
	// sent, exactly once. It is also called for a Lookup sent to an unknown
	// incarnation (To.Inc 0), which travels outside any session, at most
	// once. The frame belongs to the callee.
	Receive(f *wire.Frame)
	// Down is called exactly once per session that had started, when it
	// ends for any reason, with the peer incarnation and a reason wrapping
	// one of ErrTimeout, ErrGap, ErrPeerBye, ErrPeerRestarted, ErrPeerGone,
	// ErrConnLost or ErrClosed (or ErrOverflow). After Down, no frame of that session
	// is passed to Receive. Down is also called, at most once per failed
	// call of Send while no earlier Down for that peer is still undelivered,
	// when Send fails without a live session, so that every Send error is
	// followed by a Down for its peer.
	Down(peer wire.Node, reason error)
}

// Stats are the counters of a Transport.
type Stats struct {
	// FramesSent counts frames published, including heartbeats,
	// retransmitted Hellos and Byes.
	FramesSent uint64
	// FramesReceived counts frames accepted: in sequence on a live session,
	// or a session-less Lookup.
	FramesReceived uint64
	// Malformed counts messages that could not be decoded or were too
	// large.
	Malformed uint64
	// Rejected counts well-formed frames that were dropped: addressed to
	// another node or incarnation, from a dead incarnation, duplicates,
	// frames of stale or unknown streams of a known peer, a Hello from an
	// incarnation while another incarnation of its name has a live
	// session, and "no responders" answers about a peer that the embedded
	// server still knows a subscriber of (WatchInterval).
	Rejected uint64
	// Forged counts frames whose From names another node than the one
	// that published them (the sender token of the subject).
	Forged uint64
	// Unknown counts frames from a sender incarnation that has no session
	// and that cannot open one (anything but a Hello at Seq 1): dropped
	// early, unanswered, and leaving no record.
	Unknown uint64
	// Dropped counts frames dropped under load: messages the NATS client
	// discarded because the Transport did not keep up (its pending limits,
	// PendingMsgs and PendingBytes), and Hellos refused while MaxHalfOpen
	// sessions were half-open.
	Dropped uint64
	// Throttled counts frames that would have been answered or delivered
	// outside any session (a Bye to a stale stream or to another
	// incarnation, a session-less Lookup) but were dropped because the
	// budget for them, SessionlessRate, was spent.
	Throttled uint64
	// SessionsUp counts sessions started.
	SessionsUp uint64
	// SessionsDown counts sessions ended.
	SessionsDown uint64
}

// ValidName reports whether s is a valid node or cluster name: 1 to 64
// ASCII letters, digits, '.', '_' or '-'. It is checked for every frame
// sent, so it is a loop over bytes rather than a regular expression (which
// took 40% of Send).
func ValidName(s string) bool {
	return len(s) != 0 && len(s) <= 64 && NameChars(s)
}

// NameChars reports whether every byte of s is an ASCII letter, digit,
// '.', '_' or '-': the characters of node names, which the registry's
// names and groups share.
func NameChars(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// Transport is one node's endpoint. Its methods are safe for concurrent
// use.
type Transport struct {
	cfg      Config
	h        Handler
	self     wire.Node
	prefix   string // "<cluster>.node."
	inPrefix string // "<cluster>.node.<self>.": frames to this node
	secret   string // the secret in use, "" if none

	srv      *server.Server
	nc       *nats.Conn
	sub      *nats.Subscription
	ncClosed chan struct{}
	frames   chan inbound // admitted and decoded frames, and peers gone, for the dispatch loop

	// Watching peers (watch.go).
	interest     func(subject string) bool // whether the embedded server knows a subscription; nil without one
	replySubject string                    // "<cluster>.node.<self>.<self>": the reply subject of every frame

	// gate is held for reading by the NATS callback while it handles a
	// message, and for writing by shutdown: after shutdown, no callback
	// touches the Transport.
	gate      sync.RWMutex
	gateShut  bool
	pub       func(subject string, data []byte) error // publishes; nc.Publish but in tests
	connected func() bool                             // nc.IsConnected but in tests
	clock     func() time.Time                        // time.Now but in tests

	mu       sync.Mutex
	closed   bool
	names    map[string]*nameRec
	tombs    tombList // records without a session or a queued Down
	halfOpen int      // sessions opened by a peer's Hello, ours not yet acknowledged
	budget   bucket   // for frames outside any session
	queue    []event
	buf      []byte

	wake      chan struct{}
	stop      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error

	framesSent, framesReceived, malformed, rejected, sessionsUp, sessionsDown atomic.Uint64
	forged, unknown, dropped, throttled                                       atomic.Uint64

	// dropHook, if set, is asked about every decoded incoming frame; if it
	// returns true the frame is dropped as if lost. For tests.
	dropHook atomic.Pointer[func(*wire.Frame) bool]
	// onReconnect, if set, is called when the NATS client reconnects. For
	// tests.
	onReconnect atomic.Pointer[func()]
}

// event is one Handler callback, queued in the order decided.
type event struct {
	frame  *wire.Frame // Receive, if not nil
	peer   *peer       // Down otherwise
	reason error
}

// Start starts a Transport: the embedded server (unless cfg.URL is set),
// the NATS connection and subscription, and the goroutines that dispatch
// frames and send heartbeats.
func Start(cfg Config, h Handler) (*Transport, error) {
	t, err := newTransport(cfg, h)
	if err != nil {
		return nil, err
	}
	if err := t.secure(); err != nil {
		return nil, err
	}
	if t.cfg.URL == "" {
		if err := t.startServer(); err != nil {
			return nil, err
		}
	}
	if err := t.connect(); err != nil {
		t.shutdownServer()
		return nil, err
	}
	if t.srv != nil {
		if err := t.watchInterest(); err != nil {
			// The servers' answers to frames still tell of peers gone.
			t.logf("not watching peers: %v", err)
		}
	}
	t.wg.Add(2)
	go t.loop()
	go t.ticker()
	if t.interest != nil {
		t.wg.Add(1)
		go t.watcher()
	}
	t.logf("started %v on %s*", t.self, t.inPrefix)
	return t, nil
}

// newTransport checks cfg and returns a Transport that is not connected.
func newTransport(cfg Config, h Handler) (*Transport, error) {
	if h == nil {
		return nil, fmt.Errorf("%w: nil Handler", ErrInvalid)
	}
	if !ValidName(cfg.Name) {
		return nil, fmt.Errorf("%w: node name %q", ErrInvalid, cfg.Name)
	}
	if !ValidName(cfg.Cluster) || strings.HasPrefix(cfg.Cluster, ".") || strings.HasSuffix(cfg.Cluster, ".") || strings.Contains(cfg.Cluster, "..") {
		return nil, fmt.Errorf("%w: cluster %q", ErrInvalid, cfg.Cluster)
	}
	if cfg.Heartbeat <= 0 || cfg.Timeout <= cfg.Heartbeat {
		return nil, fmt.Errorf("%w: Heartbeat %v, Timeout %v", ErrInvalid, cfg.Heartbeat, cfg.Timeout)
	}
	t := &Transport{
		cfg:      cfg,
		h:        h,
		self:     wire.Node{Name: cfg.Name, Inc: nonZero()},
		prefix:   cfg.Cluster + ".node.",
		ncClosed: make(chan struct{}),
		frames:   make(chan inbound, framesQueued),
		clock:    time.Now,
		names:    make(map[string]*nameRec),
		wake:     make(chan struct{}, 1),
		stop:     make(chan struct{}),
	}
	t.inPrefix = t.prefix + token(cfg.Name) + "."
	t.replySubject = t.inPrefix + token(cfg.Name)
	t.budget = bucket{tokens: SessionlessBurst}
	return t, nil
}

func (t *Transport) startServer() error {
	host, port, err := hostPort(t.cfg.Listen)
	if err != nil {
		return fmt.Errorf("%w: Listen: %v", ErrInvalid, err)
	}
	opts := &server.Options{
		Host:   host,
		Port:   port,
		NoLog:  true,
		NoSigs: true,
	}
	if t.cfg.RouteListen != "" {
		rh, rp, err := hostPort(t.cfg.RouteListen)
		if err != nil {
			return fmt.Errorf("%w: RouteListen: %v", ErrInvalid, err)
		}
		opts.Cluster.Name = t.cfg.Cluster
		opts.Cluster.Host = rh
		opts.Cluster.Port = rp
		if len(t.cfg.Routes) > 0 {
			routes, err := t.routeURLs()
			if err != nil {
				return err
			}
			opts.Routes = routes
		}
	}
	token := t.serverAuth(opts)
	if t.cfg.ServerOptions != nil {
		t.cfg.ServerOptions(opts)
		if token != "" && opts.Authorization == token && ownClientAuth(opts) {
			opts.Authorization = ""
		}
	}
	s, err := server.NewServer(opts)
	if err != nil {
		return fmt.Errorf("transport: embedded server: %w", err)
	}
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		s.WaitForShutdown()
		return errors.New("transport: embedded server not ready")
	}
	t.srv = s
	return nil
}

func (t *Transport) shutdownServer() {
	if t.srv != nil {
		t.srv.Shutdown()
		t.srv.WaitForShutdown()
	}
}

// hostPort splits "host:port"; port 0 becomes a random port.
func hostPort(addr string) (string, int, error) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 0 || n > 65535 {
		return "", 0, fmt.Errorf("bad port %q", p)
	}
	if n == 0 {
		n = server.RANDOM_PORT
	}
	return h, n, nil
}

// Pending limits of the subscription: past either, the NATS client drops
// incoming messages (counted in Stats.Dropped) and the sessions that lost
// frames end with ErrGap.
const (
	PendingMsgs  = 1 << 20
	PendingBytes = 64 << 20
)

// pendingLimits returns the subscription's pending limits; tests replace
// it.
var pendingLimits = func() (msgs, bytes int) { return PendingMsgs, PendingBytes }

// framesQueued is how many admitted frames wait for the dispatch loop
// before the NATS callback blocks (and the subscription's pending limits
// take over).
const framesQueued = 1024

func (t *Transport) connect() error {
	opts := []nats.Option{
		nats.Name(t.cfg.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.ReconnectJitter(100*time.Millisecond, time.Second),
		nats.FlusherTimeout(t.cfg.Timeout),
	}
	opts = append(opts, t.clientAuth()...)
	opts = append(opts, t.cfg.NATSOptions...)
	opts = append(opts,
		nats.ReconnectBufSize(-1),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err == nil {
				t.connLost(ErrConnLost)
			} else {
				t.connLost(fmt.Errorf("%w: %v", ErrConnLost, err))
			}
		}),
		nats.ReconnectHandler(func(*nats.Conn) {
			t.logf("reconnected")
			if f := t.onReconnect.Load(); f != nil {
				(*f)()
			}
		}),
		nats.ClosedHandler(func(*nats.Conn) {
			t.connLost(fmt.Errorf("%w: connection closed", ErrConnLost))
			close(t.ncClosed)
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			if errors.Is(err, nats.ErrSlowConsumer) {
				// Some frames were lost; sessions that lost one see a gap
				// at their next frame and end alone (doc.go).
				t.logf("slow consumer: incoming frames dropped")
				return
			}
			t.logf("NATS error: %v", err)
		}),
	)
	var (
		nc  *nats.Conn
		err error
	)
	if t.cfg.URL != "" {
		nc, err = nats.Connect(t.cfg.URL, opts...)
	} else {
		nc, err = nats.Connect("", append(opts, nats.InProcessServer(t.srv))...)
	}
	if err != nil {
		return fmt.Errorf("transport: connect: %w", err)
	}
	sub, err := nc.Subscribe(t.inPrefix+"*", t.onMsg)
	if err == nil {
		err = sub.SetPendingLimits(pendingLimits())
	}
	if err == nil {
		err = nc.FlushTimeout(10 * time.Second)
	}
	if err == nil {
		err = nc.LastError() // a permissions violation
	}
	if err != nil {
		t.closeConn(nc)
		return fmt.Errorf("transport: subscribe: %w", err)
	}
	t.nc, t.sub = nc, sub
	// Every frame asks for the server's "no responders" (watch.go).
	t.pub = func(subject string, data []byte) error { return nc.PublishRequest(subject, t.replySubject, data) }
	t.connected = nc.IsConnected
	return nil
}

// closeConn closes nc and waits (boundedly) for its closed callback, after
// which the client's callback goroutine ends.
func (t *Transport) closeConn(nc *nats.Conn) {
	nc.Close()
	select {
	case <-t.ncClosed:
	case <-time.After(10 * time.Second):
		t.logf("NATS connection: no close callback")
	}
}

// Self returns this node: its name and incarnation.
func (t *Transport) Self() wire.Node { return t.self }

// Secret returns the cluster secret in use: Config.Secret, or the one
// Start generated; "" if none (Insecure, or per-node credentials only
// against an external server).
func (t *Transport) Secret() string { return t.secret }

// ClientURL returns the embedded server's client URL, "" if the Transport
// connects to an external server. It carries no credentials.
func (t *Transport) ClientURL() string {
	if t.srv == nil {
		return ""
	}
	return t.srv.ClientURL()
}

// RouteURL returns the embedded server's route URL, "" if it has no route
// listener. It carries no credentials: the nodes given it need the Secret
// too.
func (t *Transport) RouteURL() string {
	if t.srv == nil {
		return ""
	}
	a := t.srv.ClusterAddr()
	if a == nil {
		return ""
	}
	return "nats://" + a.String()
}

// Stats returns a snapshot of the counters.
func (t *Transport) Stats() Stats {
	st := Stats{
		FramesSent:     t.framesSent.Load(),
		FramesReceived: t.framesReceived.Load(),
		Malformed:      t.malformed.Load(),
		Rejected:       t.rejected.Load(),
		SessionsUp:     t.sessionsUp.Load(),
		SessionsDown:   t.sessionsDown.Load(),
		Forged:         t.forged.Load(),
		Unknown:        t.unknown.Load(),
		Dropped:        t.dropped.Load(),
		Throttled:      t.throttled.Load(),
	}
	if t.sub != nil {
		if n, err := t.sub.Dropped(); err == nil && n > 0 {
			st.Dropped += uint64(n)
		}
	}
	return st
}

// Close ends every live session with a Bye (best effort) and reports Down
// with ErrClosed for each, then stops every goroutine the Transport started,
// closes the NATS connection and shuts the embedded server down. It is
// idempotent; later calls wait for the first to finish and return its
// result. It must not be called from a Handler callback.
func (t *Transport) Close() error {
	t.closeOnce.Do(func() { t.closeErr = t.shutdown(true) })
	return t.closeErr
}

// shutdown is Close; bye false skips the Byes, as a crash would.
func (t *Transport) shutdown(bye bool) error {
	t.mu.Lock()
	t.closed = true
	t.forEachSession(func(p *peer) { t.end(p, ErrClosed, bye) })
	t.mu.Unlock()
	if bye {
		_ = t.nc.FlushTimeout(min(t.cfg.Timeout, time.Second))
	}
	close(t.stop)
	t.gate.Lock() // waits for a NATS callback in progress
	t.gateShut = true
	t.gate.Unlock()
	t.wg.Wait()
	t.closeConn(t.nc)
	t.shutdownServer()
	t.logf("closed")
	return nil
}

// connLost ends every session: after a connection loss any frame may have
// been lost, and frames published meanwhile failed.
func (t *Transport) connLost(reason error) {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return
	}
	t.logf("%v", reason)
	t.forEachSession(func(p *peer) { t.end(p, reason, false) })
	t.mu.Unlock()
	t.signal()
}

func (t *Transport) logf(format string, args ...any) {
	if t.cfg.Logf != nil {
		t.cfg.Logf("transport %s: "+format, append([]any{t.cfg.Name}, args...)...)
	}
}

func (t *Transport) warnf(format string, args ...any) {
	if t.cfg.Warnf != nil {
		t.cfg.Warnf("transport %s: "+format, append([]any{t.cfg.Name}, args...)...)
		return
	}
	t.logf(format, args...)
}

// signal wakes the dispatch loop.
func (t *Transport) signal() {
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// onMsg is the subscription's callback, on the NATS client's goroutine: it
// drops what it can without decoding, decodes the rest and hands it to the
// dispatch loop, waiting while the loop is busy (then the subscription's
// pending limits apply).
func (t *Transport) onMsg(m *nats.Msg) {
	t.gate.RLock()
	defer t.gate.RUnlock()
	if t.gateShut {
		return
	}
	if m.Subject == t.replySubject {
		t.onReply(m)
		return
	}
	f := t.admit(m.Subject, m.Data, t.clock())
	if f == nil {
		return
	}
	select {
	case t.frames <- inbound{f: f}:
	case <-t.stop:
	}
}

// loop is the dispatch goroutine: it runs the session protocol on admitted
// frames and makes every Handler callback, in queue order.
func (t *Transport) loop() {
	defer t.wg.Done()
	for {
		t.drain()
		select {
		case <-t.stop:
			t.drain()
			return
		case in := <-t.frames:
			t.mu.Lock()
			switch {
			case t.closed:
			case in.f != nil:
				t.receive(in.f, t.clock())
			default:
				t.gone(in.gone)
			}
			t.mu.Unlock()
		case <-t.wake:
		}
	}
}

// drain makes the queued callbacks, outside the lock.
func (t *Transport) drain() {
	for {
		t.mu.Lock()
		if len(t.queue) == 0 {
			t.queue = t.queue[:0]
			t.mu.Unlock()
			return
		}
		ev := t.queue[0]
		t.queue[0] = event{}
		t.queue = t.queue[1:]
		if ev.frame == nil {
			ev.peer.queuedDowns--
			t.release(ev.peer, t.clock())
		}
		t.mu.Unlock()
		if ev.frame != nil {
			t.h.Receive(ev.frame)
		} else {
			t.logf("down %v: %v", ev.peer.node, ev.reason)
			t.h.Down(ev.peer.node, ev.reason)
		}
	}
}

// ticker sends heartbeats, retransmits unacknowledged Hellos and ends
// sessions that timed out.
func (t *Transport) ticker() {
	defer t.wg.Done()
	tk := time.NewTicker(t.cfg.Heartbeat)
	defer tk.Stop()
	for {
		select {
		case <-t.stop:
			return
		case <-tk.C:
			t.tick(t.clock())
			t.signal()
		}
	}
}

// nonZero returns a random non-zero number.
func nonZero() uint64 {
	for {
		if n := rand.Uint64(); n != 0 {
			return n
		}
	}
}
