package transport

import (
	"fmt"
	"time"

	"github.com/backplane-go/backplane/cluster/internal/wire"
)

// crash closes t without Byes, as if the process died.
func (t *Transport) crash() {
	t.closeOnce.Do(func() { t.closeErr = t.shutdown(false) })
}

// epochs returns the epochs of the live session with n.
func (t *Transport) epochs(n wire.Node) (tx, rx, txSeq uint64, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.lookup(n)
	if p == nil || p.sess == nil {
		return 0, 0, 0, false
	}
	s := p.sess
	return s.txEpoch, s.rxEpoch, s.txSeq, true
}

// newMem returns a Transport that is not connected to NATS, for driving
// the session protocol by hand: what it publishes goes to pub, which must
// not call back into it, and its time is clock.
func newMem(cfg Config, h Handler, clock func() time.Time, pub func(subject string, data []byte) error) (*Transport, error) {
	t, err := newTransport(full(cfg), h)
	if err != nil {
		return nil, err
	}
	t.clock, t.pub = clock, pub
	t.connected = func() bool { return true }
	return t, nil
}

// deliver runs one message through admit and receive, then makes the
// callbacks.
func (t *Transport) deliver(subject string, data []byte) {
	if f := t.admit(subject, data, t.clock()); f != nil {
		t.mu.Lock()
		t.receive(f, t.clock())
		t.mu.Unlock()
	}
	t.drain()
}

// memTick runs the ticker's work once, then makes the callbacks.
func (t *Transport) memTick() {
	t.tick(t.clock())
	t.drain()
}

// memClose ends every session as Close does, without NATS.
func (t *Transport) memClose() {
	t.mu.Lock()
	t.closed = true
	t.forEachSession(func(p *peer) { t.end(p, ErrClosed, true) })
	t.mu.Unlock()
	t.drain()
}

// census counts what t remembers, and checks the bookkeeping: it returns
// an error if the counts disagree.
type census struct {
	names, records, tombs, sessions, halfOpen, queuedDowns int
}

func (t *Transport) census() (census, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := census{names: len(t.names), halfOpen: t.halfOpen}
	half := 0
	for name, nr := range t.names {
		if len(nr.incs) == 0 || nr.name != name {
			return c, fmt.Errorf("name %q: %d records, named %q", name, len(nr.incs), nr.name)
		}
		tombs := 0
		for _, p := range nr.incs {
			c.records++
			if p.tomb {
				tombs++
				if p.sess != nil || p.queuedDowns > 0 {
					return c, fmt.Errorf("%v: a tombstone with a session or a queued Down", p.node)
				}
			} else if p.sess == nil && p.queuedDowns == 0 && !t.closed {
				return c, fmt.Errorf("%v: neither live nor a tombstone", p.node)
			}
			if p.sess != nil {
				c.sessions++
				if p.sess.halfOpen() {
					half++
				}
			}
			c.queuedDowns += p.queuedDowns
		}
		if tombs != nr.tombs || tombs > MaxTombstonesPerName {
			return c, fmt.Errorf("name %q: %d tombstones, counted %d", name, tombs, nr.tombs)
		}
		c.tombs += tombs
	}
	if c.tombs != t.tombs.n || c.tombs > MaxTombstones {
		return c, fmt.Errorf("%d tombstones, listed %d", c.tombs, t.tombs.n)
	}
	if half != t.halfOpen || half > MaxHalfOpen {
		return c, fmt.Errorf("%d sessions half-open, counted %d", half, t.halfOpen)
	}
	return c, nil
}

// testCluster is the Cluster of the tests' transports.
const testCluster = "backplane"

// full returns cfg with the fields the transport requires set as
// cluster.Config's defaults would set them, where the test left them zero.
func full(cfg Config) Config {
	if cfg.Cluster == "" {
		cfg.Cluster = testCluster
	}
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.RouteListen == "" && len(cfg.Routes) > 0 && cfg.URL == "" {
		cfg.RouteListen = "127.0.0.1:0"
	}
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = 100 * time.Millisecond
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = time.Second
	}
	return cfg
}
