package backplane

import (
	"context"
	"testing"
	"unsafe"
)

// TestDeviceLayout guards the hand-packed layout of device (see its doc):
// 128 bytes, the size class whose objects are 128-byte aligned, with the
// fields a notification touches in the first 64 bytes. A new field that
// pushes it over doubles the memory of every device.
func TestDeviceLayout(t *testing.T) {
	if got := unsafe.Sizeof(device{}); got != 128 {
		t.Errorf("device is %d bytes, want 128", got)
	}
	if got := unsafe.Offsetof(device{}.slot) + unsafe.Sizeof(Message{}); got > 64 {
		t.Errorf("the first inbox slot ends at byte %d, want it in the first 64", got)
	}
}

// TestFaultSize guards the size of a Fault (96 bytes, a size class) and of
// a Crash made with its Fault (128): every error a device disconnects with
// allocates one, every failing task one of the other (BENCHMARKS.md,
// "Performance round 2", change 8).
func TestFaultSize(t *testing.T) {
	if got := unsafe.Sizeof(Fault{}); got != 96 {
		t.Errorf("Fault is %d bytes, want 96", got)
	}
	if got := unsafe.Sizeof(crashFault{}); got != 128 {
		t.Errorf("crashFault is %d bytes, want 128", got)
	}
}

// TestSafetyNetLazy guards what makes create_destroy cheap (BENCHMARKS.md,
// "Performance round 2"): a device that is made and dropped without being
// exposed never gets the safety net's finalizer (and one that is exposed
// gets it later, from a flush of the queue: net_test.go), a device is two
// allocations, and the handle stays one small object.
func TestSafetyNetLazy(t *testing.T) {
	if got := unsafe.Sizeof(Device{}); got != 16 {
		t.Errorf("the handle is %d bytes, want 16", got)
	}
	h, w := New(), New()
	defer w.Drop()
	if err := h.Link(w, Monitor); err != nil { // h watches w: w is exposed, h is not
		t.Fatal(err)
	}
	if got := h.net.Load(); got != netIdle {
		t.Errorf("a device that only watches has net state %d, want idle", got)
	}
	if got := w.net.Load(); got != netQueued && got != netArmed {
		t.Errorf("a watched device has net state %d, want queued or armed", got)
	}
	h.Drop()
	if got := h.net.Load(); got != netIdle {
		t.Errorf("a dropped device that was never exposed has net state %d, want idle (no write)", got)
	}
	_ = h.Line()         // a Line to a dropped device arms nothing:
	(*gcTick).flush(nil) // the flush finds it down
	if got := h.net.Load(); got == netArmed {
		t.Error("a Line to a dropped device armed its net")
	}
	// Through a Line, and as a Group's parent, the same holds.
	a, b, c := New(), New(), New()
	if err := b.Line().Link(a, Notify); err != nil { // a watches b
		t.Fatal(err)
	}
	var g Group
	ctx := context.Background()
	if _, err := g.Spawn(ctx, a, Monitor, func(context.Context) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Spawn(ctx, c, Peer, func(context.Context) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	if got := a.net.Load(); got != netIdle {
		t.Errorf("a device that only watches (Line, Group) has net state %d, want idle", got)
	}
	if got := c.net.Load(); got != netQueued && got != netArmed {
		t.Errorf("a Group's parent watched by its task has net state %d, want queued or armed", got)
	}
	a.Drop()
	b.Drop()
	c.Drop()
	if n := testing.AllocsPerRun(100, func() { New().Drop() }); n != 2 {
		t.Errorf("New and Drop make %v allocations, want 2", n)
	}
}
