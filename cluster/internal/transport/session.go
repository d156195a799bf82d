package transport

import (
	"fmt"
	"time"

	"github.com/backplane-go/backplane/cluster/internal/wire"
)

// staleEpochs is how many ended receive epochs are remembered per peer
// incarnation.
const staleEpochs = 32

// nameRec is what is known of one node name.
type nameRec struct {
	cur  uint64 // incarnation last heard from, 0 if none
	incs map[uint64]*peer
}

// peer is one incarnation of another node.
type peer struct {
	node        wire.Node
	dead        bool     // a newer incarnation was heard from
	sess        *session // the live session, nil if none
	stale       [staleEpochs]uint64
	staleNext   int
	queuedDowns int // Down events of this peer still in the queue
}

func (p *peer) isStale(epoch uint64) bool {
	for _, e := range p.stale {
		if e == epoch {
			return true
		}
	}
	return false
}

func (p *peer) addStale(epoch uint64) {
	p.stale[p.staleNext] = epoch
	p.staleNext = (p.staleNext + 1) % staleEpochs
}

// session is the state of a live session with a peer.
type session struct {
	txEpoch, txSeq uint64 // our stream
	rxEpoch, rxSeq uint64 // the peer's stream; rxEpoch 0 until its Hello arrives
	helloAcked     bool   // the peer accepted our Hello
	pending        []wire.Frame
	lastHeard      time.Time
	lastSent       time.Time
}

// isSessionKind reports whether k is a frame the transport itself uses.
func isSessionKind(k wire.Kind) bool {
	return k == wire.KindHello || k == wire.KindHeartbeat || k == wire.KindBye
}

// peerLocked returns the record of n, creating it. t.mu is held.
func (t *Transport) peerLocked(n wire.Node) *peer {
	nr := t.names[n.Name]
	if nr == nil {
		nr = &nameRec{incs: make(map[uint64]*peer)}
		t.names[n.Name] = nr
	}
	p := nr.incs[n.Inc]
	if p == nil {
		p = &peer{node: n}
		nr.incs[n.Inc] = p
	}
	return p
}

// forEachSession calls fn for every peer with a live session. t.mu is held.
func (t *Transport) forEachSession(fn func(p *peer)) {
	for _, nr := range t.names {
		for _, p := range nr.incs {
			if p.sess != nil {
				fn(p)
			}
		}
	}
}

// enqueueDown queues a Down callback. t.mu is held.
func (t *Transport) enqueueDown(p *peer, reason error) {
	p.queuedDowns++
	t.queue = append(t.queue, event{peer: p, reason: reason})
}

// owedDown ensures a Down for p follows a failed Send: it ends the live
// session, if any, or queues a Down unless one is already queued. t.mu is
// held.
func (t *Transport) owedDown(p *peer, reason error) {
	if p.sess != nil {
		t.end(p, reason, false)
		return
	}
	if p.queuedDowns == 0 {
		t.enqueueDown(p, reason)
	}
}

// end ends p's live session, if any, queues its Down and, if bye, sends the
// peer a Bye naming one of the session's epochs. t.mu is held.
func (t *Transport) end(p *peer, reason error, bye bool) {
	s := p.sess
	if s == nil {
		return
	}
	p.sess = nil
	if s.rxEpoch != 0 {
		p.addStale(s.rxEpoch)
	}
	if bye {
		// Prefer the peer's own epoch: the peer knows it for sure.
		e := s.rxEpoch
		if e == 0 {
			e = s.txEpoch
		}
		t.sendBye(p.node, e, reason.Error())
	}
	t.sessionsDown.Add(1)
	t.enqueueDown(p, reason)
}

// publish encodes f and publishes it to f.To. t.mu is held, so frames go
// out in the order decided.
func (t *Transport) publish(f *wire.Frame) error {
	b, err := wire.Append(t.buf[:0], f)
	if err != nil {
		return err
	}
	t.buf = b[:0]
	if err := t.nc.Publish(t.prefix+f.To.Name, b); err != nil {
		return fmt.Errorf("%w: %v", ErrConnLost, err)
	}
	t.framesSent.Add(1)
	return nil
}

// sendBye sends a Bye, best effort. t.mu is held.
func (t *Transport) sendBye(to wire.Node, epoch uint64, reason string) {
	if len(reason) > 200 {
		reason = reason[:200]
	}
	err := t.publish(&wire.Frame{Kind: wire.KindBye, From: t.self, To: to, Epoch: epoch, Reason: reason})
	if err != nil {
		t.logf("bye to %v: %v", to, err)
	}
}

// open starts a session with p and sends its Hello. t.mu is held.
func (t *Transport) open(p *peer, now time.Time) *session {
	s := &session{txEpoch: nonZero(), lastHeard: now}
	p.sess = s
	t.sessionsUp.Add(1)
	t.logf("session up %v (epoch %x)", p.node, s.txEpoch)
	return s
}

// sendHello sends (or resends) the Hello of s; on failure the session ends.
// t.mu is held.
func (t *Transport) sendHello(p *peer, s *session, now time.Time) error {
	err := t.publish(&wire.Frame{Kind: wire.KindHello, From: t.self, To: p.node, Epoch: s.txEpoch, Seq: 1, Ack: s.rxSeq})
	if err != nil {
		t.end(p, err, false)
		return err
	}
	if s.txSeq == 0 {
		s.txSeq = 1
	}
	s.lastSent = now
	return nil
}

// Send sends f to the peer incarnation f.To, filling in f.From, f.Epoch,
// f.Seq and f.Ack. Frames to one peer go out in call order. Send never
// waits for the network: if the session's opening is not yet acknowledged,
// f is queued behind it.
//
// A nil error does not mean f was delivered; only that the session was live
// and f was handed to NATS or queued. If the session to f.To is down or
// cannot be established, Send returns an error wrapping ErrSessionDown and
// the reason, and a Down for f.To is (or was, if still undelivered) queued.
// Send to an incarnation known to be dead fails at once. A Lookup to
// To.Inc 0 (a node name whose incarnation is not known) is sent outside any
// session, at most once.
func (t *Transport) Send(f *wire.Frame) error {
	if f == nil || isSessionKind(f.Kind) {
		return fmt.Errorf("%w: frame kind", ErrInvalid)
	}
	if !validName(f.To.Name) || f.To.Name == t.self.Name {
		return fmt.Errorf("%w: destination %v", ErrInvalid, f.To)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return ErrClosed
	}
	f.From = t.self
	if f.To.Inc == 0 {
		if f.Kind != wire.KindLookup {
			return fmt.Errorf("%w: %v frame without destination incarnation", ErrInvalid, f.Kind)
		}
		f.Epoch, f.Seq, f.Ack = 0, 0, 0
		return t.publish(f)
	}
	p := t.peerLocked(f.To)
	if p.dead {
		t.owedDown(p, ErrPeerRestarted)
		t.signal()
		return fmt.Errorf("%w: %v: %w", ErrSessionDown, f.To, ErrPeerRestarted)
	}
	if !t.nc.IsConnected() {
		t.owedDown(p, ErrConnLost)
		t.signal()
		return fmt.Errorf("%w: %v: %w", ErrSessionDown, f.To, ErrConnLost)
	}
	// Validate first, with the largest values the transport may fill in:
	// a bad frame fails its Send, not the session.
	probe := *f
	probe.Epoch, probe.Seq, probe.Ack = ^uint64(0), ^uint64(0), ^uint64(0)
	b, err := wire.Append(t.buf[:0], &probe)
	if err != nil {
		return err
	}
	t.buf = b[:0]
	now := time.Now()
	s := p.sess
	if s == nil {
		s = t.open(p, now)
		if err := t.sendHello(p, s, now); err != nil {
			t.signal()
			return fmt.Errorf("%w: %v: %w", ErrSessionDown, f.To, err)
		}
	}
	f.Epoch, f.Seq, f.Ack = s.txEpoch, s.txSeq+1, s.rxSeq
	if !s.helloAcked {
		if len(s.pending) >= MaxPending {
			t.end(p, ErrOverflow, true)
			t.signal()
			return fmt.Errorf("%w: %v: %w", ErrSessionDown, f.To, ErrOverflow)
		}
		s.txSeq++
		s.pending = append(s.pending, *f)
		return nil
	}
	if err := t.publish(f); err != nil {
		t.end(p, err, false)
		t.signal()
		return fmt.Errorf("%w: %v: %w", ErrSessionDown, f.To, err)
	}
	s.txSeq++
	s.lastSent = now
	return nil
}

// acked records the peer's Ack of our stream; the first one releases the
// frames queued behind the Hello. t.mu is held. It reports false if the
// session ended.
func (t *Transport) acked(p *peer, s *session, ack uint64, now time.Time) bool {
	if s.helloAcked || ack == 0 {
		return true
	}
	s.helloAcked = true
	pending := s.pending
	s.pending = nil
	for i := range pending {
		f := &pending[i]
		f.Ack = s.rxSeq
		if err := t.publish(f); err != nil {
			t.end(p, err, false)
			return false
		}
		s.lastSent = now
	}
	return true
}

// tick ends sessions that timed out, resends unacknowledged Hellos and
// sends heartbeats.
func (t *Transport) tick(now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	t.forEachSession(func(p *peer) {
		s := p.sess
		if now.Sub(s.lastHeard) > t.cfg.Timeout {
			t.end(p, ErrTimeout, true)
			return
		}
		if !s.helloAcked {
			_ = t.sendHello(p, s, now)
			return
		}
		if now.Sub(s.lastSent) >= t.cfg.Heartbeat/2 {
			t.heartbeat(p, s, now)
		}
	})
}

// heartbeat sends the next Heartbeat of s; on failure the session ends.
// t.mu is held.
func (t *Transport) heartbeat(p *peer, s *session, now time.Time) {
	err := t.publish(&wire.Frame{Kind: wire.KindHeartbeat, From: t.self, To: p.node, Epoch: s.txEpoch, Seq: s.txSeq + 1, Ack: s.rxSeq})
	if err != nil {
		t.end(p, err, false)
		return
	}
	s.txSeq++
	s.lastSent = now
}

// handleMsg processes one incoming NATS message. It runs on the dispatch
// goroutine.
func (t *Transport) handleMsg(data []byte) {
	if len(data) > wire.MaxFrameSize {
		t.malformed.Add(1)
		return
	}
	f, err := wire.Decode(data)
	if err != nil {
		t.malformed.Add(1)
		t.logf("malformed frame: %v", err)
		return
	}
	if h := t.dropHook.Load(); h != nil && (*h)(f) {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	t.receive(f, time.Now())
}

// reject counts a dropped frame.
func (t *Transport) reject(f *wire.Frame, why string) {
	t.rejected.Add(1)
	t.logf("rejected %v frame from %v (epoch %x seq %d): %s", f.Kind, f.From, f.Epoch, f.Seq, why)
}

// receive runs the session protocol on an incoming frame. t.mu is held.
func (t *Transport) receive(f *wire.Frame, now time.Time) {
	if f.To.Name != t.self.Name || f.From.Name == t.self.Name {
		t.reject(f, "misrouted")
		return
	}
	nr := t.names[f.From.Name]
	if nr != nil {
		if p := nr.incs[f.From.Inc]; p != nil && p.dead {
			t.reject(f, "from a dead incarnation")
			return
		}
	}
	p := t.peerLocked(f.From)
	nr = t.names[f.From.Name]
	if nr.cur != f.From.Inc {
		// A new incarnation: every other one known is gone.
		for inc, q := range nr.incs {
			if inc != f.From.Inc && !q.dead {
				q.dead = true
				t.end(q, ErrPeerRestarted, false)
			}
		}
		nr.cur = f.From.Inc
	}
	if f.To.Inc != t.self.Inc {
		if f.To.Inc == 0 && f.Kind == wire.KindLookup && f.Epoch == 0 && f.Seq == 0 {
			t.framesReceived.Add(1)
			t.queue = append(t.queue, event{frame: f})
			return
		}
		t.reject(f, "addressed to another incarnation")
		if f.Kind != wire.KindBye && f.Epoch != 0 {
			t.sendBye(f.From, f.Epoch, "no such incarnation")
		}
		return
	}
	if f.Kind == wire.KindBye {
		t.bye(f)
		return
	}
	if f.Epoch == 0 || f.Seq == 0 {
		t.reject(f, "not sequenced")
		return
	}
	if p.isStale(f.Epoch) {
		t.reject(f, "stale stream")
		t.sendBye(p.node, f.Epoch, "stale stream")
		return
	}
	s := p.sess
	if s != nil && s.rxEpoch != 0 {
		if f.Epoch == s.rxEpoch {
			s.lastHeard = now
			switch {
			case f.Seq <= s.rxSeq:
				t.reject(f, "duplicate")
				t.acked(p, s, f.Ack, now)
				return
			case f.Seq > s.rxSeq+1:
				t.end(p, fmt.Errorf("%w: expected seq %d, got %d", ErrGap, s.rxSeq+1, f.Seq), true)
				return
			}
			t.accept(p, s, f, now)
			return
		}
		// A new epoch mid-stream: the peer ended its side and we missed it.
		t.end(p, fmt.Errorf("%w: peer stream %x replaced by %x", ErrGap, s.rxEpoch, f.Epoch), true)
		s = nil
	}
	// The first frame of a stream: it must be the Hello at Seq 1.
	if f.Seq != 1 {
		t.reject(f, "unknown stream")
		t.sendBye(p.node, f.Epoch, "unknown stream")
		return
	}
	opened := s == nil
	if opened {
		s = t.open(p, now)
	}
	s.rxEpoch = f.Epoch
	s.lastHeard = now
	sent := s.lastSent
	if !t.accept(p, s, f, now) {
		return
	}
	// Acknowledge the peer's Hello at once, so that it may release the
	// frames queued behind it: with our own Hello if it is not acknowledged
	// yet, else with a heartbeat unless queued frames just went out.
	switch {
	case !s.helloAcked:
		_ = t.sendHello(p, s, now)
	case s.lastSent == sent:
		t.heartbeat(p, s, now)
	}
}

// accept takes f, the next frame of s's receive stream. t.mu is held. It
// reports false if the session ended.
func (t *Transport) accept(p *peer, s *session, f *wire.Frame, now time.Time) bool {
	s.rxSeq = f.Seq
	t.framesReceived.Add(1)
	if !isSessionKind(f.Kind) {
		t.queue = append(t.queue, event{frame: f})
	}
	return t.acked(p, s, f.Ack, now)
}

// bye handles a Bye from f.From: it ends the live session, with that
// incarnation or another one of the same name, one of whose streams has
// epoch f.Epoch. t.mu is held.
func (t *Transport) bye(f *wire.Frame) {
	if f.Epoch == 0 {
		return
	}
	for inc, q := range t.names[f.From.Name].incs {
		s := q.sess
		if s == nil || (s.txEpoch != f.Epoch && s.rxEpoch != f.Epoch) {
			continue
		}
		if inc == f.From.Inc {
			t.end(q, fmt.Errorf("%w: %s", ErrPeerBye, f.Reason), false)
		} else {
			// The node now holding the name rejected our frame to q.
			q.dead = true
			t.end(q, ErrPeerRestarted, false)
		}
	}
}
