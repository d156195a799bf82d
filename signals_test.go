package backplane

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"
)

// The signals of a device that went down go back to spareSignals when
// nothing else holds them (signals.go). These tests show when they do and,
// above all, when they must not: a channel handed out, or waited on.

func sigOf(d *device) *signals {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.sig
}

// sigReceiveCancelled makes h's Receive wait on its ready channel and give
// up at once.
func sigReceiveCancelled(t *testing.T, h *Device) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.Receive(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Receive with a cancelled context: %v, want context.Canceled", err)
	}
	if sigOf(h.d) == nil {
		t.Fatal("Receive made no signals")
	}
}

func TestSignals_RecycledAtDisconnect(t *testing.T) {
	h := New()
	sigReceiveCancelled(t, h)
	h.Drop()
	if sig := sigOf(h.d); sig != nil {
		t.Errorf("a dropped device that nobody waits on keeps its signals %p", sig)
	}
	// Its inbox and Receive still work as for any device that is down.
	if _, err := h.Receive(context.Background()); !errors.Is(err, ErrDeviceDown) {
		t.Errorf("Receive on a dropped device: %v, want ErrDeviceDown", err)
	}
}

func TestSignals_LentOrDoneAreKept(t *testing.T) {
	for _, tc := range []struct {
		name string
		use  func(h *Device) <-chan struct{}
	}{
		{"Ready", (*Device).Ready},
		{"Done", (*Device).Done},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := New()
			sigReceiveCancelled(t, h)
			c := tc.use(h)
			h.Drop()
			if sigOf(h.d) == nil {
				t.Fatalf("the signals of a device whose %s channel was handed out were recycled", tc.name)
			}
			select {
			case <-c:
			default:
				t.Errorf("the %s channel did not fire at the disconnect", tc.name)
			}
		})
	}
}

// TestSignals_WaiterKeepsThem drops a device while a Receive waits on its
// ready channel: the signals must stay with the device (recycled, their
// token drained, the receiver could wait forever, or steal the token of the
// next device to take them), the receiver is woken, and the signals go back
// only after it has left.
func TestSignals_WaiterKeepsThem(t *testing.T) {
	// With a context that can be done, Receive selects; with Background,
	// whose Done is nil, it receives from the channel alone.
	t.Run("select", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		sigWaiterKeepsThem(t, ctx)
	})
	t.Run("background", func(t *testing.T) { sigWaiterKeepsThem(t, context.Background()) })
}

func sigWaiterKeepsThem(t *testing.T, ctx context.Context) {
	h := New()
	res := make(chan error, 1)
	go func() {
		_, err := h.Receive(ctx)
		res <- err
	}()
	for { // until the receiver waits
		h.d.mu.Lock()
		waiting := h.d.sig != nil && h.d.sig.waiters == 1
		h.d.mu.Unlock()
		if waiting {
			break
		}
		runtime.Gosched()
	}
	// Drop, by hand, to look at the signals while the receiver cannot
	// take the lock back.
	d := h.d
	d.mu.Lock()
	var j downJob
	d.takeDownLocked(&j, dropFault, nil)
	kept := d.sig != nil
	d.mu.Unlock()
	j.run()
	h.stopNet()
	if !kept {
		t.Error("the signals were recycled at the disconnect while a Receive waited on them")
	}
	if err := <-res; !errors.Is(err, ErrDeviceDown) {
		t.Fatalf("a Receive waiting when its device was dropped returned %v, want ErrDeviceDown", err)
	}
	if sig := sigOf(h.d); sig != nil {
		t.Errorf("the signals %p were not recycled after the last receiver left", sig)
	}
}

// TestSignals_Contention runs watchers that wait in Receive for one
// notification and are dropped, many at once, so that recycled signals move
// between devices: every watcher gets its own notification, once.
func TestSignals_Contention(t *testing.T) {
	const workers, per = 8, 300
	timeout, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for i := range workers {
		ctx := timeout
		if i%2 == 0 {
			ctx = context.Background() // Receive's path without a select
		}
		wg.Go(func() {
			for range per {
				w, d := New(), New()
				if err := w.Link(d, Monitor); err != nil {
					t.Error(err)
					return
				}
				gone := make(chan struct{})
				go func() {
					defer close(gone)
					d.Drop()
				}()
				m, err := w.Receive(ctx)
				if err != nil || m.From() != d.ID() {
					t.Errorf("watcher got %v, %v; want the drop of %v", m, err, d.ID())
				}
				<-gone
				if _, ok := w.TryReceive(); ok {
					t.Error("watcher got a second message")
				}
				w.Drop()
			}
		})
	}
	wg.Wait()
}
