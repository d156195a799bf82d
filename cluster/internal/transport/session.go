package transport

import (
	"fmt"
	"time"

	"github.com/backplane-go/backplane/cluster/internal/wire"
)

// session is the state of a live session with a peer.
type session struct {
	txEpoch, txSeq uint64 // our stream
	rxEpoch, rxSeq uint64 // the peer's stream; rxEpoch 0 until its Hello arrives
	helloAcked     bool   // the peer accepted our Hello
	passive        bool   // opened by the peer's Hello
	probed         bool   // the server knew no subscriber of the peer: a heartbeat went to ask (watch.go)
	pending        []wire.Frame
	opened         time.Time
	lastHeard      time.Time
	lastSent       time.Time
}

// halfOpen reports whether s counts against MaxHalfOpen.
func (s *session) halfOpen() bool { return s.passive && !s.helloAcked }

// isSessionKind reports whether k is a frame the transport itself uses.
func isSessionKind(k wire.Kind) bool {
	return k == wire.KindHello || k == wire.KindHeartbeat || k == wire.KindBye
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
	if s.halfOpen() {
		t.halfOpen--
	}
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
	return t.publishBytes(f.To.Name, b)
}

// publishBytes publishes the encoded frame b to node to. t.mu is held.
func (t *Transport) publishBytes(to string, b []byte) error {
	var subject string
	if nr := t.names[to]; nr != nil {
		subject = nr.subject
	} else {
		subject = t.subjectTo(to)
	}
	if err := t.pub(subject, b); err != nil {
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

// answer sends a Bye to a frame outside any live session, within the
// budget for such frames. t.mu is held.
func (t *Transport) answer(to wire.Node, epoch uint64, reason string, now time.Time) {
	if !t.budget.take(now) {
		t.throttled.Add(1)
		t.logf("no bye to %v (epoch %x): budget spent", to, epoch)
		return
	}
	t.sendBye(to, epoch, reason)
}

// open starts a session with p. t.mu is held.
func (t *Transport) open(p *peer, now time.Time, passive bool) *session {
	s := &session{txEpoch: nonZero(), opened: now, lastHeard: now, passive: passive}
	p.sess = s
	if passive {
		t.halfOpen++
	}
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
	if !ValidName(f.To.Name) || f.To.Name == t.self.Name {
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
	if p := t.lookup(f.To); p != nil && !p.dead && p.sess != nil && p.sess.helloAcked {
		return t.sendLive(p, f)
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
	p := t.record(f.To)
	if p.dead {
		t.owedDown(p, ErrPeerRestarted)
		t.signal()
		return fmt.Errorf("%w: %v: %w", ErrSessionDown, f.To, ErrPeerRestarted)
	}
	if !t.connected() {
		t.owedDown(p, ErrConnLost)
		t.signal()
		return fmt.Errorf("%w: %v: %w", ErrSessionDown, f.To, ErrConnLost)
	}
	now := t.clock()
	s := p.sess
	if s == nil {
		s = t.open(p, now, false)
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

// sendLive sends f on p's live session, whose Hello was acknowledged: the
// common case, where f is encoded once, with its sequence numbers. A frame
// that fails to encode fails its Send and leaves the session as it was.
// t.mu is held.
func (t *Transport) sendLive(p *peer, f *wire.Frame) error {
	s := p.sess
	f.Epoch, f.Seq, f.Ack = s.txEpoch, s.txSeq+1, s.rxSeq
	b, err := wire.Append(t.buf[:0], f)
	if err != nil {
		return err
	}
	t.buf = b[:0]
	if !t.connected() {
		t.owedDown(p, ErrConnLost)
		t.signal()
		return fmt.Errorf("%w: %v: %w", ErrSessionDown, f.To, ErrConnLost)
	}
	if err := t.publishBytes(f.To.Name, b); err != nil {
		t.end(p, err, false)
		t.signal()
		return fmt.Errorf("%w: %v: %w", ErrSessionDown, f.To, err)
	}
	s.txSeq++
	s.lastSent = t.clock()
	return nil
}

// acked records the peer's Ack of our stream; the first one releases the
// frames queued behind the Hello. t.mu is held. It reports false if the
// session ended.
func (t *Transport) acked(p *peer, s *session, ack uint64, now time.Time) bool {
	if s.helloAcked || ack == 0 || ack > s.txSeq {
		// Nothing new, or an Ack of frames we never sent (our Hello
		// included): not the peer's.
		return true
	}
	if s.halfOpen() {
		t.halfOpen--
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

// tick ends sessions that timed out, resends unacknowledged Hellos, sends
// heartbeats and forgets old tombstones.
func (t *Transport) tick(now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	t.forEachSession(func(p *peer) {
		s := p.sess
		if now.Sub(s.lastHeard) > t.cfg.Timeout || (s.halfOpen() && now.Sub(s.opened) > t.cfg.Timeout) {
			t.end(p, ErrTimeout, true)
			return
		}
		if !s.helloAcked {
			// A session the peer opened resends its Hello only when the
			// peer resends its own (receive): a stranger's Hello is
			// answered once, not on every tick.
			if !s.passive {
				_ = t.sendHello(p, s, now)
			}
			return
		}
		if now.Sub(s.lastSent) >= t.cfg.Heartbeat/2 {
			t.heartbeat(p, s, now)
		}
	})
	t.expire(now)
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
