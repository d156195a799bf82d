package cluster

import (
	"errors"
	"testing"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/cluster/internal/wire"
	"github.com/backplane-go/backplane/internal/bridge"
)

// BenchmarkOnDown is the receiving side of a burst, without the network:
// one op is a Down frame of MaxDowns devices of another node, all failed
// with one error, handed to the node's handler (onDown), whose proxies of
// them are all watched by one local device, as the counter of
// BenchmarkRemote/throughput watches them. Making the proxies and reading
// the watcher's messages are outside the timer. ns/down is per device.
func BenchmarkOnDown(b *testing.B) {
	n, err := Start(Config{Name: "a"})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = n.Close() }()
	from := wire.Node{Name: "b", Inc: 2}
	fault := &wire.Fault{Kind: uint8(backplane.FaultError), Text: "bench: device failed"}
	f := &wire.Frame{Kind: wire.KindDown, From: from, To: n.self, Downs: make([]wire.Down, wire.MaxDowns)}
	seq := uint64(0)
	b.ReportAllocs()
	for range b.N {
		b.StopTimer()
		w := backplane.New()
		for i := range f.Downs {
			seq++
			p, err := n.proxyWatched(bridge.RemoteID(nodeID(from), seq), "")
			if err != nil {
				b.Fatal(err)
			}
			if err := w.Link(p, backplane.Monitor); err != nil {
				b.Fatal(err)
			}
			f.Downs[i] = wire.Down{Seq: seq, Fault: fault}
		}
		b.StartTimer()
		n.onDown(f)
		b.StopTimer()
		for range f.Downs {
			m, ok := w.TryReceive()
			if !ok || m.Fault() == nil || !errors.As(m.Fault(), new(*RemoteError)) {
				b.Fatalf("got %v, %v, want a Disconnected with a remote error", m, ok)
			}
		}
		w.Drop()
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(f.Downs)), "ns/down")
}
