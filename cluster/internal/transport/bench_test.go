package transport

import (
	"testing"
	"time"

	"github.com/backplane-go/backplane/cluster/internal/wire"
)

// echo is a Handler that answers every frame of kind Shutdown with a
// frame back, and passes the answers to done.
type echo struct {
	self func() *Transport
	done chan uint64
}

func (e *echo) Receive(f *wire.Frame) {
	if f.Source.IsZero() {
		_ = e.self().Send(&wire.Frame{Kind: wire.KindShutdown, To: f.From, Target: f.Target, Source: wire.Device{Node: f.From, Seq: 1}})
		return
	}
	e.done <- f.Target
}

func (e *echo) Down(wire.Node, error) {}

// benchPair starts a (embedding the server) and b (connected to it), with
// echoing handlers.
func benchPair(b *testing.B) (ta, tb *Transport, ea, eb *echo) {
	ea, eb = &echo{done: make(chan uint64, 1<<16)}, &echo{done: make(chan uint64, 1<<16)}
	var err error
	ta, err = Start(full(Config{Name: "a"}), ea)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ta.Close() })
	tb, err = Start(full(benchPeer(ta)), eb)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { tb.Close() })
	ea.self, eb.self = func() *Transport { return ta }, func() *Transport { return tb }
	return ta, tb, ea, eb
}

// benchPeer is the Config of node b, connecting to a's server.
func benchPeer(a *Transport) Config {
	return Config{Name: "b", URL: a.ClientURL(), Secret: a.Secret()}
}

// BenchmarkRoundTrip: a frame from a to b and b's answer, one at a time.
func BenchmarkRoundTrip(b *testing.B) {
	ta, tb, ea, _ := benchPair(b)
	n := uint64(0)
	for b.Loop() {
		n++
		if err := ta.Send(&wire.Frame{Kind: wire.KindShutdown, To: tb.Self(), Target: n}); err != nil {
			b.Fatal(err)
		}
		<-ea.done
	}
}

// BenchmarkBurst: bursts of 1000 frames from a to b, each answered; one op
// is one frame there and back.
func BenchmarkBurst(b *testing.B) {
	const burst = 1000
	ta, tb, ea, _ := benchPair(b)
	n := uint64(0)
	for i := 0; b.Loop(); i++ {
		n++
		if err := ta.Send(&wire.Frame{Kind: wire.KindShutdown, To: tb.Self(), Target: n}); err != nil {
			b.Fatal(err)
		}
		if i%burst == burst-1 {
			for range burst {
				<-ea.done
			}
		}
	}
	for len(ea.done) > 0 {
		<-ea.done
	}
}

// BenchmarkDropUnknown: the cost of a frame from a sender without a
// session, which a flood is made of.
func BenchmarkDropUnknown(b *testing.B) {
	t, err := newMem(Config{Name: "a"}, &echo{}, nowFunc, func(string, []byte) error { return nil })
	if err != nil {
		b.Fatal(err)
	}
	data, err := wire.Append(nil, &wire.Frame{Kind: wire.KindHeartbeat, From: wire.Node{Name: "f1", Inc: 1}, To: t.Self(), Epoch: 1, Seq: 7})
	if err != nil {
		b.Fatal(err)
	}
	subject := "backplane.node.a.f1"
	b.ReportAllocs()
	for b.Loop() {
		if t.admit(subject, data, nowFunc()) != nil {
			b.Fatal("admitted")
		}
	}
}

var nowFunc = time.Now
