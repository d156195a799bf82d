package transport

import (
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/backplane-go/backplane/cluster/internal/wire"
)

// longTimeout is a session timeout no test waits for: a Down within a test
// comes from something else.
const longTimeout = time.Minute

// gonePairs builds, in each topology where a node embeds the server it
// sees its peer by, a node "a" and a node "b" with a live session and a
// timeout no test waits for: b connected to a's embedded server, and b
// embedding a server of its own, joined to a's by a route. a's handler
// waits for hold to be closed, if not nil, before it takes its first
// frame after the session is up.
func gonePairs() map[string]func(t *testing.T, hold chan struct{}) (a, b *node) {
	cfg := Config{Heartbeat: 50 * time.Millisecond, Timeout: longTimeout}
	pair := func(t *testing.T, hold chan struct{}, ca, cb Config) (*node, *node) {
		ca.Name = "a"
		a := startHeld(t, ca, hold)
		cb.Name, cb.Secret = "b", a.Secret()
		if cb.RouteListen != "" {
			cb.Routes = []string{a.RouteURL()}
		} else {
			cb.URL = a.ClientURL()
		}
		b := start(t, cb)
		connect(t, a, b)
		return a, b
	}
	return map[string]func(t *testing.T, hold chan struct{}) (a, b *node){
		"client": func(t *testing.T, hold chan struct{}) (*node, *node) {
			return pair(t, hold, cfg, cfg)
		},
		"route": func(t *testing.T, hold chan struct{}) (*node, *node) {
			ca, cb := cfg, cfg
			ca.RouteListen, cb.RouteListen = "127.0.0.1:0", "127.0.0.1:0"
			return pair(t, hold, ca, cb)
		},
	}
}

// held is a rec whose second Receive waits for hold (the first is
// connect's).
type held struct {
	*rec
	hold chan struct{}
	n    int
}

func (h *held) Receive(f *wire.Frame) {
	if h.n++; h.n == 2 && h.hold != nil {
		<-h.hold
	}
	h.rec.Receive(f)
}

// startHeld is start with a held handler.
func startHeld(t *testing.T, cfg Config, hold chan struct{}) *node {
	t.Helper()
	r := newRec()
	tr, err := Start(full(cfg), &held{rec: r, hold: hold})
	if err != nil {
		t.Fatalf("Start(%s): %v", cfg.Name, err)
	}
	t.Cleanup(func() { tr.Close() })
	return &node{tr, r}
}

// A peer whose NATS connection closes without a Bye, as when its process
// is killed, is reported gone long before the timeout, after every frame it
// sent before, even those still waiting for the handler when the watch
// finds the peer gone.
func TestPeerGone(t *testing.T) {
	for name, mk := range gonePairs() {
		t.Run(name, func(t *testing.T) {
			hold := make(chan struct{})
			a, b := mk(t, hold)
			const n = 100
			for i := range n {
				send(t, b, msg(a.Self(), uint64(10+i)))
			}
			if err := b.nc.Flush(); err != nil {
				t.Fatal(err)
			}
			b.crash() // no Bye: the connection, and b's server, just close
			// a's handler holds the first frame; once the server has
			// forgotten b, the watch runs with the others still queued.
			deadline := time.Now().Add(wait)
			for a.interest(a.subjectTo("b")) {
				if time.Now().After(deadline) {
					t.Fatal("b's subscription outlived its connection")
				}
				runtime.Gosched()
			}
			a.watch(nil)
			close(hold)
			for i := range n {
				if f := a.r.frame(t); f.Target != uint64(10+i) {
					t.Fatalf("frame %d: got %+v", i, f)
				}
			}
			d := expectDown(t, a, b.Self(), ErrPeerGone)
			if d.reason.Error() != ErrPeerGone.Error() {
				t.Errorf("reason %q", d.reason)
			}
			a.r.noDown(t)
			if len(a.r.frames) != 0 {
				t.Fatal("a frame after the Down")
			}
		})
	}
}

// A peer that hangs keeps its connection open: it is found out by the
// timeout, not by the watch.
func TestHungPeerTimesOut(t *testing.T) {
	a := start(t, Config{Name: "a", Heartbeat: 50 * time.Millisecond, Timeout: time.Second})
	fw := forwarder(t, a.srv.Addr().String())
	b := start(t, Config{Name: "b", URL: fw.URL(), Secret: a.Secret(), Heartbeat: 50 * time.Millisecond, Timeout: time.Second})
	connect(t, a, b)
	fw.Blackhole() // the connection stays open, nothing flows
	expectDown(t, a, b.Self(), ErrTimeout)
	expectDown(t, b, a.Self(), ErrTimeout)
}

// Another client of the cluster, holding the secret, cannot make a node
// with an embedded server believe a peer gone: it cannot take the peer's
// subscription away, and a "no responders" it makes up is checked against
// the server's subscriptions.
func TestPeerGoneNotForged(t *testing.T) {
	for name, mk := range gonePairs() {
		t.Run(name, func(t *testing.T) {
			a, b := mk(t, nil)
			m, err := nats.Connect(a.ClientURL(), nats.Token(a.Secret()), nats.Name("b"))
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			// Subscribed to b's frames from a, then not; made-up
			// answers and junk on a's own subject; a connection named
			// after b that closes.
			sub, err := m.SubscribeSync("backplane.node.b.a")
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Flush(); err != nil {
				t.Fatal(err)
			}
			if err := sub.Unsubscribe(); err != nil {
				t.Fatal(err)
			}
			const n = 100
			for range n {
				if err := m.PublishMsg(fakeNoResponders("backplane.node.b.a")); err != nil {
					t.Fatal(err)
				}
				if err := m.Publish("backplane.node.a.a", []byte("junk")); err != nil {
					t.Fatal(err)
				}
			}
			if err := m.Flush(); err != nil {
				t.Fatal(err)
			}
			m.Close()
			// The watch runs now, whatever its ticker does.
			a.watch(nil)
			// A frame each way after all that: the session lives.
			connect(t, a, b)
			a.r.noDown(t)
			b.r.noDown(t)
			if st := a.Stats(); st.SessionsDown != 0 || st.Rejected < n || st.Malformed < n {
				t.Fatalf("a: %+v", st)
			}
		})
	}
}

// fakeNoResponders is a message that looks like a server's "no
// responders" answer to a frame on subject, sent to node a.
func fakeNoResponders(subject string) *nats.Msg {
	m := nats.NewMsg("backplane.node.a.a")
	m.Header.Set(statusHeader, noResponders)
	m.Header.Set(subjectHeader, subject)
	return m
}

// Nodes that connect to a NATS server of their own (URL) learn of a peer
// that left NATS from the server's "no responders" to their next frame, a
// heartbeat at the latest, after every frame the peer sent before.
func TestPeerGoneURL(t *testing.T) {
	s := hub(t, nil)
	cfg := Config{Heartbeat: 50 * time.Millisecond, Timeout: longTimeout, URL: s.ClientURL(), Secret: testSecret}
	ca, cb := cfg, cfg
	ca.Name, cb.Name = "a", "b"
	a, b := start(t, ca), start(t, cb)
	connect(t, a, b)
	const n = 100
	for i := range n {
		send(t, b, msg(a.Self(), uint64(10+i)))
	}
	b.crash()
	for i := range n {
		if f := a.r.frame(t); f.Target != uint64(10+i) {
			t.Fatalf("frame %d: got %+v", i, f)
		}
	}
	expectDown(t, a, b.Self(), ErrPeerGone)
	a.r.noDown(t)
}

// Under per-node credentials a member cannot publish on another node's own
// subject, where the servers' "no responders" arrive; they still arrive.
func TestPeerGoneNotForgedUsers(t *testing.T) {
	s := hub(t, func(o *server.Options) {
		o.Authorization = ""
		for _, u := range []string{"a", "b", "m"} {
			o.Users = append(o.Users, &server.User{Username: u, Password: "p" + u, Permissions: Permissions(testCluster, u)})
		}
	})
	cfg := Config{Heartbeat: 50 * time.Millisecond, Timeout: longTimeout, URL: s.ClientURL()}
	ca, cb := cfg, cfg
	ca.Name, ca.Password = "a", "pa"
	cb.Name, cb.Password = "b", "pb"
	a, b := start(t, ca), start(t, cb)
	connect(t, a, b)
	refused := make(chan error, 1)
	m, err := nats.Connect(s.ClientURL(), nats.UserInfo("m", "pm"), nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		select {
		case refused <- err:
		default:
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.PublishMsg(fakeNoResponders("backplane.node.b.a")); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-refused:
		if !errors.Is(err, nats.ErrPermissionViolation) {
			t.Fatalf("member's publish: %v", err)
		}
	case <-time.After(wait):
		t.Fatal("the member's publish on a's subject was not refused")
	}
	connect(t, a, b)
	a.r.noDown(t)
	b.r.noDown(t)
	// The servers' own answers still come: b's end is seen.
	b.crash()
	expectDown(t, a, b.Self(), ErrPeerGone)
}

// A peer killed and restarted under its name at once: the session with
// the old incarnation ends, the new one lives.
func TestPeerGoneRestarted(t *testing.T) {
	a := start(t, Config{Name: "a", Heartbeat: 50 * time.Millisecond, Timeout: longTimeout})
	cb := Config{Name: "b", URL: a.ClientURL(), Secret: a.Secret(), Heartbeat: 50 * time.Millisecond, Timeout: longTimeout}
	b1 := start(t, cb)
	connect(t, a, b1)
	b1.crash()
	b2 := start(t, cb)
	connect(t, a, b2)
	expectDown(t, a, b1.Self(), ErrPeerGone, ErrPeerRestarted)
	a.watch(nil)
	send(t, b2, msg(a.Self(), 3))
	if f := a.r.frame(t); f.Target != 3 || f.From != b2.Self() {
		t.Fatalf("a got %+v", f)
	}
	a.r.noDown(t)
}

// Without an embedded server there are no subscriptions to watch.
func TestNoWatchWithoutServer(t *testing.T) {
	s := hub(t, nil)
	a := start(t, Config{Name: "a", URL: s.ClientURL(), Secret: testSecret})
	if a.interest != nil {
		t.Fatal("a watches with no server of its own")
	}
}
