package transport

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/backplane-go/backplane/cluster/internal/wire"
)

// WatchInterval is how often a Transport with an embedded server looks
// whether the peers of its live sessions are still on NATS (see watch):
// the longest a killed peer goes unnoticed, besides the time its server
// takes to see the connection close. A look costs one wake-up of a
// goroutine of the Transport, its lock held while it lists the live
// sessions, and one lookup in the server's subscription index per live
// session, outside that lock.
const WatchInterval = 5 * time.Millisecond

// A peer is on NATS while the embedded server knows a subscription to the
// peer's frames from this node ("<cluster>.node.<peer>.<self>"): every
// node subscribes to its own frames before it says Hello, the server
// learns of that subscription before it passes on any frame the peer
// publishes after it (over the same client connection, or the same route
// from the peer's server), and it forgets it when the connection closes,
// or when the route to the peer's server closes: when the peer's process
// dies, whichever server it embedded or was connected to. Only the
// closing of the peer's own connection, or of the route it is reached by,
// takes that subscription away (a node unsubscribes only as it closes,
// after its Byes); another client may add one (and so delay the detection
// to the timeout), but cannot remove the peer's.
//
// The loss is handled in the order of frames: watch publishes a marker on
// this node's own subject, which the server passes on after every frame it
// had already passed on from the peer, and the session ends with
// ErrPeerGone when the marker comes out of the subscription, so that every
// frame the peer sent before its connection closed is delivered first.

// markLen is the length of a marker's data: a random number, which names
// the session it is about (session.mark).
const markLen = 8

// inbound is what the NATS callback hands to the dispatch loop: an
// admitted frame, or the number of a marker (a frame is nil).
type inbound struct {
	f    *wire.Frame
	mark uint64
}

// watchInterest sets t.interest from the embedded server: the account
// the Transport's own connection is in. t.nc is connected.
func (t *Transport) watchInterest() error {
	cid, err := t.nc.GetClientID()
	if err != nil {
		return fmt.Errorf("transport: watch: %w", err)
	}
	cz, err := t.srv.Connz(&server.ConnzOptions{CID: cid, Username: true})
	if err != nil || len(cz.Conns) != 1 {
		return fmt.Errorf("transport: watch: connection %d not found (%v)", cid, err)
	}
	acc := t.srv.GlobalAccount()
	if name := cz.Conns[0].Account; name != "" {
		if acc, err = t.srv.LookupAccount(name); err != nil {
			return fmt.Errorf("transport: watch: account %q: %w", name, err)
		}
	}
	t.interest = func(subject string) bool { return acc.Interest(subject) > 0 }
	return nil
}

// watcher looks every WatchInterval whether the peers of live sessions are
// still on NATS.
func (t *Transport) watcher() {
	defer t.wg.Done()
	tk := time.NewTicker(WatchInterval)
	defer tk.Stop()
	var buf []watched
	for {
		select {
		case <-t.stop:
			return
		case <-tk.C:
			buf = t.watch(buf)
		}
	}
}

// watched is a session whose peer watch looks for.
type watched struct {
	p       *peer
	s       *session
	subject string
}

// watch looks whether the peer of each live session whose stream has
// opened is still on NATS, and sends a marker for each that is not. It
// returns buf, grown as needed and cleared, for the next call.
func (t *Transport) watch(buf []watched) []watched {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return buf
	}
	w := buf[:0]
	t.forEachSession(func(p *peer) {
		// Only once the peer's Hello has arrived is its subscription
		// known; a session already marked waits for its marker.
		if s := p.sess; s.rxEpoch != 0 && s.mark == 0 {
			w = append(w, watched{p: p, s: s, subject: p.nr.subject})
		}
	})
	t.mu.Unlock()
	// The server's locks are not taken under t.mu.
	gone := w[:0]
	for _, c := range w {
		if !t.interest(c.subject) {
			gone = append(gone, c)
		}
	}
	if len(gone) > 0 {
		t.mu.Lock()
		for _, c := range gone {
			if c.p.sess == c.s && c.s.mark == 0 && !t.closed {
				t.sendMark(c.p, c.s)
			}
		}
		t.mu.Unlock()
	}
	clear(w)
	return w[:0]
}

// sendMark publishes the marker of s, whose peer p is gone from NATS.
// t.mu is held.
func (t *Transport) sendMark(p *peer, s *session) {
	s.mark = nonZero()
	t.marks[s.mark] = p
	var b [markLen]byte
	binary.BigEndian.PutUint64(b[:], s.mark)
	if err := t.pub(t.markSubject, b[:]); err != nil {
		// The connection is lost: every session ends for that.
		t.logf("marker for %v: %v", p.node, err)
		return
	}
	t.logf("%v gone from NATS", p.node)
}

// marked ends the session whose marker is mark, if it is still live: its
// peer left NATS, and every frame it had sent before has been handled.
// t.mu is held.
func (t *Transport) marked(mark uint64) {
	p := t.marks[mark]
	if p == nil || p.sess == nil || p.sess.mark != mark {
		return
	}
	t.end(p, ErrPeerGone, false)
}

// onMark handles a message on this node's own subject: a marker, if it
// names one sent for a session still live. Anything else there is dropped
// and counted (no node sends frames to itself): as malformed if it is no
// marker, as rejected if it names none still wanted. It runs on the NATS
// client's goroutine.
func (t *Transport) onMark(data []byte) {
	if len(data) != markLen {
		t.malformed.Add(1)
		return
	}
	mark := binary.BigEndian.Uint64(data)
	t.mu.Lock()
	_, ok := t.marks[mark]
	t.mu.Unlock()
	if !ok {
		t.rejected.Add(1)
		return
	}
	select {
	case t.frames <- inbound{mark: mark}:
	case <-t.stop:
	}
}
