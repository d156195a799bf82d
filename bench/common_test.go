package bench

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"runtime"
	"sync"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
)

var errBench = errors.New("bench: task failed")

// skipLarge skips the 100k and 1M shapes under -short, so that a smoke run
// (go test -short -bench=. -benchtime=1x) stays quick.
func skipLarge(b *testing.B) {
	if testing.Short() {
		b.Skip("large shape skipped under -short")
	}
}

// perUnit reports the benchmark's measured time divided by units (the
// notifications or hops of all iterations) as a custom metric.
func perUnit(b *testing.B, units int, unit string) {
	if units > 0 {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(units), unit)
	}
}

// waitTask is a managed task that only waits to be stopped.
func waitTask(started *sync.WaitGroup) func(context.Context) error {
	return func(ctx context.Context) error {
		started.Done()
		<-ctx.Done()
		return nil
	}
}

// footprint is the memory the runtime holds for live objects after a full
// collection: heap objects, goroutine stacks, and the off-heap records
// counted in OtherSys (the finalizer record of each device's safety net).
// The runtime reuses the records it freed without growing OtherSys, so a
// census counts them only in a process that has freed none: bench/compare
// runs each sample of BenchmarkMemory in a fresh process.
func footprint() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc + ms.StackInuse + ms.OtherSys
}

// perObject reports (after - before) / n as metric unit.
func perObject(b *testing.B, before, after uint64, n int, unit string) {
	b.ReportMetric(float64(int64(after)-int64(before))/float64(n), unit)
}

var (
	protoOnce sync.Once
	protoSys  *actor.ActorSystem
)

// protoSystem returns the process's protoactor system, made on first use
// with logging discarded so that dead letters do not print.
func protoSystem() *actor.ActorSystem {
	protoOnce.Do(func() {
		protoSys = actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
			return slog.New(slog.NewTextHandler(io.Discard, nil))
		}))
	})
	return protoSys
}
