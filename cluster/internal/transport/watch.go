package transport

import (
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

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

// A peer is on NATS while the servers know its subscription to its frames
// from this node ("<cluster>.node.<peer>.<self>"): every node subscribes
// to its own frames before it says Hello, a server learns of that
// subscription before it passes on any frame the peer publishes after it
// (over the same client connection, or the same route from the peer's
// server), and forgets it when the connection closes, or when the route to
// the peer's server closes: when the peer's process dies, whichever server
// it embedded or was connected to. Only that takes the subscription away
// (a node unsubscribes only as it closes, after its Byes); another client
// may add one, and so delay the detection to the timeout, but cannot
// remove the peer's.
//
// Every frame is published with this node's own subject as its reply
// subject (replySubject). A server that has no subscriber for a frame
// answers at once, to that subject, with a "no responders" status that
// names the frame's subject (the NATS client asks for such answers); the
// answer is queued on this node's connection behind every frame the server
// had passed on from the peer before it forgot the peer's subscription, so
// that the session ends with ErrPeerGone after all of them. A node learns
// so of a dead peer at the next frame it sends it, a heartbeat at the
// latest; a node with an embedded server also looks every WatchInterval
// whether its server still knows the subscription of each live session's
// peer, and sends that peer a heartbeat at once when it does not.
//
// Under per-node credentials nobody but this node may publish on its own
// subject, so a "no responders" there comes from the server. With the
// shared secret a member may publish one; a node with an embedded server
// believes it only if its server indeed knows no subscription of the peer.

// inbound is what the NATS callback hands to the dispatch loop: an
// admitted frame, or the name of a peer a server found no subscriber for.
type inbound struct {
	f    *wire.Frame
	gone string
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
// opened is still known to the embedded server, and sends a heartbeat at
// once to each that is not, which the server answers with "no responders".
// It returns buf, grown as needed and cleared, for the next call.
func (t *Transport) watch(buf []watched) []watched {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return buf
	}
	w := buf[:0]
	t.forEachSession(func(p *peer) {
		// Only once the peer's Hello has arrived is its subscription
		// known; a session probed already waits for the answer.
		if s := p.sess; s.rxEpoch != 0 && !s.probed {
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
		now := t.clock()
		t.mu.Lock()
		for _, c := range gone {
			if c.p.sess == c.s && !c.s.probed && !t.closed {
				t.logf("%v unknown to the server: probing", c.p.node)
				c.s.probed = true
				t.heartbeat(c.p, c.s, now)
			}
		}
		t.mu.Unlock()
		t.signal()
	}
	clear(w)
	return w[:0]
}

// Headers of a server's "no responders" answer.
const (
	statusHeader  = "Status"
	noResponders  = "503"
	subjectHeader = "Nats-Subject"
)

// onReply handles a message on this node's own subject, where only the
// servers' "no responders" answers are expected: it hands the peer it
// names to the dispatch loop. Anything else there is dropped and counted
// as malformed (no node sends frames to itself). It runs on the NATS
// client's goroutine.
func (t *Transport) onReply(m *nats.Msg) {
	name, ok := t.noResponders(m)
	if !ok {
		t.malformed.Add(1)
		t.logf("malformed message on %s", m.Subject)
		return
	}
	select {
	case t.frames <- inbound{gone: name}:
	case <-t.stop:
	}
}

// noResponders returns the peer a "no responders" answer is about: the
// receiver of the frame it answers.
func (t *Transport) noResponders(m *nats.Msg) (string, bool) {
	if len(m.Data) != 0 || m.Header == nil || m.Header.Get(statusHeader) != noResponders {
		return "", false
	}
	subj := m.Header.Get(subjectHeader)
	tok, ok := strings.CutPrefix(subj, t.prefix)
	if !ok {
		return "", false
	}
	if tok, ok = strings.CutSuffix(tok, "."+token(t.self.Name)); !ok {
		return "", false
	}
	name := strings.ReplaceAll(tok, "~", ".")
	if !ValidName(name) || token(name) != tok {
		return "", false
	}
	return name, true
}

// gone ends the live session, whose stream has opened, with the node
// called name: a server found no subscriber for a frame to it. A node
// with an embedded server first checks that its server still knows none:
// else the answer is stale (the peer restarted since) or made up, and it
// is dropped and counted (Stats.Rejected). t.mu is held.
func (t *Transport) gone(name string) {
	nr := t.names[name]
	if nr == nil {
		return
	}
	if t.interest != nil && t.interest(nr.subject) {
		t.rejected.Add(1)
		t.logf("no responders for %s while the server knows a subscriber: dropped", name)
		return
	}
	for _, q := range nr.incs {
		if q.sess != nil && q.sess.rxEpoch != 0 {
			t.end(q, ErrPeerGone, false)
		}
	}
}
