package backplane_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/backplane-go/backplane"
)

// The seed suite: each benchmark mirrors the async-backplane benchmark of
// the same name, so the two can be read side by side (BENCHMARKS.md). One
// iteration creates two devices, links them (directly or through Lines),
// ends one of them with Drop or Disconnect(err) and, for the "_notify"
// variants, reads the notification the other one received with TryReceive.
// Peers and larger shapes live in the separate module under bench/.

var (
	errBench = errors.New("bench: task failed")
	sinkLine backplane.Line
	sinkMsg  backplane.Message
)

// how a seed benchmark links its two devices.
type linkVia uint8

const (
	viaDevice     linkVia = iota // a.Link(b, mode)
	viaLine                      // a.Link(b.Line(), mode)
	viaLineToLine                // a.Line().Link(b.Line(), mode)
)

func link(b *testing.B, a, z *backplane.Device, via linkVia, mode backplane.LinkMode) {
	var err error
	switch via {
	case viaDevice:
		err = a.Link(z, mode)
	case viaLine:
		err = a.Link(z.Line(), mode)
	case viaLineToLine:
		err = a.Line().Link(z.Line(), mode)
	}
	if err != nil {
		b.Fatal(err)
	}
}

// pairNoNotify: the watcher goes first, so nobody is told anything (the
// seed's "_drop" benchmarks without "_notify").
func pairNoNotify(b *testing.B, via linkVia) {
	b.ReportAllocs()
	for b.Loop() {
		d1, d2 := backplane.New(), backplane.New()
		link(b, d1, d2, via, backplane.Monitor)
		d1.Drop()
		d2.Drop()
	}
}

// pairNotify: d2 ends (Drop, or Disconnect with an error when fail is set)
// and d1, which monitors it (or is its peer), reads the notification.
func pairNotify(b *testing.B, via linkVia, mode backplane.LinkMode, fail bool) {
	b.ReportAllocs()
	for b.Loop() {
		d1, d2 := backplane.New(), backplane.New()
		link(b, d1, d2, via, mode)
		if fail {
			if err := d2.Disconnect(errBench); err != nil {
				b.Fatal(err)
			}
		} else {
			d2.Drop()
		}
		m, ok := d1.TryReceive()
		if !ok || m.Kind() != backplane.Disconnected {
			b.Fatalf("watcher got %v, %v; want a Disconnected message", m, ok)
		}
		sinkMsg = m
		d1.Drop()
	}
}

// BenchmarkDevice mirrors the seed's benches/device.rs.
func BenchmarkDevice(b *testing.B) {
	b.Run("create_destroy", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			d := backplane.New()
			d.Drop()
		}
	})
	b.Run("device_monitor_drop", func(b *testing.B) { pairNoNotify(b, viaDevice) })
	b.Run("device_monitor_drop_notify", func(b *testing.B) { pairNotify(b, viaDevice, backplane.Monitor, false) })
	b.Run("device_monitor_error_notify", func(b *testing.B) { pairNotify(b, viaDevice, backplane.Monitor, true) })
	b.Run("device_peer_drop_notify", func(b *testing.B) { pairNotify(b, viaDevice, backplane.Peer, false) })
	b.Run("device_peer_error_notify", func(b *testing.B) { pairNotify(b, viaDevice, backplane.Peer, true) })
	b.Run("line_monitor_drop", func(b *testing.B) { pairNoNotify(b, viaLine) })
	b.Run("line_monitor_drop_notify", func(b *testing.B) { pairNotify(b, viaLine, backplane.Monitor, false) })
	b.Run("line_monitor_error_notify", func(b *testing.B) { pairNotify(b, viaLine, backplane.Monitor, true) })
	b.Run("line_peer_drop_notify", func(b *testing.B) { pairNotify(b, viaLine, backplane.Peer, false) })
	b.Run("line_peer_error_notify", func(b *testing.B) { pairNotify(b, viaLine, backplane.Peer, true) })
}

// BenchmarkLine mirrors the seed's benches/line.rs: Lines on both sides.
func BenchmarkLine(b *testing.B) {
	b.Run("create_destroy", func(b *testing.B) {
		// Making a Line must not allocate (issue 3).
		d := backplane.New()
		defer d.Drop()
		b.ReportAllocs()
		for b.Loop() {
			sinkLine = d.Line()
		}
	})
	b.Run("line_monitor_drop", func(b *testing.B) { pairNoNotify(b, viaLineToLine) })
	b.Run("line_monitor_drop_notify", func(b *testing.B) { pairNotify(b, viaLineToLine, backplane.Monitor, false) })
	b.Run("line_monitor_error_notify", func(b *testing.B) { pairNotify(b, viaLineToLine, backplane.Monitor, true) })
	b.Run("line_peer_drop_notify", func(b *testing.B) { pairNotify(b, viaLineToLine, backplane.Peer, false) })
	b.Run("line_peer_error_notify", func(b *testing.B) { pairNotify(b, viaLineToLine, backplane.Peer, true) })
}

// BenchmarkHub/leave_N: a hub watches N devices; one iteration creates one
// more, links it, disconnects it and reads the hub's notification. The
// hub's side of the notification removes the device from a table of N
// links, the step a node's watcher of its exported devices takes for each.
func BenchmarkHub(b *testing.B) {
	for _, n := range []int{10_000} {
		b.Run(fmt.Sprintf("leave_%d", n), func(b *testing.B) {
			hub := backplane.New()
			defer hub.Drop()
			others := make([]*backplane.Device, n)
			for i := range others {
				others[i] = backplane.New()
				if err := hub.Link(others[i], backplane.Monitor); err != nil {
					b.Fatal(err)
				}
			}
			defer func() {
				for _, o := range others {
					o.Drop()
				}
			}()
			b.ReportAllocs()
			for b.Loop() {
				d := backplane.New()
				if err := hub.Link(d, backplane.Monitor); err != nil {
					b.Fatal(err)
				}
				if err := d.Disconnect(errBench); err != nil {
					b.Fatal(err)
				}
				if m, ok := hub.TryReceive(); !ok || m.Kind() != backplane.Disconnected {
					b.Fatalf("hub got %v, %v; want a Disconnected message", m, ok)
				}
			}
		})
	}
}
