package cluster_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/cluster"
	"github.com/backplane-go/backplane/cluster/internal/wire"
)

// The attacker of the TestAttack tests: a raw NATS client that plays a
// node, speaking the session protocol by hand, so that it can send frames
// an honest node never sends.

// clusterName is the Cluster of the nodes the tests start.
const clusterName = "backplane"

// subjectsTo are the NATS subjects on which node to may receive the
// frames of node from; inboxesOf are those on which self's frames may
// arrive. The subject layout is the transport's, and is computed here
// only. It went from "<cluster>.node.<to>" to "<cluster>.node.<to>.<from>"
// (names without '.'); the attacker speaks both, and a node listens on
// one only, so each frame arrives once.
func subjectsTo(to, from string) []string {
	return []string{clusterName + ".node." + to, clusterName + ".node." + to + "." + from}
}

func inboxesOf(self string) []string {
	return []string{clusterName + ".node." + self, clusterName + ".node." + self + ".*"}
}

// credentials are the NATS client options that present the cluster's
// secret, as a member does; nil for a stranger.
func credentials(secret string) []nats.Option {
	if secret == "" {
		return nil
	}
	return []nats.Option{nats.Token(secret)}
}

// dial connects to a node's NATS server with secret ("" for none).
func dial(url, secret string) (*nats.Conn, error) {
	return nats.Connect(url, credentials(secret)...)
}

// attacker is a session, played by hand, between a made-up node and a real
// one. Its methods are for the test goroutine only.
type attacker struct {
	t     *testing.T
	nc    *nats.Conn
	self  wire.Node
	to    wire.Node
	in    chan *nats.Msg
	epoch uint64
	seq   uint64 // last Seq sent
	ack   uint64 // last Seq received from to
	ref   uint64 // last Ref of a Lookup sent
}

// attack connects to the NATS server of node at url with secret, as a
// member calling itself name, and opens a session with node.
func attack(t *testing.T, url, secret, name string, node *cluster.Node) *attacker {
	t.Helper()
	nc, err := dial(url, secret)
	if err != nil {
		t.Fatalf("attacker: connect: %v", err)
	}
	t.Cleanup(nc.Close)
	a := &attacker{
		t:     t,
		nc:    nc,
		self:  wire.Node{Name: name, Inc: rand.Uint64() | 1},
		to:    wire.Node{Name: node.ID().Name, Inc: node.ID().Incarnation},
		in:    make(chan *nats.Msg, 1024),
		epoch: rand.Uint64() | 1,
	}
	for _, sub := range inboxesOf(name) {
		if _, err := nc.ChanSubscribe(sub, a.in); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	// As a node does, send nothing more before the node has answered the
	// Hello with its own.
	a.send(&wire.Frame{Kind: wire.KindHello})
	for a.next().Kind != wire.KindHello {
	}
	return a
}

// send sends f to the node, next in the attacker's stream.
func (a *attacker) send(f *wire.Frame) {
	a.t.Helper()
	a.seq++
	f.From, f.To, f.Epoch, f.Seq, f.Ack = a.self, a.to, a.epoch, a.seq, a.ack
	b, err := wire.Append(nil, f)
	if err != nil {
		a.t.Fatalf("attacker: encode %v: %v", f.Kind, err)
	}
	for _, sub := range subjectsTo(a.to.Name, a.self.Name) {
		if err := a.nc.Publish(sub, b); err != nil {
			a.t.Fatalf("attacker: publish: %v", err)
		}
	}
}

// next returns the next frame from the node: of its stream to the
// attacker, which it acknowledges with a heartbeat that also keeps the
// session alive, or a session-less Lookup.
func (a *attacker) next() *wire.Frame {
	a.t.Helper()
	for {
		select {
		case m := <-a.in:
			f, err := wire.Decode(m.Data)
			if err != nil {
				a.t.Fatalf("attacker: decode: %v", err)
			}
			switch {
			case f.From != a.to:
				continue
			case f.Seq == 0: // a session-less Lookup
				return f
			case f.Seq <= a.ack:
				continue // a retransmitted Hello
			}
			a.ack = f.Seq
			a.send(&wire.Frame{Kind: wire.KindHeartbeat})
			return f
		case <-time.After(wait):
			a.t.Fatal("attacker: nothing from the node")
		}
	}
}

// sync returns once the node has handled every frame the attacker sent
// before: frames of a session are handled in order, and the node answers
// a Lookup after them. It returns the frames received meanwhile, other
// than heartbeats and the answer.
func (a *attacker) sync() []*wire.Frame {
	a.t.Helper()
	a.ref++
	a.send(&wire.Frame{Kind: wire.KindLookup, Ref: a.ref, Name: "sync"})
	var got []*wire.Frame
	for {
		f := a.next()
		switch {
		case f.Kind == wire.KindLookupReply && f.Ref == a.ref:
			return got
		case f.Kind != wire.KindHeartbeat && f.Kind != wire.KindHello:
			got = append(got, f)
		}
	}
}

// device is the wire form of the device seq of node.
func device(node backplane.NodeID, seq uint64) wire.Device {
	return wire.Device{Node: wire.Node{Name: node.Name, Inc: node.Incarnation}, Seq: seq}
}

// own is a device of the attacker's own made-up node.
func (a *attacker) own(seq uint64) wire.Device { return wire.Device{Node: a.self, Seq: seq} }

// forgedStats returns n's count of forged frames.
func forged(n *cluster.Node) uint64 { return n.Stats().Forged }
