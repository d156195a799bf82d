package bench

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/backplane-go/backplane"
)

// BenchmarkScale: the chain of BenchmarkMillion at 1,000, 10,000, 100,000
// and 1,000,000 managed devices, beside the same shape in plain goroutines
// (goroutine i waits for goroutine i+1 to end, then ends). Each iteration
// creates the chain (until every task runs), cascades a failure from its
// tail to its root, and collects it (every goroutine returned, then one
// full collection). It reports each phase per device, and the collections
// the runtime ran during the creation (gc-cycles/op). Goal 2 of issue 15
// reads create+cascade+collect per device at 1M against 1k. Run the 1M
// rows with -benchtime=1x; skipped under -short.
func BenchmarkScale(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			b.Run("backplane", func(b *testing.B) { scaleBackplane(b, n) })
			b.Run("plain", func(b *testing.B) { scalePlain(b, n) })
		})
	}
}

// scalePhases accumulates the phases' times over the iterations.
type scalePhases struct {
	create, cascade, collect time.Duration
	gcs                      uint32
}

// add adds one op's phases: created from t0 to t1, cascaded from t1b to
// t2 (t1b after the GC count is read), collected from t2 to t3.
func (p *scalePhases) add(t0, t1, t1b, t2, t3 time.Time) {
	p.create += t1.Sub(t0)
	p.cascade += t2.Sub(t1b)
	p.collect += t3.Sub(t2)
}

func (p *scalePhases) report(b *testing.B, n int) {
	units := float64(b.N) * float64(n)
	b.ReportMetric(float64(p.create.Nanoseconds())/units, "create-ns/device")
	b.ReportMetric(float64(p.cascade.Nanoseconds())/units, "cascade-ns/device")
	b.ReportMetric(float64(p.collect.Nanoseconds())/units, "collect-ns/device")
	b.ReportMetric(float64((p.create+p.cascade+p.collect).Nanoseconds())/units, "total-ns/device")
	b.ReportMetric(float64(p.gcs)/float64(b.N), "gc-cycles/op")
}

func numGC() uint32 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.NumGC
}

func scaleBackplane(b *testing.B, n int) {
	if n > 10_000 {
		skipLarge(b)
	}
	ctx := context.Background()
	var p scalePhases
	runtime.GC()
	for b.Loop() {
		var g backplane.Group
		root, head := backplane.New(), backplane.New()
		if err := root.Link(head, backplane.Monitor); err != nil {
			b.Fatal(err)
		}
		trigger := make(chan struct{})
		gc0 := numGC()
		t0 := time.Now()
		buildChain(b, &g, head, n, trigger)
		headDone := make(chan error, 1)
		go func() { headDone <- head.Manage(ctx, func(ctx context.Context) error { <-ctx.Done(); return nil }) }()
		t1 := time.Now()
		p.gcs += numGC() - gc0
		t1b := time.Now()
		close(trigger)
		m, err := root.Receive(ctx)
		t2 := time.Now()
		if err != nil || m.Fault() == nil {
			b.Fatalf("root got %v, %v; want the cascade", m, err)
		}
		<-headDone
		g.Wait()
		root.Drop()
		runtime.GC()
		t3 := time.Now()
		p.add(t0, t1, t1b, t2, t3)
	}
	p.report(b, n)
}

func scalePlain(b *testing.B, n int) {
	if n > 10_000 {
		skipLarge(b)
	}
	var p scalePhases
	runtime.GC()
	for b.Loop() {
		gc0 := numGC()
		t0 := time.Now()
		chans := make([]chan struct{}, n)
		for j := range chans {
			chans[j] = make(chan struct{})
		}
		var wg, started sync.WaitGroup
		started.Add(n - 1)
		for j := 0; j < n-1; j++ {
			wg.Go(func() {
				started.Done()
				<-chans[j+1]
				close(chans[j])
			})
		}
		started.Wait()
		t1 := time.Now()
		p.gcs += numGC() - gc0
		t1b := time.Now()
		close(chans[n-1])
		<-chans[0]
		t2 := time.Now()
		wg.Wait()
		runtime.GC()
		t3 := time.Now()
		p.add(t0, t1, t1b, t2, t3)
	}
	p.report(b, n)
}
