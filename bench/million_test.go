package bench

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/backplane-go/backplane"
)

const million = 1_000_000

// BenchmarkMillion/devices_edges: one million managed devices, each on its
// own goroutine, in a chain of one million edges (each device watches the
// next; a root device watches the head), are created, the last one fails
// and the failure cascades to the root, every goroutine returns and
// everything is collected. Skipped under -short; run it with
// -benchtime=1x. It reports:
//
//   - peak-heap-MB, peak-stack-MB: live heap and goroutine stacks once the
//     chain is built (the peak of live data), after a full collection;
//   - create-ns/device, cascade-ns/hop: the two timed phases;
//   - after-gc-MB: live heap once everything is released and collected,
//     which should be back near where it started (before-MB).
//
// ns/op covers the whole iteration, collections included.
func BenchmarkMillion(b *testing.B) {
	b.Run("devices_edges", func(b *testing.B) {
		b.Run("backplane", millionBackplane)
	})
}

func heapStack() (heap, stack uint64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc, ms.StackInuse
}

func millionBackplane(b *testing.B) {
	skipLarge(b)
	const mb = 1 << 20
	ctx := context.Background()
	var peakHeap, peakStack, beforeHeap, afterHeap uint64
	var create, cascade time.Duration
	for b.Loop() {
		beforeHeap, _ = heapStack()
		var g backplane.Group
		root := backplane.New()
		head := backplane.New()
		if err := root.Link(head, backplane.Monitor); err != nil {
			b.Fatal(err)
		}
		trigger := make(chan struct{})
		t0 := time.Now()
		buildChain(b, &g, head, million, trigger)
		headDone := make(chan error, 1)
		go func() { headDone <- head.Manage(ctx, func(ctx context.Context) error { <-ctx.Done(); return nil }) }()
		create = time.Since(t0)
		h, s := heapStack()
		peakHeap, peakStack = max(peakHeap, h), max(peakStack, s)

		t1 := time.Now()
		close(trigger)
		m, err := root.Receive(ctx)
		cascade = time.Since(t1)
		if err != nil || m.Fault() == nil {
			b.Fatalf("root got %v, %v; want the cascade", m, err)
		}
		<-headDone
		g.Wait()
		root.Drop()
		afterHeap, _ = heapStack()
	}
	b.ReportMetric(float64(peakHeap)/mb, "peak-heap-MB")
	b.ReportMetric(float64(peakStack)/mb, "peak-stack-MB")
	b.ReportMetric(float64(create.Nanoseconds())/million, "create-ns/device")
	b.ReportMetric(float64(cascade.Nanoseconds())/million, "cascade-ns/hop")
	b.ReportMetric(float64(beforeHeap)/mb, "before-MB")
	b.ReportMetric(float64(afterHeap)/mb, "after-gc-MB")
}
