package transport

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"

	"github.com/backplane-go/backplane/cluster/internal/netfault"
	"github.com/backplane-go/backplane/cluster/internal/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// wait is the generous deadline for anything that must happen eventually.
const wait = 20 * time.Second

type downEv struct {
	peer   wire.Node
	reason error
}

// rec is a Handler that records callbacks on channels.
type rec struct {
	frames chan *wire.Frame
	downs  chan downEv

	mu       sync.Mutex
	inCall   bool
	overlaps int
}

func newRec() *rec {
	return &rec{frames: make(chan *wire.Frame, 1<<16), downs: make(chan downEv, 1<<16)}
}

func (r *rec) enter() {
	r.mu.Lock()
	if r.inCall {
		r.overlaps++
	}
	r.inCall = true
	r.mu.Unlock()
}

func (r *rec) leave() {
	r.mu.Lock()
	r.inCall = false
	r.mu.Unlock()
}

func (r *rec) Receive(f *wire.Frame) {
	r.enter()
	defer r.leave()
	r.frames <- f
}

func (r *rec) Down(peer wire.Node, reason error) {
	r.enter()
	defer r.leave()
	r.downs <- downEv{peer, reason}
}

func (r *rec) frame(t *testing.T) *wire.Frame {
	t.Helper()
	select {
	case f := <-r.frames:
		return f
	case <-time.After(wait):
		t.Fatalf("no frame within %v", wait)
		return nil
	}
}

func (r *rec) down(t *testing.T) downEv {
	t.Helper()
	select {
	case d := <-r.downs:
		return d
	case <-time.After(wait):
		t.Fatalf("no Down within %v", wait)
		return downEv{}
	}
}

// noDown fails if a Down was recorded.
func (r *rec) noDown(t *testing.T) {
	t.Helper()
	select {
	case d := <-r.downs:
		t.Fatalf("unexpected Down(%v, %v)", d.peer, d.reason)
	default:
	}
}

type node struct {
	*Transport
	r *rec
}

func start(t *testing.T, cfg Config) *node {
	t.Helper()
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = 50 * time.Millisecond
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 3 * time.Second
	}
	r := newRec()
	tr, err := Start(full(cfg), r)
	if err != nil {
		t.Fatalf("Start(%s): %v", cfg.Name, err)
	}
	n := &node{tr, r}
	t.Cleanup(func() {
		tr.Close()
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.overlaps != 0 {
			t.Errorf("%s: %d concurrent callbacks", cfg.Name, r.overlaps)
		}
	})
	return n
}

// testSecret is the token of the hub servers of the tests.
const testSecret = "hub-secret"

// hub starts a stand-alone NATS server that requires testSecret.
func hub(t *testing.T, edit func(*server.Options)) *server.Server {
	t.Helper()
	opts := &server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true, Authorization: testSecret}
	if edit != nil {
		edit(opts)
	}
	s, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("hub not ready")
	}
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	return s
}

func forwarder(t *testing.T, target string) *netfault.Forwarder {
	t.Helper()
	f, err := netfault.Listen(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// rawConn connects to a hub with its secret, for publishing frames by hand.
func rawConn(t *testing.T, url string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url, nats.Token(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// msg is a user frame from a to b carrying n.
func msg(to wire.Node, n uint64) *wire.Frame {
	return &wire.Frame{Kind: wire.KindShutdown, To: to, Target: n}
}

func send(t *testing.T, from *node, f *wire.Frame) {
	t.Helper()
	if err := from.Send(f); err != nil {
		t.Fatalf("%v: Send(%v to %v): %v", from.Self(), f.Kind, f.To, err)
	}
}

// connect makes sure a live session exists between a and b, with a frame
// delivered each way.
func connect(t *testing.T, a, b *node) {
	t.Helper()
	send(t, a, msg(b.Self(), 1))
	if f := b.r.frame(t); f.Target != 1 || f.From != a.Self() {
		t.Fatalf("b got %+v", f)
	}
	send(t, b, msg(a.Self(), 1))
	if f := a.r.frame(t); f.Target != 1 || f.From != b.Self() {
		t.Fatalf("a got %+v", f)
	}
}

func expectDown(t *testing.T, n *node, peer wire.Node, want ...error) downEv {
	t.Helper()
	d := n.r.down(t)
	if d.peer != peer {
		t.Fatalf("%s: Down(%v, %v), want peer %v", n.Self().Name, d.peer, d.reason, peer)
	}
	for _, w := range want {
		if errors.Is(d.reason, w) {
			return d
		}
	}
	if len(want) > 0 {
		t.Fatalf("%s: Down(%v, %v), want one of %v", n.Self().Name, d.peer, d.reason, want)
	}
	return d
}

// pairs builds two connected-by-NATS nodes in each supported topology.
func pairs(t *testing.T, cfg Config) map[string]func(t *testing.T) (a, b *node) {
	return map[string]func(t *testing.T) (a, b *node){
		"routes": func(t *testing.T) (*node, *node) {
			ca, cb := cfg, cfg
			ca.Name, ca.RouteListen = "a", "127.0.0.1:0"
			a := start(t, ca)
			cb.Name, cb.RouteListen, cb.Routes, cb.Secret = "b", "127.0.0.1:0", []string{a.RouteURL()}, a.Secret()
			b := start(t, cb)
			return a, b
		},
		"shared": func(t *testing.T) (*node, *node) {
			s := hub(t, nil)
			ca, cb := cfg, cfg
			ca.Name, ca.URL, ca.Secret = "a", s.ClientURL(), testSecret
			cb.Name, cb.URL, cb.Secret = "b", s.ClientURL(), testSecret
			return start(t, ca), start(t, cb)
		},
	}
}

func TestOrderedExactlyOnce(t *testing.T) {
	const senders, each = 4, 300
	for name, mk := range pairs(t, Config{}) {
		t.Run(name, func(t *testing.T) {
			a, b := mk(t)
			var wg sync.WaitGroup
			errs := make(chan error, 2*senders)
			for _, dir := range [][2]*node{{a, b}, {b, a}} {
				from, to := dir[0], dir[1]
				for s := range senders {
					wg.Go(func() {
						for i := range each {
							f := msg(to.Self(), uint64(s)<<32|uint64(i+1))
							if err := from.Send(f); err != nil {
								errs <- err
								return
							}
						}
					})
				}
			}
			check := func(n *node, peer wire.Node) {
				next := make([]uint64, senders)
				for range senders * each {
					f := n.r.frame(t)
					if f.From != peer || f.To != n.Self() {
						t.Fatalf("frame %v -> %v, want %v -> %v", f.From, f.To, peer, n.Self())
					}
					s, i := f.Target>>32, f.Target&(1<<32-1)
					if s >= senders || i != next[s]+1 {
						t.Fatalf("%s: from sender %d got %d, want %d", n.Self().Name, s, i, next[s]+1)
					}
					next[s] = i
				}
			}
			check(a, b.Self())
			check(b, a.Self())
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			a.r.noDown(t)
			b.r.noDown(t)
			if n := len(a.r.frames) + len(b.r.frames); n != 0 {
				t.Fatalf("%d extra frames", n)
			}

			// Peer Close: a says Bye, b learns at once (well before its timeout).
			start := time.Now()
			a.Close()
			expectDown(t, a, b.Self(), ErrClosed)
			expectDown(t, b, a.Self(), ErrPeerBye)
			if el := time.Since(start); el > wait {
				t.Fatalf("Down after %v", el)
			}
			if err := a.Send(msg(b.Self(), 1)); !errors.Is(err, ErrClosed) {
				t.Fatalf("Send after Close: %v", err)
			}
			st := b.Stats()
			if st.SessionsUp != 1 || st.SessionsDown != 1 || st.Malformed != 0 {
				t.Fatalf("b stats %+v", st)
			}
		})
	}
}

func TestBlackholeTimeout(t *testing.T) {
	s := hub(t, nil)
	fw := forwarder(t, s.Addr().String())
	a, b, _ := connectedPair(t, fw.URL(), s.ClientURL(), time.Second)

	fw.Blackhole()
	expectDown(t, a, b.Self(), ErrTimeout)
	expectDown(t, b, a.Self(), ErrTimeout)

	a.Close()
	b.Close()
	a.r.noDown(t)
	b.r.noDown(t)
	if len(a.r.frames)+len(b.r.frames) != 0 {
		t.Fatal("frames delivered during the blackhole")
	}
}

func TestCutAndRecover(t *testing.T) {
	s := hub(t, nil)
	fw := forwarder(t, s.Addr().String())
	a, b, _ := connectedPair(t, fw.URL(), s.ClientURL(), time.Second)
	oldTx, oldRx, oldSeq, ok := a.epochs(b.Self())
	if !ok {
		t.Fatal("no session")
	}
	reconnected := make(chan struct{}, 1)
	hook := func() {
		select {
		case reconnected <- struct{}{}:
		default:
		}
	}
	a.onReconnect.Store(&hook)

	fw.Cut()
	expectDown(t, a, b.Self(), ErrConnLost)
	// b learns from the server, which forgot a's subscription (or from
	// a's Bye, or its timeout).
	expectDown(t, b, a.Self(), ErrPeerGone, ErrTimeout, ErrPeerBye)
	if err := a.Send(msg(b.Self(), 2)); !errors.Is(err, ErrSessionDown) {
		t.Fatalf("Send while cut: %v", err)
	}
	expectDown(t, a, b.Self(), ErrConnLost) // owed for the failed Send

	fw.Pass()
	select {
	case <-reconnected:
	case <-time.After(wait):
		t.Fatal("no reconnect")
	}
	send(t, a, msg(b.Self(), 3))
	if f := b.r.frame(t); f.Target != 3 {
		t.Fatalf("b got %+v", f)
	}
	tx, rx, _, ok := a.epochs(b.Self())
	if !ok || tx == oldTx || rx == oldRx {
		t.Fatalf("new session epochs %x/%x (ok %v), old %x/%x", tx, rx, ok, oldTx, oldRx)
	}

	// A stale frame of a's old stream reaches b: counted and dropped, the
	// new session is unaffected.
	rejected := b.Stats().Rejected
	nc := rawConn(t, s.ClientURL())
	stale := &wire.Frame{Kind: wire.KindShutdown, From: a.Self(), To: b.Self(), Epoch: oldTx, Seq: oldSeq + 1, Target: 99}
	data, err := wire.Append(nil, stale)
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Publish("backplane.node.b.a", data); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	// b handles messages in order per publisher but not across publishers:
	// wait until the stale frame was counted, through a frame on the raw
	// connection that follows it.
	lookup := &wire.Frame{Kind: wire.KindLookup, From: wire.Node{Name: "probe", Inc: 7}, To: wire.Node{Name: "b"}, Ref: 1, Name: "x"}
	data, _ = wire.Append(nil, lookup)
	nc.Publish("backplane.node.b.probe", data)
	if f := b.r.frame(t); f.Kind != wire.KindLookup {
		t.Fatalf("b got %+v", f)
	}
	if got := b.Stats().Rejected; got <= rejected {
		t.Fatalf("stale frame not rejected: %d -> %d", rejected, got)
	}
	send(t, a, msg(b.Self(), 4))
	if f := b.r.frame(t); f.Target != 4 {
		t.Fatalf("b got %+v", f)
	}
	send(t, b, msg(a.Self(), 5))
	if f := a.r.frame(t); f.Target != 5 {
		t.Fatalf("a got %+v", f)
	}
	a.r.noDown(t)
	b.r.noDown(t)
}

// connectedPair starts nodes "a" and "b", connected to the NATS servers at
// urlA and urlB (a forwarder, or the same server), with the given timeout,
// and opens a session between them; it returns b's config, to start b
// again.
func connectedPair(t *testing.T, urlA, urlB string, timeout time.Duration) (a, b *node, cb Config) {
	t.Helper()
	cfg := Config{Timeout: timeout, Heartbeat: 50 * time.Millisecond, Secret: testSecret}
	ca := cfg
	cb = cfg
	ca.Name, ca.URL = "a", urlA
	cb.Name, cb.URL = "b", urlB
	a, b = start(t, ca), start(t, cb)
	connect(t, a, b)
	return a, b, cb
}

// restartPair starts two nodes on one server, connected, with a timeout
// long enough that only a restart can end their session in a test. A
// stand-in connection keeps an interest in b's subjects, as a b restarted
// on another server would before that server learned the old connection
// had closed: a's frames to the crashed b are then not answered "no
// responders" (ErrPeerGone), and the restart alone can end the session.
func restartPair(t *testing.T) (a, b *node, cb Config) {
	t.Helper()
	s := hub(t, nil)
	a, b, cb = connectedPair(t, s.ClientURL(), s.ClientURL(), 20*time.Second)
	standIn := rawConn(t, s.ClientURL())
	if _, err := standIn.Subscribe("backplane.node.b.*", func(*nats.Msg) {}); err != nil {
		t.Fatal(err)
	}
	if err := standIn.Flush(); err != nil {
		t.Fatal(err)
	}
	return a, b, cb
}

func TestRestartedPeer(t *testing.T) {
	a, b1, cb := restartPair(t)

	b1.crash() // no Bye
	expectDown(t, b1, a.Self(), ErrClosed)
	b2 := start(t, cb)
	if b2.Self() == b1.Self() {
		t.Fatal("same incarnation")
	}
	// a's heartbeats to b1 reach b2, which rejects them; a learns long
	// before its 20s timeout.
	expectDown(t, a, b1.Self(), ErrPeerRestarted)
	if err := a.Send(msg(b1.Self(), 2)); !errors.Is(err, ErrSessionDown) || !errors.Is(err, ErrPeerRestarted) {
		t.Fatalf("Send to dead incarnation: %v", err)
	}
	expectDown(t, a, b1.Self(), ErrPeerRestarted) // owed for the failed Send
	if b2.Stats().Rejected == 0 {
		t.Fatal("b2 rejected nothing")
	}
	connect(t, a, b2)
	a.r.noDown(t)
	b2.r.noDown(t)
}

func TestRestartedPeerSpeaksFirst(t *testing.T) {
	a, b1, cb := restartPair(t)
	b1.crash()
	b2 := start(t, cb)
	send(t, b2, msg(a.Self(), 7))
	expectDown(t, a, b1.Self(), ErrPeerRestarted)
	if f := a.r.frame(t); f.Target != 7 || f.From != b2.Self() {
		t.Fatalf("a got %+v", f)
	}
}

func TestGap(t *testing.T) {
	for name, mk := range pairs(t, Config{}) {
		t.Run(name, func(t *testing.T) {
			a, b := mk(t)
			connect(t, a, b)
			drop := func(f *wire.Frame) bool { return f.Kind == wire.KindShutdown && f.Target == 5 }
			b.dropHook.Store(&drop)
			for i := uint64(2); i <= 10; i++ {
				if err := a.Send(msg(b.Self(), i)); err != nil && !errors.Is(err, ErrSessionDown) {
					t.Fatal(err)
				}
			}
			var epoch uint64
			for i := uint64(2); i <= 4; i++ {
				f := b.r.frame(t)
				if f.Target != i {
					t.Fatalf("got %d, want %d", f.Target, i)
				}
				epoch = f.Epoch
			}
			expectDown(t, b, a.Self(), ErrGap)
			expectDown(t, a, b.Self(), ErrPeerBye)
			a.Close()
			b.Close()
			// The sends that came after a heard the Bye open a new session,
			// which may deliver frames and ends at Close; nothing of the
			// session with the gap is delivered after it.
			for len(b.r.frames) > 0 {
				if f := <-b.r.frames; f.Epoch == epoch {
					t.Fatalf("frame %d of the broken stream delivered after the gap", f.Target)
				}
			}
			// The new session ends as the first Close ends it: a's Bye
			// may reach b before b closes.
			for len(b.r.downs) > 0 {
				if d := <-b.r.downs; !errors.Is(d.reason, ErrClosed) && !errors.Is(d.reason, ErrPeerBye) {
					t.Fatalf("unexpected Down(%v, %v)", d.peer, d.reason)
				}
			}
		})
	}
}

func TestMalformed(t *testing.T) {
	s := hub(t, func(o *server.Options) { o.MaxPayload = 4 << 20 })
	b := start(t, Config{Name: "b", URL: s.ClientURL(), Secret: testSecret})
	nc := rawConn(t, s.ClientURL())
	good, err := wire.Append(nil, &wire.Frame{Kind: wire.KindLookup, From: wire.Node{Name: "probe", Inc: 7}, To: wire.Node{Name: "b"}, Ref: 1, Name: "x"})
	if err != nil {
		t.Fatal(err)
	}
	bad := [][]byte{
		nil,
		[]byte("garbage"),
		good[:len(good)-1],
		append(append([]byte(nil), good...), 0),
		make([]byte, wire.MaxFrameSize+1),
	}
	for _, m := range bad {
		if err := nc.Publish("backplane.node.b.probe", m); err != nil {
			t.Fatal(err)
		}
	}
	nc.Publish("backplane.node.b.probe", good)
	if f := b.r.frame(t); f.Kind != wire.KindLookup || f.Ref != 1 {
		t.Fatalf("got %+v", f)
	}
	if st := b.Stats(); st.Malformed != uint64(len(bad)) {
		t.Fatalf("stats %+v, want %d malformed", st, len(bad))
	}
}

func TestWrongIncarnationAndInvalid(t *testing.T) {
	s := hub(t, nil)
	b := start(t, Config{Name: "b", URL: s.ClientURL(), Secret: testSecret})
	nc := rawConn(t, s.ClientURL())
	replies := make(chan *nats.Msg, 16)
	if _, err := nc.ChanSubscribe("backplane.node.probe.*", replies); err != nil {
		t.Fatal(err)
	}
	nc.Flush()
	f := &wire.Frame{Kind: wire.KindHello, From: wire.Node{Name: "probe", Inc: 7}, To: wire.Node{Name: "b", Inc: b.Self().Inc + 1}, Epoch: 42, Seq: 1}
	data, _ := wire.Append(nil, f)
	nc.Publish("backplane.node.b.probe", data)
	select {
	case m := <-replies:
		bye, err := wire.Decode(m.Data)
		if err != nil || bye.Kind != wire.KindBye || bye.Epoch != 42 || bye.From != b.Self() {
			t.Fatalf("reply %+v, %v", bye, err)
		}
	case <-time.After(wait):
		t.Fatal("no Bye")
	}
	if b.Stats().Rejected != 1 {
		t.Fatalf("stats %+v", b.Stats())
	}
	for _, f := range []*wire.Frame{
		nil,
		{Kind: wire.KindHello, To: wire.Node{Name: "a", Inc: 1}},
		{Kind: wire.KindShutdown, To: wire.Node{Name: "b", Inc: 1}, Target: 1},   // self
		{Kind: wire.KindShutdown, To: wire.Node{Name: "a b", Inc: 1}, Target: 1}, // bad name
		{Kind: wire.KindShutdown, To: wire.Node{Name: "a"}, Target: 1},           // no incarnation
		{Kind: wire.KindShutdown, To: wire.Node{Name: "a", Inc: 1}},              // no Target
	} {
		if err := b.Send(f); err == nil || errors.Is(err, ErrSessionDown) {
			t.Fatalf("Send(%+v) = %v", f, err)
		}
	}
	// An unanswered session times out; Down is still exactly once.
	send(t, b, msg(wire.Node{Name: "nobody", Inc: 1}, 1))
	expectDown(t, b, wire.Node{Name: "nobody", Inc: 1}, ErrTimeout)
	b.Close()
	b.r.noDown(t)
	if _, err := Start(full(Config{Name: "bad name"}), newRec()); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Start: %v", err)
	}
	if _, err := Start(full(Config{Name: "x", Heartbeat: time.Second, Timeout: time.Second}), newRec()); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Start: %v", err)
	}
	// The transport applies no default: cluster.Config's are applied by
	// package cluster.
	for _, cfg := range []Config{{Name: "x"}, full(Config{Name: "x", Heartbeat: -1}), {Name: "x", Cluster: "c", Heartbeat: time.Second, Timeout: 2 * time.Second}} {
		if tr, err := Start(cfg, newRec()); !errors.Is(err, ErrInvalid) {
			if err == nil {
				tr.Close()
			}
			t.Errorf("Start(%+v): %v, want ErrInvalid", cfg, err)
		}
	}
}
