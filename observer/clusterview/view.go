package clusterview

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/observer"
)

// View gathers the snapshots other nodes publish, for observer.WithPeers.
// Make it with NewView and stop it with Close. It is safe for concurrent
// use; it keeps the latest snapshot of each run of each node, forgetting a
// run a minute after it was last heard from.
type View struct {
	self  backplane.NodeID
	cfg   config
	now   func() time.Time
	sub   *nats.Subscription
	mu    sync.Mutex
	peers map[backplane.NodeID]*peer
}

type peer struct {
	seen     time.Time
	interval time.Duration
	snap     *observer.Snapshot
}

// NewView subscribes on nc to the snapshots of every node but self (this
// node, whose own recorder the handler shows). Messages are handled on
// the connection's dispatcher; each costs one JSON decoding.
func NewView(nc *nats.Conn, self backplane.NodeID, opts ...Option) (*View, error) {
	if nc == nil {
		return nil, errors.New("clusterview: NewView needs a connection")
	}
	if !validNode(self) {
		return nil, fmt.Errorf("%w: %q", ErrBadNode, self.Name)
	}
	v := &View{self: self, cfg: configure(opts), now: time.Now, peers: make(map[backplane.NodeID]*peer)}
	sub, err := nc.Subscribe(Subject+"*", v.receive)
	if err != nil {
		return nil, fmt.Errorf("clusterview: subscribing: %w", err)
	}
	v.sub = sub
	return v, nil
}

// Close stops the subscription. It does not wait for a message being
// handled; the View keeps what it had.
func (v *View) Close() error {
	if err := v.sub.Unsubscribe(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		return fmt.Errorf("clusterview: %w", err)
	}
	return nil
}

func (v *View) receive(m *nats.Msg) {
	var msg message
	if err := json.Unmarshal(m.Data, &msg); err != nil || msg.Snapshot == nil || m.Subject != Subject+msg.Name {
		return // not ours, or a node speaking for another: dropped
	}
	inc, err := strconv.ParseUint(msg.Incarnation, 16, 64)
	id := backplane.NodeID{Name: msg.Name, Incarnation: inc}
	if err != nil || !validNode(id) || id == v.self || msg.Name == v.self.Name && inc == v.self.Incarnation {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	p := v.peers[id]
	if p == nil {
		p = &peer{}
		v.peers[id] = p
	}
	p.seen, p.snap = v.now(), msg.Snapshot
	p.interval = time.Duration(msg.IntervalMS) * time.Millisecond
}

// PeerSnapshots returns the latest snapshot of each run of each other
// node heard from in the last minute, by name and incarnation. A run is
// up when heard from within three of its intervals: a node that restarts
// shows its old run going down and its new one up.
func (v *View) PeerSnapshots() []observer.PeerSnapshot {
	v.mu.Lock()
	defer v.mu.Unlock()
	now := v.now()
	for id, p := range v.peers {
		if now.Sub(p.seen) > v.cfg.forget {
			delete(v.peers, id)
		}
	}
	out := make([]observer.PeerSnapshot, 0, len(v.peers))
	for id, p := range v.peers {
		interval := max(p.interval, v.cfg.interval)
		up := now.Sub(p.seen) <= 3*interval
		out = append(out, observer.PeerSnapshot{Node: id.Name, Incarnation: strconv.FormatUint(id.Incarnation, 16),
			Up: up, LastSeen: p.seen.UTC(), Snapshot: p.snap})
	}
	slices.SortFunc(out, func(a, b observer.PeerSnapshot) int {
		return cmp.Or(cmp.Compare(a.Node, b.Node), cmp.Compare(len(a.Incarnation), len(b.Incarnation)), cmp.Compare(a.Incarnation, b.Incarnation))
	})
	return out
}
