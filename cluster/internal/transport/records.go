package transport

import (
	"time"

	"github.com/backplane-go/backplane/cluster/internal/wire"
)

// Bounds of what a Transport remembers of peers. A record of a peer
// incarnation exists while it has a live session or a Down still queued;
// after that it stays as a tombstone, which remembers whether the
// incarnation is dead (Send to it fails at once) and its last streams
// (their late frames are answered with a Bye), until it expires, or is
// evicted, oldest first, to keep at most MaxTombstones in all and
// MaxTombstonesPerName per node name. Frames from senders without a record
// create none, except a Hello that opens a session, and at most
// MaxHalfOpen sessions opened by a peer's Hello may wait for the peer to
// acknowledge ours.
const (
	MaxTombstones        = 1024
	MaxTombstonesPerName = 8
	MaxHalfOpen          = 1024
)

// staleEpochs is how many ended receive epochs are remembered per peer
// incarnation.
const staleEpochs = 8

// tombstoneTTL is how long a tombstone is kept, in Timeouts.
const tombstoneTTL = 30

// nameRec is what is known of one node name: its incarnations with a
// record.
type nameRec struct {
	name    string
	subject string // where frames to this name are published
	incs    []*peer
	tombs   int // how many of incs are tombstones
}

// peer is one incarnation of another node.
type peer struct {
	node        wire.Node
	nr          *nameRec
	dead        bool     // a newer incarnation was heard from
	sess        *session // the live session, nil if none
	stale       [staleEpochs]uint64
	staleNext   int
	queuedDowns int // Down events of this peer still in the queue

	prev, next *peer     // in the tombstone list, if tomb
	tomb       bool      // in the tombstone list
	tombAt     time.Time // when it became a tombstone
	gone       bool      // forgotten: no longer in names
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

// tombList is the list of tombstones, oldest first.
type tombList struct {
	head, tail *peer
	n          int
}

func (l *tombList) push(p *peer) {
	p.prev, p.next = l.tail, nil
	if l.tail != nil {
		l.tail.next = p
	} else {
		l.head = p
	}
	l.tail = p
	l.n++
}

func (l *tombList) remove(p *peer) {
	if p.prev != nil {
		p.prev.next = p.next
	} else {
		l.head = p.next
	}
	if p.next != nil {
		p.next.prev = p.prev
	} else {
		l.tail = p.prev
	}
	p.prev, p.next = nil, nil
	l.n--
}

// lookup returns the record of n, nil if none. t.mu is held.
func (t *Transport) lookup(n wire.Node) *peer {
	if nr := t.names[n.Name]; nr != nil {
		for _, p := range nr.incs {
			if p.node.Inc == n.Inc {
				return p
			}
		}
	}
	return nil
}

// record returns the record of n, creating it, and takes it out of the
// tombstones: the caller is about to give it a session or a Down. t.mu is
// held.
func (t *Transport) record(n wire.Node) *peer {
	nr := t.names[n.Name]
	if nr == nil {
		nr = &nameRec{name: n.Name, subject: t.subjectTo(n.Name)}
		t.names[n.Name] = nr
	}
	for _, p := range nr.incs {
		if p.node.Inc == n.Inc {
			if p.tomb {
				t.untomb(p)
			}
			return p
		}
	}
	p := &peer{node: n, nr: nr}
	nr.incs = append(nr.incs, p)
	return p
}

func (t *Transport) untomb(p *peer) {
	t.tombs.remove(p)
	p.tomb = false
	p.nr.tombs--
}

// release makes p a tombstone if it has neither a live session nor a
// queued Down, and evicts tombstones beyond the bounds. t.mu is held.
func (t *Transport) release(p *peer, now time.Time) {
	if p.gone || p.tomb || p.sess != nil || p.queuedDowns > 0 {
		return
	}
	p.tomb, p.tombAt = true, now
	p.nr.tombs++
	t.tombs.push(p)
	if p.nr.tombs > MaxTombstonesPerName {
		var oldest *peer
		for _, q := range p.nr.incs {
			if q.tomb && (oldest == nil || q.tombAt.Before(oldest.tombAt)) {
				oldest = q
			}
		}
		t.forget(oldest)
	}
	for t.tombs.n > MaxTombstones {
		t.forget(t.tombs.head)
	}
}

// expire forgets the tombstones older than tombstoneTTL Timeouts. t.mu is
// held.
func (t *Transport) expire(now time.Time) {
	ttl := tombstoneTTL * t.cfg.Timeout
	for p := t.tombs.head; p != nil && now.Sub(p.tombAt) > ttl; p = t.tombs.head {
		t.forget(p)
	}
}

// forget deletes the tombstone p. t.mu is held.
func (t *Transport) forget(p *peer) {
	t.untomb(p)
	p.gone = true
	nr := p.nr
	for i, q := range nr.incs {
		if q == p {
			nr.incs[i] = nr.incs[len(nr.incs)-1]
			nr.incs[len(nr.incs)-1] = nil
			nr.incs = nr.incs[:len(nr.incs)-1]
			break
		}
	}
	if len(nr.incs) == 0 {
		delete(t.names, nr.name)
	}
}

// forEachSession calls fn for every peer with a live session. t.mu is held.
// fn may end the session but not create or forget records.
func (t *Transport) forEachSession(fn func(p *peer)) {
	for _, nr := range t.names {
		for _, p := range nr.incs {
			if p.sess != nil {
				fn(p)
			}
		}
	}
}
