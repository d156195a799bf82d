package backplane

import (
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"
)

// TestSoak runs the model-based tester continuously for BACKPLANE_SOAK (a
// duration, e.g. 10m; 2.5s when unset; cut short to end 30s before the test
// binary's -timeout), then checks that the goroutine
// count is back to its start and that the live heap, after a collection,
// has not grown beyond a generous bound: no leak under churn. It prints the
// tester's summary line, and a progress line every minute.
//
//	BACKPLANE_SOAK=10m go test -race -timeout 15m -run TestSoak -v ./...
func TestSoak(t *testing.T) {
	d := 2500 * time.Millisecond
	if v := os.Getenv("BACKPLANE_SOAK"); v != "" {
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			t.Fatalf("BACKPLANE_SOAK=%q: %v", v, err)
		}
	}
	if dl, ok := t.Deadline(); ok {
		// go test's default -timeout is 10m: stop in time rather than be
		// killed by it.
		if left := time.Until(dl) - 30*time.Second; d > left {
			t.Logf("soak: shortened from %v to %v by the test timeout; use -timeout %v for the full length", d, left.Round(time.Second), d+5*time.Minute)
			d = max(left, time.Second)
		}
	}
	base := mtBaseSeed(t)
	// Warm up, so that what the runtime starts once (the finalizer
	// goroutine, timers) is counted in the baseline.
	mtLoop(t, base^0x5eed, 50*time.Millisecond, 64)
	g0, h0 := mtSettle()
	start := time.Now()
	var st mtStats
	for chunk := 0; time.Since(start) < d && !t.Failed(); chunk++ {
		left := d - time.Since(start)
		st.add(mtLoop(t, base+uint64(st.programs), min(left, time.Minute), 64))
		if d > time.Minute {
			line := fmt.Sprintf("soak: %v programs=%d ops=%d notifications=%d violations=%d goroutines=%d",
				time.Since(start).Round(time.Second), st.programs, st.ops, st.notes, st.violations, runtime.NumGoroutine())
			t.Log(line)
			if testing.Verbose() {
				fmt.Println(line)
			}
		}
	}
	mtReport(t, st, base)
	g1, h1 := mtSettle()
	t.Logf("soak: %v, goroutines %d -> %d, heap %d -> %d bytes", time.Since(start).Round(time.Millisecond), g0, g1, h0, h1)
	if g1 > g0 {
		t.Errorf("soak: %d goroutines at the start, %d at the end", g0, g1)
	}
	if limit := 2*h0 + 16<<20; h1 > limit {
		t.Errorf("soak: live heap grew from %d to %d bytes (limit %d)", h0, h1, limit)
	}
}

// mtSettle collects garbage until the goroutine count stops falling (the
// runtime's finalizer goroutine may still be dropping collected devices) and
// returns it with the live heap.
func mtSettle() (goroutines int, heap uint64) {
	g := runtime.NumGoroutine()
	for range 50 {
		runtime.GC()
		runtime.Gosched()
		n := runtime.NumGoroutine()
		if n >= g {
			break
		}
		g = n
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return runtime.NumGoroutine(), ms.HeapAlloc
}
