package backplane

import (
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
