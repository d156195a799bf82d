package bench

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/backplane-go/backplane"
)

const (
	fanoutDevices = 100_000
	fanoutTasks   = 1_000
)

// BenchmarkFanout measures one failure told to many watchers. Only the
// fan-out is timed; building and tearing down the watchers is not. The
// figure to read is ns/notification (the op is the whole fan-out).
//
// devices_100k: one source with 100,000 watchers fails; every notification
// is in its watcher's inbox (plain: a mutex-guarded slice per watcher).
//
// tasks_1k: 1,000 managed tasks depend on one source, which fails; every
// task has cascaded and returned (plain: goroutines waiting on a closed
// channel; protoactor: actors that watch the source and stop on Terminated).
func BenchmarkFanout(b *testing.B) {
	b.Run("devices_100k", func(b *testing.B) {
		b.Run("backplane", fanoutDevicesBackplane)
		b.Run("protoactor", fanoutDevicesProtoactor)
		b.Run("plain", fanoutDevicesPlain)
	})
	b.Run("tasks_1k", func(b *testing.B) {
		b.Run("backplane", fanoutTasksBackplane)
		b.Run("protoactor", fanoutTasksProtoactor)
		b.Run("plain", fanoutTasksPlain)
	})
}

func fanoutDevicesBackplane(b *testing.B) {
	skipLarge(b)
	n := fanoutDevices
	watchers := make([]*backplane.Device, n)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		src := backplane.New()
		for j := range watchers {
			watchers[j] = backplane.New()
			if err := watchers[j].Link(src, backplane.Monitor); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC() // the building's garbage is not the fan-out's
		b.StartTimer()
		_ = src.Disconnect(errBench)
		b.StopTimer()
		for _, w := range watchers {
			if m, ok := w.TryReceive(); !ok || m.Fault() == nil {
				b.Fatalf("watcher got %v, %v; want the source's fault", m, ok)
			}
			w.Drop()
		}
		b.StartTimer()
	}
	b.StopTimer()
	perUnit(b, b.N*n, "ns/notification")
}

// plainInbox is the naive baseline of a device inbox.
type plainInbox struct {
	mu   sync.Mutex
	msgs []error
}

func fanoutDevicesPlain(b *testing.B) {
	skipLarge(b)
	n := fanoutDevices
	inboxes := make([]*plainInbox, n)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		for j := range inboxes {
			inboxes[j] = &plainInbox{msgs: make([]error, 0, 1)}
		}
		runtime.GC()
		b.StartTimer()
		for _, in := range inboxes {
			in.mu.Lock()
			in.msgs = append(in.msgs, errBench)
			in.mu.Unlock()
		}
		b.StopTimer()
		for _, in := range inboxes {
			if len(in.msgs) != 1 {
				b.Fatal("inbox not filled")
			}
		}
		b.StartTimer()
	}
	b.StopTimer()
	perUnit(b, b.N*n, "ns/notification")
}

// fanoutDevicesProtoactor: n actors watch one source actor; the source is
// stopped; timed until every watcher has handled its Terminated.
func fanoutDevicesProtoactor(b *testing.B) {
	skipLarge(b)
	protoFanout(b, fanoutDevices, false)
}

func fanoutTasksProtoactor(b *testing.B) { protoFanout(b, fanoutTasks, true) }

// protoFanout runs the protoactor fan-out: with stopOnTerminated the
// watchers stop themselves on Terminated (the cascade of tasks_1k) and the
// benchmark waits for their Stopped; otherwise it waits for Terminated.
func protoFanout(b *testing.B, n int, stopOnTerminated bool) {
	sys := protoSystem()
	idle := actor.PropsFromFunc(func(actor.Context) {})
	var ready, told, stopped atomic.Int64
	readyCh, toldCh, stoppedCh := make(chan struct{}, 1), make(chan struct{}, 1), make(chan struct{}, 1)
	count := func(c *atomic.Int64, ch chan struct{}) {
		if c.Add(1) == int64(n) {
			ch <- struct{}{}
		}
	}
	var src *actor.PID
	watcher := actor.PropsFromFunc(func(c actor.Context) {
		switch c.Message().(type) {
		case *actor.Started:
			c.Watch(src)
			count(&ready, readyCh)
		case *actor.Terminated:
			if stopOnTerminated {
				c.Stop(c.Self())
			} else {
				count(&told, toldCh)
			}
		case *actor.Stopped:
			count(&stopped, stoppedCh)
		}
	})
	pids := make([]*actor.PID, n)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		ready.Store(0)
		told.Store(0)
		stopped.Store(0)
		src = sys.Root.Spawn(idle)
		for j := range pids {
			pids[j] = sys.Root.Spawn(watcher)
		}
		<-readyCh
		b.StartTimer()
		sys.Root.Stop(src)
		if stopOnTerminated {
			<-stoppedCh
		} else {
			<-toldCh
		}
		b.StopTimer()
		if !stopOnTerminated {
			for _, p := range pids {
				sys.Root.Stop(p)
			}
			<-stoppedCh
		}
		b.StartTimer()
	}
	b.StopTimer()
	perUnit(b, b.N*n, "ns/notification")
}

func fanoutTasksBackplane(b *testing.B) {
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		var g backplane.Group
		var started sync.WaitGroup
		started.Add(fanoutTasks)
		src := backplane.New()
		for range fanoutTasks {
			// Notify, seen from src: the new task watches src.
			if _, err := g.Spawn(ctx, src, backplane.Notify, waitTask(&started)); err != nil {
				b.Fatal(err)
			}
		}
		started.Wait()
		b.StartTimer()
		_ = src.Disconnect(errBench)
		g.Wait()
	}
	b.StopTimer()
	perUnit(b, b.N*fanoutTasks, "ns/notification")
}

func fanoutTasksPlain(b *testing.B) {
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		var wg, started sync.WaitGroup
		started.Add(fanoutTasks)
		src := make(chan struct{})
		for range fanoutTasks {
			wg.Go(func() {
				started.Done()
				<-src
			})
		}
		started.Wait()
		b.StartTimer()
		close(src)
		wg.Wait()
	}
	b.StopTimer()
	perUnit(b, b.N*fanoutTasks, "ns/notification")
}
