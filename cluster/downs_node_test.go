package cluster_test

import (
	"fmt"
	"testing"

	"github.com/backplane-go/backplane"
)

// A burst of disconnections across nodes: every watcher on the other node
// is told once, with its device's own fault, and one watcher of many
// devices is told in the order they disconnected. The burst goes out in
// Down frames of several devices when the reporting node falls behind
// (TestReportDownsBatches shows the batching itself); this checks what
// the receiving node makes of them, many times over.
func TestDownBurst(t *testing.T) {
	a, b := pair(t)
	const n = 300
	for round := range 5 {
		devs := make([]*backplane.Device, n)
		watchers := make([]*backplane.Device, n)
		all := backplane.New() // watches every device
		for i := range devs {
			devs[i] = backplane.New()
			l := remote(t, a, b, fmt.Sprintf("burst%d-%d", round, i), devs[i])
			watchers[i] = backplane.New()
			if err := watchers[i].Link(l, backplane.Monitor); err != nil {
				t.Fatal(err)
			}
			if err := all.Link(l, backplane.Monitor); err != nil {
				t.Fatal(err)
			}
		}
		settle(t, b, a)
		for i, d := range devs {
			var err error
			if i%2 == 1 {
				err = fmt.Errorf("device %d failed", i)
			}
			_ = d.Disconnect(err)
		}
		ctx := ctxFor(t)
		for i, d := range devs {
			m, err := all.Receive(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if m.Kind() != backplane.Disconnected || m.From().Seq() != d.ID().Seq() {
				t.Fatalf("round %d: message %d is %v, want the disconnection of %v", round, i, m, d.ID())
			}
			if (m.Fault() != nil) != (i%2 == 1) || m.Fault() != nil && m.Fault().Err.Error() != fmt.Sprintf("device %d failed", i) {
				t.Fatalf("round %d: device %d: fault %v", round, i, m.Fault())
			}
		}
		for i, w := range watchers {
			m, err := w.Receive(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if m.From().Seq() != devs[i].ID().Seq() {
				t.Fatalf("round %d: watcher %d told of %v", round, i, m.From())
			}
			if m, ok := w.TryReceive(); ok {
				t.Fatalf("round %d: watcher %d told twice: %v", round, i, m)
			}
			w.Drop()
		}
		all.Drop()
	}
}
