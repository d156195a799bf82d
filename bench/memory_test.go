package bench

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/internal/bridge"
)

// memN is how many objects a memory benchmark makes to average over.
func memN() int {
	if testing.Short() {
		return 10_000
	}
	return 100_000
}

// BenchmarkMemory reports bytes per live object as custom metrics, measured
// as the growth of heap + goroutine stacks + off-heap runtime records (see
// footprint) across making memN objects, after full collections. Run each
// sub-benchmark alone in a fresh process with -benchtime 1x -count 1, as
// bench/compare does: later samples in one process leave out the records
// the runtime reuses. The ns/op figure of these benchmarks is meaningless.
//
//   - device: an idle device (B/device); protoactor: an idle actor.
//   - edge: one more device watching a hub device (B/edge), counted on top
//     of the devices; plain: one entry in a map keyed by pointer.
//   - task: a device running Manage on a goroutine of its own, blocked in
//     its task (B/task); backplane_owned: the same with a device made with
//     bridge.Owned, as Group.Spawn and supervisors make theirs; plain: a
//     bare goroutine blocked on a channel (B/goroutine), the floor a managed
//     task is compared with.
func BenchmarkMemory(b *testing.B) {
	b.Run("device", func(b *testing.B) {
		b.Run("backplane", memDeviceBackplane)
		b.Run("protoactor", memDeviceProtoactor)
	})
	b.Run("edge", func(b *testing.B) {
		b.Run("backplane", memEdgeBackplane)
		b.Run("plain", memEdgePlain)
	})
	b.Run("task", func(b *testing.B) {
		b.Run("backplane", func(b *testing.B) { memTaskBackplane(b) })
		b.Run("backplane_owned", func(b *testing.B) { memTaskBackplane(b, bridge.Owned()) })
		b.Run("plain", memTaskPlain)
	})
}

func memDeviceBackplane(b *testing.B) {
	n := memN()
	devs := make([]*backplane.Device, n)
	for b.Loop() {
		before := footprint()
		for i := range devs {
			devs[i] = backplane.New()
		}
		after := footprint()
		perObject(b, before, after, n, "B/device")
		for i, d := range devs {
			d.Drop()
			devs[i] = nil
		}
	}
}

func memDeviceProtoactor(b *testing.B) {
	n := memN()
	sys := protoSystem()
	var stopped atomic.Int64
	allStopped := make(chan struct{}, 1)
	props := actor.PropsFromFunc(func(c actor.Context) {
		if _, ok := c.Message().(*actor.Stopped); ok {
			if stopped.Add(1) == int64(n) {
				allStopped <- struct{}{}
			}
		}
	})
	pids := make([]*actor.PID, n)
	for b.Loop() {
		stopped.Store(0)
		before := footprint()
		for i := range pids {
			pids[i] = sys.Root.Spawn(props)
		}
		after := footprint()
		perObject(b, before, after, n, "B/device")
		for i, p := range pids {
			sys.Root.Stop(p)
			pids[i] = nil
		}
		<-allStopped
	}
}

func memEdgeBackplane(b *testing.B) {
	n := memN()
	devs := make([]*backplane.Device, n)
	for b.Loop() {
		hub := backplane.New()
		for i := range devs {
			devs[i] = backplane.New()
		}
		before := footprint()
		for _, d := range devs {
			if err := d.Link(hub, backplane.Monitor); err != nil {
				b.Fatal(err)
			}
		}
		after := footprint()
		perObject(b, before, after, n, "B/edge")
		hub.Drop()
		for i, d := range devs {
			d.Drop()
			devs[i] = nil
		}
	}
}

var sinkMap map[*plainNode]uint8

func memEdgePlain(b *testing.B) {
	n := memN()
	nodes := make([]*plainNode, n)
	for i := range nodes {
		nodes[i] = &plainNode{id: i}
	}
	for b.Loop() {
		before := footprint()
		sinkMap = make(map[*plainNode]uint8)
		for _, p := range nodes {
			sinkMap[p] = 1
		}
		after := footprint()
		perObject(b, before, after, n, "B/edge")
		sinkMap = nil
	}
}

// memTaskBackplane measures managed tasks whose devices are made with
// opts: none (the garbage collector's safety net included), or Owned (as
// Group.Spawn and supervisors make them).
func memTaskBackplane(b *testing.B, opts ...backplane.Option) {
	n := memN()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	devs := make([]*backplane.Device, n)
	for b.Loop() {
		var started, ended sync.WaitGroup
		started.Add(n)
		stop := make(chan struct{})
		before := footprint()
		for i := range devs {
			d := backplane.New(opts...)
			devs[i] = d
			ended.Go(func() {
				_ = d.Manage(ctx, func(ctx context.Context) error {
					started.Done()
					<-stop
					return nil
				})
			})
		}
		started.Wait()
		after := footprint()
		perObject(b, before, after, n, "B/task")
		close(stop)
		ended.Wait()
		clear(devs)
	}
}

func memTaskPlain(b *testing.B) {
	n := memN()
	for b.Loop() {
		var started, ended sync.WaitGroup
		started.Add(n)
		stop := make(chan struct{})
		before := footprint()
		for range n {
			ended.Go(func() {
				started.Done()
				<-stop
			})
		}
		started.Wait()
		after := footprint()
		perObject(b, before, after, n, "B/goroutine")
		close(stop)
		ended.Wait()
	}
}
