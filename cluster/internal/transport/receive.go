package transport

import (
	"fmt"
	"strings"
	"time"

	"github.com/backplane-go/backplane/cluster/internal/wire"
)

// admit screens one incoming message, published on subject, and returns
// its frame if the session protocol (receive) may want it, nil if it was
// dropped and counted. What it drops, receive would drop too; it does so
// before decoding, from the header alone, so that a flood of frames from
// strangers costs little and leaves nothing behind. It runs on the NATS
// client's goroutine.
func (t *Transport) admit(subject string, data []byte, now time.Time) *wire.Frame {
	if len(data) > wire.MaxFrameSize {
		t.malformed.Add(1)
		return nil
	}
	h, err := wire.ReadHeader(data)
	if err != nil {
		t.malformed.Add(1)
		t.logf("malformed frame: %v", err)
		return nil
	}
	if !strings.HasPrefix(subject, t.inPrefix) || !senderIs(subject[len(t.inPrefix):], h.From) {
		t.forged.Add(1)
		if t.cfg.Logf != nil { // the arguments would allocate
			t.logf("forged %v frame from %q (inc %d) on %s", h.Kind, h.From, h.FromInc, subject)
		}
		return nil
	}
	if !t.wanted(&h, now) {
		return nil
	}
	f, err := wire.Decode(data)
	if err != nil {
		t.malformed.Add(1)
		t.logf("malformed frame: %v", err)
		return nil
	}
	if hook := t.dropHook.Load(); hook != nil && (*hook)(f) {
		return nil
	}
	return f
}

// wanted reports whether the frame with header h may matter to receive,
// and counts it if not.
func (t *Transport) wanted(h *wire.Header, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.closed:
		return false
	case string(h.To) != t.self.Name || string(h.From) == t.self.Name:
		t.rejected.Add(1)
		t.logf("rejected %v frame from %s: misrouted", h.Kind, h.From)
		return false
	case h.ToInc != t.self.Inc:
		if h.ToInc == 0 && h.Kind == wire.KindLookup && h.Epoch == 0 && h.Seq == 0 {
			return t.budget.has(now) || t.throttle(h)
		}
		if h.Kind == wire.KindBye || h.Epoch == 0 || !t.budget.has(now) {
			t.rejected.Add(1)
			t.logf("rejected %v frame from %s/%d: addressed to incarnation %d", h.Kind, h.From, h.FromInc, h.ToInc)
			return false
		}
		return true
	case t.names[string(h.From)] != nil:
		return true
	case h.Kind == wire.KindHello && h.Seq == 1 && h.Epoch != 0:
		if t.halfOpen >= MaxHalfOpen {
			t.dropped.Add(1)
			t.logf("dropped hello from %s/%d: %d sessions half-open", h.From, h.FromInc, t.halfOpen)
			return false
		}
		return true
	default:
		t.unknown.Add(1)
		if t.cfg.Logf != nil { // the arguments would allocate
			t.logf("dropped %v frame from %s/%d: no session", h.Kind, h.From, h.FromInc)
		}
		return false
	}
}

// throttle counts a session-less frame dropped for the budget; it returns
// false.
func (t *Transport) throttle(h *wire.Header) bool {
	t.throttled.Add(1)
	t.logf("dropped %v frame from %s/%d: budget spent", h.Kind, h.From, h.FromInc)
	return false
}

// reject counts a dropped frame.
func (t *Transport) reject(f *wire.Frame, why string) {
	t.rejected.Add(1)
	t.logf("rejected %v frame from %v (epoch %x seq %d): %s", f.Kind, f.From, f.Epoch, f.Seq, why)
}

// receive runs the session protocol on an incoming frame. t.mu is held.
//
// The rules that keep a stranger (who may claim any name and incarnation
// but does not know the epochs of a live session) from harming it: a frame
// is accepted on a live session only at the next Seq of its receive
// stream; a stream is opened only by a Hello at Seq 1 and, while a stream
// of a live session exists, never replaced by another: the session must
// end first (by its own frames, a Bye naming one of its epochs, or its
// timeout); and a Hello from an incarnation is believed, making every
// other incarnation of its name dead, only while no other incarnation of
// the name has a live session.
func (t *Transport) receive(f *wire.Frame, now time.Time) {
	if f.To.Name != t.self.Name || f.From.Name == t.self.Name {
		t.reject(f, "misrouted")
		return
	}
	if f.To.Inc != t.self.Inc {
		if f.To.Inc == 0 && f.Kind == wire.KindLookup && f.Epoch == 0 && f.Seq == 0 {
			if !t.budget.take(now) {
				t.throttled.Add(1)
				t.logf("dropped lookup from %v: budget spent", f.From)
				return
			}
			t.framesReceived.Add(1)
			t.queue = append(t.queue, event{frame: f})
			return
		}
		t.reject(f, "addressed to another incarnation")
		if f.Kind != wire.KindBye && f.Epoch != 0 {
			t.answer(f.From, f.Epoch, "no such incarnation", now)
		}
		return
	}
	if f.Kind == wire.KindBye {
		t.bye(f)
		return
	}
	p := t.lookup(f.From)
	switch {
	case p != nil && p.dead:
		t.reject(f, "from a dead incarnation")
		return
	case f.Epoch == 0 || f.Seq == 0:
		t.reject(f, "not sequenced")
		return
	case p != nil && p.isStale(f.Epoch):
		t.reject(f, "stale stream")
		t.answer(p.node, f.Epoch, "stale stream", now)
		return
	}
	var s *session
	if p != nil {
		s = p.sess
	}
	if s != nil && s.rxEpoch != 0 {
		if f.Epoch != s.rxEpoch {
			// Another stream while this one is live: the peer would have
			// ended its side first, so either its Bye is on the way or
			// the frame is not the peer's. Only the session's end can
			// replace the stream.
			t.reject(f, "not the session's stream")
			return
		}
		s.lastHeard = now
		switch {
		case f.Seq <= s.rxSeq:
			t.reject(f, "duplicate")
			if f.Kind == wire.KindHello && s.passive && !s.helloAcked && now.Sub(s.lastSent) >= t.cfg.Heartbeat/2 {
				// The peer did not get our Hello: answer its resent one.
				_ = t.sendHello(p, s, now)
				return
			}
			t.acked(p, s, f.Ack, now)
			return
		case f.Seq > s.rxSeq+1:
			t.end(p, fmt.Errorf("%w: expected seq %d, got %d", ErrGap, s.rxSeq+1, f.Seq), true)
			return
		}
		t.accept(p, s, f, now)
		return
	}
	// The first frame of a stream: it must be the Hello at Seq 1.
	if f.Kind != wire.KindHello || f.Seq != 1 {
		if p == nil {
			t.unknown.Add(1)
			t.logf("dropped %v frame from %v: no session", f.Kind, f.From)
		} else {
			t.reject(f, "unknown stream")
		}
		return
	}
	nr := t.names[f.From.Name]
	if nr != nil {
		for _, q := range nr.incs {
			if q != p && q.sess != nil {
				t.reject(f, fmt.Sprintf("%v has a live session", q.node))
				return
			}
		}
	}
	if s == nil {
		if t.halfOpen >= MaxHalfOpen {
			t.dropped.Add(1)
			t.logf("dropped hello from %v: %d sessions half-open", f.From, t.halfOpen)
			return
		}
		p = t.record(f.From)
		s = t.open(p, now, true)
	}
	// Believed: every other incarnation of the name is gone.
	for _, q := range p.nr.incs {
		if q != p {
			q.dead = true
		}
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
	nr := t.names[f.From.Name]
	if nr == nil || f.Epoch == 0 {
		if nr == nil {
			t.unknown.Add(1)
		}
		return
	}
	for _, q := range nr.incs {
		s := q.sess
		if s == nil || (s.txEpoch != f.Epoch && s.rxEpoch != f.Epoch) {
			continue
		}
		if q.node.Inc == f.From.Inc {
			t.end(q, fmt.Errorf("%w: %s", ErrPeerBye, f.Reason), false)
		} else {
			// The node now holding the name rejected our frame to q.
			q.dead = true
			t.end(q, ErrPeerRestarted, false)
		}
	}
}
