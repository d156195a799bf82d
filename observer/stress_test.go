package observer_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/observer"
)

// TestRecorderConcurrent records events from many goroutines while
// snapshots are taken, then checks that the model agrees with itself.
func TestRecorderConcurrent(t *testing.T) {
	rec := newRecorder(t, observer.WithRetention(0))
	ctx := context.Background()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
				rec.Snapshot(observer.SnapshotOptions{MaxDevices: 50, MaxEvents: 10})
				rec.Series(60)
			}
		}
	}()
	keep := make([][]*backplane.Device, 8)
	for w := range 8 {
		wg.Go(func() {
			var g backplane.Group
			hub := backplane.New()
			for i := range 200 {
				d := backplane.New()
				_ = hub.Link(d, backplane.Peer)
				switch i % 4 {
				case 0:
					_ = d.Disconnect(errors.New("x"))
				case 1:
					_, _ = hub.Unlink(d, backplane.Notify)
					keep[w] = append(keep[w], d)
				case 2:
					keep[w] = append(keep[w], d)
				case 3:
					_, _ = g.Spawn(ctx, d, backplane.Notify, func(context.Context) error { return errors.New("y") })
					d.Drop()
				}
			}
			g.Wait()
			keep[w] = append(keep[w], hub)
		})
	}
	wg.Wait()
	close(stop)

	s := rec.Snapshot(observer.SnapshotOptions{})
	alive, ends := 0, 0
	state := map[string]string{}
	for _, d := range s.Devices {
		state[d.ID] = d.State
	}
	for _, d := range s.Devices {
		if d.State == "alive" {
			alive++
		}
		for _, l := range d.Links {
			ends++
			if state[l.Peer] != "alive" || d.State != "alive" {
				t.Errorf("link %s-%s involves a device that is down", d.ID, l.Peer)
			}
		}
	}
	if alive != s.Stats.Alive || ends != 2*s.Stats.Links {
		t.Errorf("stats %+v disagree with the devices: %d alive, %d link ends", s.Stats, alive, ends)
	}
	if want := 8 * (100 + 1); alive != want {
		t.Errorf("%d devices alive, want %d", alive, want)

	}
	for _, ds := range keep {
		for _, d := range ds {
			d.Drop()
		}
	}
	if s := rec.Stats(); s.Alive != 0 || s.Links != 0 || s.Down != 0 {
		t.Errorf("after dropping everything: %+v", s)
	}
}

func BenchmarkRecord(b *testing.B) {
	x, y := backplane.New(), backplane.New()
	defer x.Drop()
	defer y.Drop()
	link := backplane.Event{Kind: backplane.EventLinked, Device: x.ID(), Peer: y.ID(), Mode: backplane.Monitor}
	unlink := link
	unlink.Kind = backplane.EventUnlinked

	// The baseline is a hook that does nothing.
	b.Run("nop", func(b *testing.B) {
		h := backplane.Hook(func(backplane.Event) {})
		b.ReportAllocs()
		for b.Loop() {
			h(link)
			h(unlink)
		}
	})
	b.Run("recorder", func(b *testing.B) {
		rec := observer.NewRecorder()
		b.ReportAllocs()
		for b.Loop() {
			rec.Record(link)
			rec.Record(unlink)
		}
	})
	b.Run("recorder-parallel", func(b *testing.B) {
		rec := observer.NewRecorder()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				rec.Record(link)
				rec.Record(unlink)
			}
		})
	})
	b.Run("create-disconnect", func(b *testing.B) {
		rec := newRecorder(b, observer.WithRetention(0))
		_ = rec
		b.ReportAllocs()
		for b.Loop() {
			backplane.New().Drop()
		}
	})
}

// BenchmarkSnapshot measures a snapshot of 5000 devices (4000 alive in
// chains of links, 1000 down with faults), which is what the page loads.
func BenchmarkSnapshot(b *testing.B) {
	rec := observer.NewRecorder(observer.WithMaxDown(1000))
	var keep []*backplane.Device
	var prev *backplane.Device
	for i := range 5000 {
		d := backplane.New(backplane.WithName("worker"))
		rec.Record(backplane.Event{Kind: backplane.EventCreated, Device: d.ID(), Name: "worker"})
		if prev != nil {
			rec.Record(backplane.Event{Kind: backplane.EventLinked, Device: prev.ID(), Peer: d.ID(), Mode: backplane.Peer})
		}
		if i%5 == 4 {
			rec.Record(backplane.Event{Kind: backplane.EventDisconnected, Device: d.ID(), Fault: backplane.ErrorFault(errors.New("x"))})
			prev = nil
		} else {
			prev = d
		}
		keep = append(keep, d)
	}
	defer func() {
		for _, d := range keep {
			d.Drop()
		}
	}()
	b.ReportAllocs()
	for b.Loop() {
		s := rec.Snapshot(observer.SnapshotOptions{MaxEvents: 200})
		if len(s.Devices) != 5000 {
			b.Fatal(len(s.Devices))
		}
	}
}
