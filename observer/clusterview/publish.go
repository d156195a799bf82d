package clusterview

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/observer"
)

// Subject is the prefix of the subjects nodes publish on: a node named db
// publishes on "backplane.observer.db".
const Subject = "backplane.observer."

// Option configures Publish and NewView.
type Option interface{ apply(*config) }

type config struct {
	interval   time.Duration
	maxDevices int
	forget     time.Duration
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

func configure(opts []Option) config {
	c := config{interval: time.Second, maxDevices: 2000, forget: time.Minute}
	for _, o := range opts {
		o.apply(&c)
	}
	return c
}

// WithInterval sets how often Publish sends a snapshot, and how long a
// View waits (three times that) before it deems a silent node not up. It
// must be the same on every node. Default one second; at least 10ms.
func WithInterval(d time.Duration) Option {
	return optionFunc(func(c *config) { c.interval = max(d, 10*time.Millisecond) })
}

// WithMaxDevices sets the most devices a published snapshot holds, alive
// first. Default 2000; at least 1.
func WithMaxDevices(n int) Option {
	return optionFunc(func(c *config) { c.maxDevices = max(n, 1) })
}

// message is what a node publishes.
type message struct {
	Name        string             `json:"name"`
	Incarnation string             `json:"incarnation"`
	IntervalMS  int64              `json:"interval_ms"`
	Snapshot    *observer.Snapshot `json:"snapshot"`
}

// ErrBadNode is returned by Publish and NewView for a NodeID without a
// name, or with one that is not a single NATS subject token.
var ErrBadNode = errors.New("clusterview: node needs a name without spaces, dots, '*' or '>'")

func validNode(n backplane.NodeID) bool {
	if n.Name == "" {
		return false
	}
	for _, r := range n.Name {
		switch r {
		case '.', '*', '>', ' ', '\t', '\r', '\n':
			return false
		}
	}
	return true
}

// Publish sends rec's snapshot as node's on nc once per interval until
// ctx is done, then returns nil. It blocks: run it in a goroutine that you
// stop by cancelling ctx. A failed send is retried at the next interval;
// each costs one Snapshot of the recorder (see observer.Recorder.Snapshot)
// and one JSON encoding.
func Publish(ctx context.Context, nc *nats.Conn, node backplane.NodeID, rec *observer.Recorder, opts ...Option) error {
	if nc == nil || rec == nil {
		return errors.New("clusterview: Publish needs a connection and a recorder")
	}
	if !validNode(node) {
		return fmt.Errorf("%w: %q", ErrBadNode, node.Name)
	}
	cfg := configure(opts)
	subject := Subject + node.Name
	inc := strconv.FormatUint(node.Incarnation, 16)
	tick := time.NewTicker(cfg.interval)
	defer tick.Stop()
	for {
		n := cfg.maxDevices
		for {
			s := rec.Snapshot(observer.SnapshotOptions{MaxDevices: n, MaxEvents: -1})
			b, err := json.Marshal(message{Name: node.Name, Incarnation: inc, IntervalMS: cfg.interval.Milliseconds(), Snapshot: s})
			if err != nil {
				return fmt.Errorf("clusterview: encoding a snapshot: %w", err)
			}
			if int64(len(b)) > nc.MaxPayload() && n > 1 {
				n /= 2 // too big for one message: fewer devices
				continue
			}
			_ = nc.Publish(subject, b) // a failure is retried at the next tick
			break
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}
