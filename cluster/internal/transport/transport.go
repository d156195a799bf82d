package transport

import (
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
	// ErrSlowConsumer reports that NATS dropped incoming messages because
	// they were not consumed fast enough. It wraps ErrConnLost.
	ErrSlowConsumer = fmt.Errorf("%w: slow consumer", ErrConnLost)
	// ErrOverflow reports that too many frames were queued on a session
	// whose opening was not yet acknowledged (see MaxPending).
	ErrOverflow = errors.New("transport: too many frames pending")
	// ErrInvalid reports a Config or frame that the Transport cannot use.
	ErrInvalid = errors.New("transport: invalid")
)

// MaxPending is how many frames Send queues on a session whose Hello has
// not been acknowledged yet; one more ends the session with ErrOverflow.
const MaxPending = 1 << 16

// Defaults of Config.
const (
	DefaultCluster   = "backplane"
	DefaultListen    = "127.0.0.1:0"
	DefaultHeartbeat = 100 * time.Millisecond
	DefaultTimeout   = time.Second
)

// Config configures a Transport.
type Config struct {
	// Name is the node name, unique in the cluster: 1..64 characters of
	// [A-Za-z0-9._-]. Required.
	Name string
	// Cluster is the subject prefix shared by the nodes of a cluster,
	// DefaultCluster if empty. It is also the embedded server's cluster
	// name.
	Cluster string
	// URL, if set, is the NATS server or cluster to connect to (comma
	// separated URLs). If empty, a NATS server is embedded in the Transport
	// and the client connects to it in-process.
	URL string
	// Listen is the embedded server's client address, DefaultListen if
	// empty (port 0 picks a random port).
	Listen string
	// RouteListen is the embedded server's route (cluster) address; empty
	// means no route listener, unless Routes is set, in which case it
	// defaults to "127.0.0.1:0".
	RouteListen string
	// Routes are the route URLs ("nats://host:port") of other nodes'
	// embedded servers.
	Routes []string
	// ServerOptions, if set, may change the embedded server's options
	// (authentication, TLS, ...) after the Transport has set its own.
	ServerOptions func(*server.Options)
	// NATSOptions are applied to the client connection (authentication,
	// TLS, reconnect policy, ...). The Transport's connection event
	// handlers and the disabled reconnect buffer cannot be overridden.
	NATSOptions []nats.Option
	// Heartbeat is the heartbeat period, DefaultHeartbeat if zero.
	Heartbeat time.Duration
	// Timeout ends a session when no frame of it was heard for this long,
	// DefaultTimeout if zero. It must exceed Heartbeat.
	Timeout time.Duration
	// Logf, if set, receives debug messages.
	Logf func(format string, args ...any)
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
	// one of ErrTimeout, ErrGap, ErrPeerBye, ErrPeerRestarted, ErrConnLost
	// or ErrClosed (or ErrOverflow). After Down, no frame of that session
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
	// frames of stale or unknown streams.
	Rejected uint64
	// SessionsUp counts sessions started.
	SessionsUp uint64
	// SessionsDown counts sessions ended.
	SessionsDown uint64
}

// validName reports whether s is a valid node or cluster name: 1 to 64
// ASCII letters, digits, '.', '_' or '-'. It is checked for every frame
// sent, so it is a loop over bytes rather than a regular expression (which
// took 40% of Send).
func validName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
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
	cfg     Config
	h       Handler
	self    wire.Node
	subject string
	prefix  string // "<cluster>.node."

	srv      *server.Server
	nc       *nats.Conn
	msgs     chan *nats.Msg
	ncClosed chan struct{}

	mu     sync.Mutex
	closed bool
	names  map[string]*nameRec
	queue  []event
	buf    []byte

	wake      chan struct{}
	stop      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error

	framesSent, framesReceived, malformed, rejected, sessionsUp, sessionsDown atomic.Uint64

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
	if h == nil {
		return nil, fmt.Errorf("%w: nil Handler", ErrInvalid)
	}
	if !validName(cfg.Name) {
		return nil, fmt.Errorf("%w: node name %q", ErrInvalid, cfg.Name)
	}
	if cfg.Cluster == "" {
		cfg.Cluster = DefaultCluster
	}
	if !validName(cfg.Cluster) || strings.HasPrefix(cfg.Cluster, ".") || strings.HasSuffix(cfg.Cluster, ".") || strings.Contains(cfg.Cluster, "..") {
		return nil, fmt.Errorf("%w: cluster %q", ErrInvalid, cfg.Cluster)
	}
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	if cfg.RouteListen == "" && len(cfg.Routes) > 0 && cfg.URL == "" {
		cfg.RouteListen = "127.0.0.1:0"
	}
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = DefaultHeartbeat
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Heartbeat < 0 || cfg.Timeout <= cfg.Heartbeat {
		return nil, fmt.Errorf("%w: Heartbeat %v, Timeout %v", ErrInvalid, cfg.Heartbeat, cfg.Timeout)
	}
	t := &Transport{
		cfg:      cfg,
		h:        h,
		self:     wire.Node{Name: cfg.Name, Inc: nonZero()},
		prefix:   cfg.Cluster + ".node.",
		msgs:     make(chan *nats.Msg, 1<<16),
		ncClosed: make(chan struct{}),
		names:    make(map[string]*nameRec),
		wake:     make(chan struct{}, 1),
		stop:     make(chan struct{}),
	}
	t.subject = t.prefix + cfg.Name
	if cfg.URL == "" {
		if err := t.startServer(); err != nil {
			return nil, err
		}
	}
	if err := t.connect(); err != nil {
		t.shutdownServer()
		return nil, err
	}
	t.wg.Add(2)
	go t.loop()
	go t.ticker()
	t.logf("started %v on %s", t.self, t.subject)
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
			opts.Routes = server.RoutesFromStr(strings.Join(t.cfg.Routes, ","))
		}
	}
	if t.cfg.ServerOptions != nil {
		t.cfg.ServerOptions(opts)
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

func (t *Transport) connect() error {
	opts := []nats.Option{
		nats.Name(t.cfg.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.ReconnectJitter(100*time.Millisecond, time.Second),
		nats.FlusherTimeout(t.cfg.Timeout),
	}
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
				t.connLost(ErrSlowConsumer)
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
	if _, err := nc.ChanSubscribe(t.subject, t.msgs); err != nil {
		t.closeConn(nc)
		return fmt.Errorf("transport: subscribe: %w", err)
	}
	if err := nc.FlushTimeout(10 * time.Second); err != nil {
		t.closeConn(nc)
		return fmt.Errorf("transport: subscribe: %w", err)
	}
	t.nc = nc
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

// ClientURL returns the embedded server's client URL, "" if the Transport
// connects to an external server.
func (t *Transport) ClientURL() string {
	if t.srv == nil {
		return ""
	}
	return t.srv.ClientURL()
}

// RouteURL returns the embedded server's route URL, "" if it has no route
// listener.
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
	return Stats{
		FramesSent:     t.framesSent.Load(),
		FramesReceived: t.framesReceived.Load(),
		Malformed:      t.malformed.Load(),
		Rejected:       t.rejected.Load(),
		SessionsUp:     t.sessionsUp.Load(),
		SessionsDown:   t.sessionsDown.Load(),
	}
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
	t.wg.Wait()
	t.closeConn(t.nc)
	t.shutdownServer()
	t.logf("closed")
	return nil
}

// connLost ends every session: after a connection loss or a slow consumer
// any frame may have been lost.
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

// signal wakes the dispatch loop.
func (t *Transport) signal() {
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// loop is the dispatch goroutine: it processes incoming messages and makes
// every Handler callback, in queue order.
func (t *Transport) loop() {
	defer t.wg.Done()
	for {
		t.drain()
		select {
		case <-t.stop:
			t.drain()
			return
		case m := <-t.msgs:
			t.handleMsg(m.Data)
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
		case now := <-tk.C:
			t.tick(now)
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
