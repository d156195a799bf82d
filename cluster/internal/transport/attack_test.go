package transport

import (
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"golang.org/x/crypto/bcrypt"

	"github.com/backplane-go/backplane/cluster/internal/wire"
)

// An attacker in the tests: a NATS client that holds either the cluster
// secret ("secret": a trusted node gone bad, or a leaked cookie) or valid
// credentials of its own, node "evil" ("users": per-node credentials).

// arena is node a, embedding the server, node b connected to it with a
// live session, and the attacker's connection.
type arena struct {
	a, b   *node
	evil   *nats.Conn
	errs   chan error // the attacker's asynchronous NATS errors
	sender string     // the subject sender token the attacker may use
}

// hash returns a cheap bcrypt hash of pw, for tests.
func hash(t *testing.T, pw string) string {
	t.Helper()
	b, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func newArena(t *testing.T, mode string) *arena {
	t.Helper()
	ar := &arena{errs: make(chan error, 1024)}
	ca := Config{Name: "a", Timeout: 5 * time.Second}
	cb := Config{Name: "b", Timeout: 5 * time.Second}
	var creds nats.Option
	switch mode {
	case "secret":
		ar.a = start(t, ca)
		cb.Secret = ar.a.Secret()
		creds = nats.Token(ar.a.Secret())
	case "users":
		ca.Users = map[string]string{"a": hash(t, "pa"), "b": hash(t, "pb"), "evil": hash(t, "pe")}
		ca.Password = "pa"
		ar.a = start(t, ca)
		cb.Password = "pb"
		creds = nats.UserInfo("evil", "pe")
	default:
		t.Fatalf("mode %q", mode)
	}
	cb.URL = ar.a.ClientURL()
	ar.b = start(t, cb)
	connect(t, ar.a, ar.b)
	nc, err := nats.Connect(ar.a.ClientURL(), creds, nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		select {
		case ar.errs <- err:
		default:
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	ar.evil = nc
	ar.sender = "evil"
	return ar
}

// publish sends f to a on the subject with the given sender token.
func (ar *arena) publish(t *testing.T, sender string, f *wire.Frame) {
	t.Helper()
	data, err := wire.Append(nil, f)
	if err != nil {
		t.Fatal(err)
	}
	if err := ar.evil.Publish("backplane.node.a."+sender, data); err != nil {
		t.Fatal(err)
	}
}

// sync makes sure a has handled everything the attacker published so far:
// a session-less Lookup from the attacker's own name follows it on the
// same connection, and a delivers it.
func (ar *arena) sync(t *testing.T) {
	t.Helper()
	ref := uint64(time.Now().UnixNano())
	ar.publish(t, ar.sender, &wire.Frame{Kind: wire.KindLookup, From: wire.Node{Name: ar.sender, Inc: 1}, To: wire.Node{Name: "a"}, Ref: ref, Name: "sync"})
	for {
		f := ar.a.r.frame(t)
		if f.Kind == wire.KindLookup && f.Ref == ref {
			return
		}
		if f.From.Name == "b" && f.Kind != wire.KindLookup {
			t.Fatalf("a received from b: %+v", f)
		}
	}
}

// noDownOf fails if n saw a Down of peer; it drops the others.
func noDownOf(t *testing.T, n *node, peer wire.Node) {
	t.Helper()
	for len(n.r.downs) > 0 {
		if d := <-n.r.downs; d.peer == peer {
			t.Fatalf("%v: Down(%v, %v)", n.Self(), d.peer, d.reason)
		}
	}
}

// alive checks that the session between a and b still carries frames both
// ways and that neither side saw it end.
func (ar *arena) alive(t *testing.T, n uint64) {
	t.Helper()
	noDownOf(t, ar.a, ar.b.Self())
	ar.b.r.noDown(t)
	send(t, ar.a, msg(ar.b.Self(), n))
	if f := ar.b.r.frame(t); f.Target != n || f.From != ar.a.Self() {
		t.Fatalf("b got %+v", f)
	}
	send(t, ar.b, msg(ar.a.Self(), n))
	if f := ar.a.r.frame(t); f.Target != n || f.From != ar.b.Self() {
		t.Fatalf("a got %+v", f)
	}
	noDownOf(t, ar.a, ar.b.Self())
	ar.b.r.noDown(t)
}

// Attack 3: one unsequenced heartbeat claiming to be b at the next
// incarnation used to end a's session with b for good. Now only a Hello
// may open a stream, and not while another incarnation of b has a live
// session; with per-node credentials the attacker cannot even claim b.
func TestAttackForgedIncarnation(t *testing.T) {
	for _, mode := range []string{"secret", "users"} {
		t.Run(mode, func(t *testing.T) {
			ar := newArena(t, mode)
			b2 := wire.Node{Name: "b", Inc: ar.b.Self().Inc + 1}
			sender := "b" // claims b's subject: refused by NATS under per-node credentials
			forged := []*wire.Frame{
				{Kind: wire.KindHeartbeat, From: b2, To: ar.a.Self(), Epoch: 42, Seq: 5},
				{Kind: wire.KindHello, From: b2, To: ar.a.Self(), Epoch: 43, Seq: 1},
				{Kind: wire.KindHello, From: ar.b.Self(), To: ar.a.Self(), Epoch: 44, Seq: 1},
				{Kind: wire.KindShutdown, From: b2, To: ar.a.Self(), Epoch: 45, Seq: 2, Target: 1},
				{Kind: wire.KindBye, From: b2, To: ar.a.Self(), Epoch: 46},
			}
			for _, f := range forged {
				ar.publish(t, sender, f)
				ar.publish(t, ar.sender, f) // from the attacker's own subject
			}
			ar.sync(t)
			st := ar.a.Stats()
			switch mode {
			case "secret":
				if st.Unknown+st.Rejected == 0 || st.Forged == 0 {
					t.Fatalf("stats %+v", st)
				}
			case "users":
				if st.Forged != uint64(len(forged)) {
					t.Fatalf("stats %+v: want %d forged", st, len(forged))
				}
				select {
				case err := <-ar.errs:
					if !strings.Contains(strings.ToLower(err.Error()), "permissions violation") {
						t.Fatalf("attacker's error: %v", err)
					}
				case <-time.After(wait):
					t.Fatal("publishing as b was not refused")
				}
			}
			ar.alive(t, 2)
		})
	}
}

// Attack 4: a flood of heartbeats from made-up node names used to grow a's
// heap for good, be answered with a Bye each, and end every session when
// the NATS client fell behind. Now frames from senders without a session
// are dropped before decoding, unanswered, leaving no record; Hellos from
// made-up names open at most MaxHalfOpen sessions, answered once each.
func TestAttackFlood(t *testing.T) {
	const flood, every = 300_000, 128 // one Hello every 128 frames: 2,344 of them
	for _, mode := range []string{"secret", "users"} {
		t.Run(mode, func(t *testing.T) {
			ar := newArena(t, mode)
			// What a sends that is not for b reaches the attacker: count it.
			var replies atomic.Int64
			inbox := "backplane.node.*.a"
			if mode == "users" {
				inbox = "backplane.node.evil.*"
			}
			if _, err := ar.evil.Subscribe(inbox, func(m *nats.Msg) {
				if !strings.HasPrefix(m.Subject, "backplane.node.b.") {
					replies.Add(1)
				}
			}); err != nil {
				t.Fatal(err)
			}
			ar.sync(t)
			before := heap()
			for i := range flood {
				name := fmt.Sprintf("f%d", i)
				sender := name
				if mode == "users" {
					sender = ar.sender // the only subject it may publish on
				}
				kind, seq := wire.KindHeartbeat, uint64(7)
				if i%every == 0 {
					kind, seq = wire.KindHello, 1
				}
				ar.publish(t, sender, &wire.Frame{Kind: kind, From: wire.Node{Name: name, Inc: uint64(i + 1)}, To: ar.a.Self(), Epoch: uint64(i + 1), Seq: seq})
			}
			ar.sync(t)
			after := heap()
			st := ar.a.Stats()
			t.Logf("%s: heap %+d KiB, stats %+v, %d frames to the attacker", mode, (after-before)>>10, st, replies.Load())
			const hellos = (flood + every - 1) / every
			opened := st.SessionsUp - 1 // all but the session with b
			switch mode {
			case "secret":
				// Every Hello opened a session or, while MaxHalfOpen were
				// half-open, was dropped; how many of each depends on how
				// fast the flood went, against the timeout.
				if st.Unknown < flood-hellos || opened+st.Dropped != hellos {
					t.Fatalf("stats %+v", st)
				}
			case "users":
				if st.Forged < flood {
					t.Fatalf("stats %+v", st)
				}
			}
			// Bounded memory: at most MaxHalfOpen sessions and as many
			// tombstones, 2 KiB each with generous slack, and 4 MiB for the
			// rest of the process.
			if limit := int64(2*MaxHalfOpen*2<<10 + 4<<20); after-before > limit {
				t.Fatalf("heap grew by %d KiB, over %d KiB", (after-before)>>10, limit>>10)
			}
			// No reply storm: for each session opened, its Hello and the
			// Bye when it times out; nothing for the heartbeats.
			if n := replies.Load(); n > 2*int64(opened) {
				t.Fatalf("%d frames to the attacker for %d sessions opened", n, opened)
			}
			ar.alive(t, 2)
		})
	}
}

// heap returns the bytes of live heap objects after a collection.
func heap() int64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// A node with valid credentials of its own cannot speak for another: NATS
// refuses its frames on another node's subject and its subscription to
// another node's frames; on its own subject, a frame claiming another
// sender is dropped as forged. Under the shared secret, every node is
// trusted with the subjects (the cookie model), but the sender check
// still holds.
func TestAttackImpersonation(t *testing.T) {
	for _, mode := range []string{"secret", "users"} {
		t.Run(mode, func(t *testing.T) {
			ar := newArena(t, mode)
			// Reading a's frames.
			var read atomic.Int64
			readOne := make(chan struct{}, 1)
			if _, err := ar.evil.Subscribe("backplane.node.a.*", func(*nats.Msg) {
				read.Add(1)
				select {
				case readOne <- struct{}{}:
				default:
				}
			}); err != nil {
				t.Fatal(err)
			}
			if err := ar.evil.Flush(); err != nil {
				t.Fatal(err)
			}
			// A session-less Lookup as b on b's subject, and as b on the
			// attacker's own subject.
			lookup := &wire.Frame{Kind: wire.KindLookup, From: ar.b.Self(), To: wire.Node{Name: "a"}, Ref: 99, Name: "svc"}
			ar.publish(t, "b", lookup)
			ar.publish(t, ar.sender, lookup)
			ar.sync(t)
			st := ar.a.Stats()
			if st.Forged != 1 {
				t.Fatalf("stats %+v: want 1 forged", st)
			}
			switch mode {
			case "users":
				for len(ar.a.r.frames) > 0 {
					if f := <-ar.a.r.frames; f.Ref == 99 {
						t.Fatalf("a received the lookup forged as b: %+v", f)
					}
				}
				ar.alive(t, 2) // b's frames to a go out meanwhile
				if n := read.Load(); n != 0 {
					t.Fatalf("the attacker read %d frames to a", n)
				}
				// The server reports the violation to the attacker's
				// connection on its own schedule: wait for it.
				timeout := time.After(10 * time.Second)
				for violated := false; !violated; {
					select {
					case err := <-ar.errs:
						violated = strings.Contains(strings.ToLower(err.Error()), "permissions violation")
					case <-timeout:
						t.Fatal("no permissions violation reported to the attacker")
					}
				}
			case "secret":
				ar.alive(t, 2)
				// The attacker's connection is told of b's frame to a on
				// its own schedule: wait for it.
				select {
				case <-readOne:
				case <-time.After(10 * time.Second):
					t.Fatal("under the shared secret the attacker should read a's frames (the cookie model)")
				}
			}
		})
	}
}
