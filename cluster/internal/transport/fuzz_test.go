package transport

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/backplane-go/backplane/cluster/internal/wire"
)

// memNet joins two in-memory Transports, a (under attack) and b (its real
// peer), through lossless in-order queues, and lets a forger publish
// frames to a. Time moves only when the harness says.
type memNet struct {
	t       testing.TB
	now     time.Time
	a, b    *Transport
	ra, rb  *memRec
	toA     []memMsg
	toB     []memMsg
	replies int  // frames a published to anyone but b
	forged  int  // frames the forger published
	closing bool // the Transports are being closed: Downs are due

	sentAB, sentBA uint64 // data frames sent on the real session
}

type memMsg struct {
	subject string
	data    []byte
}

// memRec records callbacks and checks, as they come, that the real
// session's data frames arrive in order, exactly once.
type memRec struct {
	net    *memNet
	self   string
	peer   func() wire.Node
	next   uint64 // the next Target expected from the real peer
	downs  int
	failed error
}

func (r *memRec) Receive(f *wire.Frame) {
	if f.From.Name != r.peer().Name || f.Kind == wire.KindLookup {
		return // the forger's own sessions and session-less lookups
	}
	if f.From != r.peer() || f.Kind != wire.KindShutdown || f.Target != r.next+1 {
		r.fail(fmt.Errorf("%s received %v from %v, target %d, want target %d from %v", r.self, f.Kind, f.From, f.Target, r.next+1, r.peer()))
		return
	}
	r.next++
}

func (r *memRec) Down(peer wire.Node, reason error) {
	r.downs++
	if peer == r.peer() && !r.net.closing {
		r.fail(fmt.Errorf("%s: the real session with %v ended: %v", r.self, peer, reason))
	}
}

func (r *memRec) fail(err error) {
	if r.failed == nil {
		r.failed = err
	}
}

func newMemNet(t testing.TB) *memNet {
	n := &memNet{t: t, now: time.Unix(1e9, 0)}
	clock := func() time.Time { return n.now }
	cfg := Config{Heartbeat: 100 * time.Millisecond, Timeout: time.Second}
	n.ra = &memRec{net: n, self: "a", peer: func() wire.Node { return n.b.Self() }}
	n.rb = &memRec{net: n, self: "b", peer: func() wire.Node { return n.a.Self() }}
	var err error
	cfg.Name = "a"
	if n.a, err = newMem(cfg, n.ra, clock, n.route); err != nil {
		t.Fatal(err)
	}
	cfg.Name = "b"
	if n.b, err = newMem(cfg, n.rb, clock, n.route); err != nil {
		t.Fatal(err)
	}
	return n
}

// route is what the Transports publish with.
func (n *memNet) route(subject string, data []byte) error {
	rest := strings.TrimPrefix(subject, testCluster+".node.")
	to, _, _ := strings.Cut(rest, ".")
	m := memMsg{subject, append([]byte(nil), data...)}
	switch to {
	case "a":
		n.toA = append(n.toA, m)
	case "b":
		n.toB = append(n.toB, m)
	default:
		n.replies++
	}
	return nil
}

// flush delivers every queued real frame, both ways, until none is left.
func (n *memNet) flush() {
	for i := 0; len(n.toA)+len(n.toB) > 0; i++ {
		if i > 1e5 {
			n.t.Fatal("frames keep coming")
		}
		n.stepA()
		n.stepB()
	}
}

func (n *memNet) stepA() {
	if len(n.toA) > 0 {
		m := n.toA[0]
		n.toA = n.toA[1:]
		n.a.deliver(m.subject, m.data)
	}
}

func (n *memNet) stepB() {
	if len(n.toB) > 0 {
		m := n.toB[0]
		n.toB = n.toB[1:]
		n.b.deliver(m.subject, m.data)
	}
}

// advance moves time by d, after delivering what is in flight, so that the
// real session never times out, and runs both tickers.
func (n *memNet) advance(d time.Duration) {
	n.flush()
	n.now = n.now.Add(d)
	n.a.memTick()
	n.b.memTick()
	n.flush()
}

func (n *memNet) send(from, to *Transport, target *uint64) {
	*target++
	if err := from.Send(&wire.Frame{Kind: wire.KindShutdown, To: to.Self(), Target: *target}); err != nil {
		n.t.Fatalf("%v: Send to %v: %v", from.Self(), to.Self(), err)
	}
}

// connect opens the real session: a frame each way, delivered.
func (n *memNet) connect() {
	n.send(n.b, n.a, &n.sentBA)
	n.flush()
	n.send(n.a, n.b, &n.sentAB)
	n.flush()
	if _, rx, _, ok := n.a.epochs(n.b.Self()); !ok || rx == 0 {
		n.t.Fatal("no session")
	}
}

// forge publishes to a the frame that the bytes of p describe: a kind, a
// claimed sender (the real peer's name or another), incarnations, an
// epoch, a Seq and an Ack chosen among what a forger who does not know
// the live session's epochs could send, and whether the subject's sender
// token matches the claimed name. It returns how many bytes it used.
func (n *memNet) forge(p []byte) int {
	var b [12]byte
	used := copy(b[:], p)
	kind := wire.Kind(1 + b[0]%11)
	names := []string{"b", "b", "evil", "x" + fmt.Sprint(b[1]%64), "a", "y.z"}
	from := wire.Node{Name: names[b[1]%6], Inc: uint64(b[2]) + 1}
	switch b[3] % 4 {
	case 0:
		if from.Name == "b" {
			from.Inc = n.b.Self().Inc
		}
	case 1:
		if from.Name == "b" {
			from.Inc = n.b.Self().Inc + 1
		}
	}
	to := wire.Node{Name: "a", Inc: n.a.Self().Inc}
	switch b[4] % 5 {
	case 0:
		to.Inc = 0
	case 1:
		to.Inc = n.a.Self().Inc + 1
	case 2:
		to.Name = "c"
	}
	epoch := uint64(binary.LittleEndian.Uint16(b[5:7]))
	f := &wire.Frame{Kind: kind, From: from, To: to, Epoch: epoch, Seq: uint64(b[7] % 8), Ack: uint64(b[8] % 4)}
	switch kind {
	case wire.KindWatch, wire.KindShutdown, wire.KindKill:
		f.Target = 1
	case wire.KindDown:
		f.Source = wire.Device{Node: wire.Node{Name: "b", Inc: n.b.Self().Inc}, Seq: 3}
		f.Fault = &wire.Fault{Kind: 3, Text: "FORGED panic"}
	case wire.KindLink, wire.KindUnlink:
		f.Target, f.Source = 1, wire.Device{Node: from, Seq: 1}
	case wire.KindLookup:
		f.Ref, f.Name = 1, "svc"
	case wire.KindLookupReply:
		f.Ref = 1
	case wire.KindBye:
		f.Reason = "forged"
	}
	data, err := wire.Append(nil, f)
	if err != nil {
		return used
	}
	sender := token(from.Name)
	if b[9]%3 == 0 {
		sender = "evil"
	}
	n.forged++
	n.a.deliver(testCluster+".node.a."+sender, data)
	return used
}

// check verifies the invariants that hold after every step.
func (n *memNet) check(step int) {
	n.t.Helper()
	for _, r := range []*memRec{n.ra, n.rb} {
		if r.failed != nil {
			n.t.Fatalf("step %d: %v", step, r.failed)
		}
	}
	c, err := n.a.census()
	if err != nil {
		n.t.Fatalf("step %d: a: %v", step, err)
	}
	// Every record is a live session, a queued Down, or a tombstone.
	if c.records > c.sessions+c.queuedDowns+MaxTombstones {
		n.t.Fatalf("step %d: a keeps %+v", step, c)
	}
	// Each forged frame gets at most one answer, and a session the forger
	// opened (as itself) at most its heartbeats until it times out, and a
	// Bye.
	own := int(n.a.Stats().SessionsUp) - 1
	perSession := int(n.a.cfg.Timeout/(n.a.cfg.Heartbeat/2)) + 2
	if n.replies > n.forged+own*perSession {
		n.t.Fatalf("step %d: %d frames to the forger for %d forged and %d sessions", step, n.replies, n.forged, own)
	}
}

// runSession plays the steps that data describes on a fresh memNet.
func runSession(t testing.TB, data []byte) {
	n := newMemNet(t)
	n.connect()
	step := 0
	for len(data) > 0 {
		op := data[0] % 8
		data = data[1:]
		switch op {
		case 0:
			n.send(n.b, n.a, &n.sentBA)
		case 1:
			n.send(n.a, n.b, &n.sentAB)
		case 2:
			n.stepA()
		case 3:
			n.stepB()
		case 4, 5:
			data = data[n.forge(data):]
		case 6:
			n.advance(50 * time.Millisecond)
		case 7:
			n.flush()
		}
		step++
		n.check(step)
	}
	// The real session carried everything, in order, exactly once.
	n.advance(50 * time.Millisecond)
	n.check(step + 1)
	if n.ra.next != n.sentBA || n.rb.next != n.sentAB {
		t.Fatalf("a got %d of %d, b got %d of %d", n.ra.next, n.sentBA, n.rb.next, n.sentAB)
	}
	// Down exactly once per session, and none owed beyond them.
	n.closing = true
	n.a.memClose()
	n.b.memClose()
	for _, tr := range []*Transport{n.a, n.b} {
		st := tr.Stats()
		r := n.ra
		if tr == n.b {
			r = n.rb
		}
		if st.SessionsUp != st.SessionsDown || uint64(r.downs) != st.SessionsDown {
			t.Fatalf("%v: %d sessions up, %d down, %d Downs", tr.Self(), st.SessionsUp, st.SessionsDown, r.downs)
		}
	}
}

// FuzzSession drives the session state machine of a Transport that has a
// live session with a real peer, with real traffic, time passing, and
// frames from a forger who may claim any name and incarnation but does not
// know the session's epochs. After every step: no panic, the real session
// is alive and delivers in order exactly once, the records are bounded and
// consistent, and the forger gets no more than one answer per frame.
func FuzzSession(f *testing.F) {
	attack := func(b ...byte) []byte { return b }
	// Attack 3: a heartbeat claiming b at the next incarnation, then
	// traffic both ways.
	f.Add(attack(4, 2, 0, 0, 1, 2, 1, 0, 5, 0, 1, 0, 0, 1, 6, 7))
	// A Hello claiming b at a new incarnation, and at b's own incarnation
	// with a new epoch; a Bye with a made-up epoch.
	f.Add(attack(4, 1, 0, 0, 1, 2, 9, 9, 1, 0, 1, 0, 0, 4, 1, 0, 0, 0, 2, 7, 7, 1, 0, 1, 0, 0, 4, 3, 0, 0, 0, 2, 9, 9, 0, 0, 1, 0, 0, 6, 0, 1, 7))
	// Attack 4: heartbeats from many fake names, Hellos from them.
	flood := []byte{}
	for i := range 64 {
		flood = append(flood, 4, 2, byte(3+i%3*64+i), byte(i), 2, 3, byte(i), 0, 4, 0, 1, 0, 0)
		flood = append(flood, 5, 1, byte(3+i), byte(i), 2, 3, byte(i), 1, 1, 0, 1, 0, 0)
	}
	f.Add(append(flood, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 0, 1, 7))
	// A frame addressed to another incarnation, and a forged sender.
	f.Add(attack(4, 7, 0, 0, 0, 1, 5, 0, 3, 0, 2, 0, 0, 4, 4, 2, 0, 0, 3, 5, 0, 3, 0, 0, 0, 0, 2, 3, 7))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 4096 {
			return
		}
		runSession(t, data)
	})
}
