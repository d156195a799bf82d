package cluster

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/cluster/internal/wire"
	"github.com/backplane-go/backplane/internal/bridge"
)

// downsRun queues the disconnections of n devices on a watching device
// before reportDowns runs, so that all of them are waiting when it starts,
// and returns the frames it sends. fault gives device i's error, nil for a
// clean disconnection. The frames are checked to encode.
func downsRun(t *testing.T, n int, fault func(i int) error) (frames []*wire.Frame, seqs []uint64) {
	t.Helper()
	self := wire.Node{Name: "a", Inc: 1}
	to := wire.Node{Name: "b", Inc: 2}
	node := &Node{self: self}
	watch := backplane.New(bridge.Owned())
	devs := make([]*backplane.Device, n)
	for i := range devs {
		devs[i] = backplane.New()
		if err := watch.Link(devs[i], backplane.Monitor); err != nil {
			t.Fatal(err)
		}
	}
	for i, d := range devs {
		seqs = append(seqs, d.Line().ID().Seq())
		_ = d.Disconnect(fault(i))
	}
	got := 0
	send := func(f *wire.Frame) error {
		f.From, f.Epoch, f.Seq = self, 1, uint64(len(frames)+1)
		if _, err := wire.Append(nil, f); err != nil {
			t.Errorf("frame %d does not encode: %v", len(frames), err)
		}
		cp := *f // f is reused
		frames = append(frames, &cp)
		got += max(1, len(f.Downs))
		if got >= n {
			watch.Drop() // ends reportDowns
		}
		return nil
	}
	node.reportDowns(watch, &downBatch{n: node, to: to, send: send})
	return frames, seqs
}

// flatten lists the devices and fault texts of Down frames in order.
func flatten(t *testing.T, frames []*wire.Frame) (seqs []uint64, texts []string) {
	t.Helper()
	for _, f := range frames {
		if f.Kind != wire.KindDown {
			t.Fatalf("a %v frame", f.Kind)
		}
		if len(f.Downs) == 0 {
			seqs = append(seqs, f.Source.Seq)
			texts = append(texts, faultText(f.Fault))
			continue
		}
		for _, d := range f.Downs {
			seqs = append(seqs, d.Seq)
			texts = append(texts, faultText(d.Fault))
		}
	}
	return seqs, texts
}

func faultText(f *wire.Fault) string {
	if f == nil {
		return "clean"
	}
	return f.Text
}

func checkDowns(t *testing.T, frames []*wire.Frame, want []uint64, fault func(int) error) {
	t.Helper()
	seqs, texts := flatten(t, frames)
	if fmt.Sprint(seqs) != fmt.Sprint(want) {
		t.Fatalf("devices reported %v, want %v in order, once each", seqs, want)
	}
	for i, text := range texts {
		wantText := "clean"
		if err := fault(i); err != nil {
			wantText = err.Error()
		}
		if text != wantText {
			t.Fatalf("device %d: fault %q, want %q", i, text, wantText)
		}
	}
}

// Disconnections already queued go out in one frame, in order, each once,
// with its own fault.
func TestReportDownsBatches(t *testing.T) {
	fault := func(i int) error {
		if i%3 == 0 {
			return nil
		}
		return fmt.Errorf("device %d failed", i)
	}
	frames, want := downsRun(t, 1000, fault)
	checkDowns(t, frames, want, fault)
	if len(frames) != 1 {
		t.Errorf("%d frames for 1000 queued disconnections, want 1", len(frames))
	}
}

// A lone disconnection goes out as a plain Down, with Source.
func TestReportDownsOne(t *testing.T) {
	fault := func(int) error { return errors.New("boom") }
	frames, want := downsRun(t, 1, fault)
	checkDowns(t, frames, want, fault)
	if len(frames) != 1 || len(frames[0].Downs) != 0 || frames[0].Source.Seq != want[0] {
		t.Fatalf("frames %+v, want one Down with Source", frames)
	}
}

// A batch never holds more than MaxDowns, nor more bytes than a frame.
func TestReportDownsSplit(t *testing.T) {
	t.Run("count", func(t *testing.T) {
		fault := func(int) error { return nil }
		n := 2*wire.MaxDowns + 10
		frames, want := downsRun(t, n, fault)
		checkDowns(t, frames, want, fault)
		if len(frames) != 3 {
			t.Errorf("%d frames for %d queued disconnections, want 3", len(frames), n)
		}
	})
	t.Run("bytes", func(t *testing.T) {
		text := strings.Repeat("x", wire.MaxTextLen)
		fault := func(i int) error { return fmt.Errorf("%d %s", i, text) } // clipped to MaxTextLen
		frames, want := downsRun(t, 40, fault)
		seqs, _ := flatten(t, frames)
		if fmt.Sprint(seqs) != fmt.Sprint(want) {
			t.Fatalf("devices reported %v, want %v", seqs, want)
		}
		if len(frames) < 3 {
			t.Errorf("%d frames for 40 faults of 64 KiB, want at least 3", len(frames))
		}
	})
}

// Devices that fail alike, each with a Fault of its own, share one wire
// fault in a frame; a different fault between them gets its own, and a
// panic or a cascade is never taken for an error of the same text.
func TestReportDownsShareFaults(t *testing.T) {
	errA, errB := errors.New("a failed"), errors.New("b failed")
	fault := func(i int) error {
		switch i {
		case 3:
			return errB
		case 4:
			return nil
		case 6:
			return &backplane.Fault{Kind: backplane.FaultPanic, Value: "a failed"}
		}
		return errA
	}
	frames, want := downsRun(t, 9, fault)
	if len(frames) != 1 {
		t.Fatalf("%d frames, want 1", len(frames))
	}
	seqs, texts := flatten(t, frames)
	if fmt.Sprint(seqs) != fmt.Sprint(want) || fmt.Sprint(texts) != "[a failed a failed a failed b failed clean a failed a failed a failed a failed]" {
		t.Fatalf("devices %v with faults %q, want %v", seqs, texts, want)
	}
	d := frames[0].Downs
	for _, c := range []struct {
		i, j  int
		share bool
	}{{0, 1, true}, {1, 2, true}, {2, 3, false}, {3, 5, false}, {2, 5, false}, {5, 6, false}, {6, 7, false}, {7, 8, true}} {
		if (d[c.i].Fault == d[c.j].Fault) != c.share {
			t.Errorf("entries %d and %d: shared %v, want %v", c.i, c.j, !c.share, c.share)
		}
	}
	if k := d[6].Fault.Kind; k != uint8(backplane.FaultPanic) {
		t.Errorf("entry 6: kind %d, want a panic", k)
	}
}
