package backplane

import (
	"runtime"
	"runtime/debug"
	"sync"
	"testing"
	"time"
)

// The safety net is set in two steps (net.go): an exposure queues the
// handle, and a flush of the queue (at the next collection, or when
// netBatch handles wait) sets the finalizer of each device still up. The
// GC tests (gc_test.go) show that a forgotten exposed device is dropped;
// these show each way the queue is flushed, and that a device that went
// down before the flush never gets a finalizer.

// netNoGC turns the collector off for the rest of the test, so that no
// collection flushes the queue behind its back.
func netNoGC(t *testing.T) {
	t.Helper()
	old := debug.SetGCPercent(-1)
	t.Cleanup(func() { debug.SetGCPercent(old) })
}

func TestNetQueue_DownBeforeFlushIsNeverArmed(t *testing.T) {
	netNoGC(t)
	for {
		up, gone := New(), New()
		_, _ = up.Line(), gone.Line()
		if gone.net.Load() != netQueued {
			// A flush queued by an earlier collection ran in between
			// (the finalizer goroutine may run late): try again.
			up.Drop()
			gone.Drop()
			continue
		}
		gone.Drop()
		(*gcTick).flush(nil)
		if got := up.net.Load(); got != netArmed {
			t.Errorf("a connected device has net state %d after a flush, want armed", got)
		}
		if got := gone.net.Load(); got != netOff {
			t.Errorf("a device dropped before the flush has net state %d after it, want off", got)
		}
		up.Drop()
		if got := up.net.Load(); got != netOff {
			t.Errorf("a dropped device has net state %d, want off", got)
		}
		return
	}
}

// TestNetQueue_DownOtherwiseIsNeverArmed: a device that went down other
// than through its handle (here a Kill through a Line) has an idle or
// queued handle, and the flush must find it down.
func TestNetQueue_DownOtherwiseIsNeverArmed(t *testing.T) {
	netNoGC(t)
	h := New()
	defer h.Drop()
	if err := h.Line().Kill(DeviceID{}, nil); err != nil {
		t.Fatal(err)
	}
	(*gcTick).flush(nil)
	if got := h.net.Load(); got == netArmed {
		t.Error("the flush armed the net of a device killed before it")
	}
}

// TestNetQueue_FullBatchIsFlushedAtOnce exposes two batches' worth of
// devices with the collector off: the goroutine that fills the queue
// flushes it, so fewer than a batch may still wait, and every device
// flushed is armed.
func TestNetQueue_FullBatchIsFlushedAtOnce(t *testing.T) {
	netNoGC(t)
	hs := make([]*Device, 2*netBatch)
	queued := 0
	for i := range hs {
		hs[i] = New()
		defer hs[i].Drop()
		_ = hs[i].Line()
	}
	for i, h := range hs {
		switch got := h.net.Load(); got {
		case netQueued:
			queued++
		case netArmed:
		default:
			t.Errorf("exposed device %d has net state %d, want queued or armed", i, got)
		}
	}
	if queued >= netBatch {
		t.Errorf("%d of %d exposed devices wait in the queue, want fewer than a batch (%d)", queued, len(hs), netBatch)
	}
}

func TestNetQueue_CollectionFlushes(t *testing.T) {
	h := New()
	defer h.Drop()
	_ = h.Line()
	deadline := time.Now().Add(20 * time.Second)
	for h.net.Load() != netArmed {
		if time.Now().After(deadline) {
			t.Fatalf("net state %d after collections for 20s, want armed", h.net.Load())
		}
		runtime.GC()
		runtime.Gosched()
	}
}

// TestNetQueue_Contention exposes and ends devices from many goroutines
// while collections and flushes run, each device watched by one watcher
// per goroutine: every watcher is told of each of its devices exactly once,
// whichever of the drop, the flush and the finalizer comes first.
func TestNetQueue_Contention(t *testing.T) {
	const workers, per = 8, 500
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var gcs sync.WaitGroup
	gcs.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				runtime.GC()
			}
		}
	})
	for range workers {
		wg.Go(func() {
			w := New()
			defer w.Drop()
			for i := range per {
				d := New()
				if err := w.Link(d, Monitor); err != nil {
					t.Error(err)
					return
				}
				if i%2 == 0 {
					d.Drop()
				} else if err := d.Disconnect(nil); err != nil {
					t.Error(err)
					return
				}
				m, ok := w.TryReceive()
				if !ok || m.From() != d.ID() {
					t.Errorf("watcher got %v, %v; want the end of %v", m, ok, d.ID())
					return
				}
				if n := w.Pending(); n != 0 {
					t.Errorf("watcher has %d more messages, want none", n)
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	gcs.Wait()
}
