package observer_test

import (
	"sync"
	"testing"
	"time"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/observer"
)

// hookMu keeps tests that install the process-wide hook from overlapping,
// even if one of them is ever marked parallel by mistake.
var hookMu sync.Mutex

// withHook adds h to the backplane's hooks for the rest of the test and
// removes it after it.
func withHook(t testing.TB, h backplane.Hook) {
	t.Helper()
	hookMu.Lock()
	remove := backplane.AddHook(h)
	t.Cleanup(func() {
		remove()
		hookMu.Unlock()
	})
}

// t0 is the time of the test clocks.
var t0 = time.Date(2026, 11, 27, 1, 2, 3, 0, time.UTC)

// clock is a settable test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: t0} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// newRecorder returns a Recorder on a fixed clock, installed as the hook.
func newRecorder(t testing.TB, opts ...observer.Option) *observer.Recorder {
	t.Helper()
	rec := observer.NewRecorder(append([]observer.Option{observer.WithClock(func() time.Time { return t0 })}, opts...)...)
	withHook(t, rec.Record)
	return rec
}

// device returns the snapshot entry of id, failing the test if absent.
func device(t testing.TB, s *observer.Snapshot, id backplane.DeviceID) observer.DeviceInfo {
	t.Helper()
	for _, d := range s.Devices {
		if d.ID == id.String() {
			return d
		}
	}
	t.Fatalf("device %v not in snapshot", id)
	return observer.DeviceInfo{}
}

func hasDevice(s *observer.Snapshot, id backplane.DeviceID) bool {
	for _, d := range s.Devices {
		if d.ID == id.String() {
			return true
		}
	}
	return false
}

// panicFault is a panic fault with a fixed stack, for deterministic output.
func panicFault(v any) *backplane.Fault {
	return &backplane.Fault{Kind: backplane.FaultPanic, Value: v, Stack: []byte("goroutine 1 [running]:\nmain.work()")}
}
