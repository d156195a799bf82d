package bench

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/backplane-go/backplane"
)

const chainLen = 100_000

// BenchmarkCascade/chain_100k: a chain of 100,000 tasks, each depending on
// the next; the last one fails; timed until the first one has returned.
// Building the chain and waiting for the rest of the goroutines are not
// timed. The figure to read is ns/hop.
func BenchmarkCascade(b *testing.B) {
	b.Run("chain_100k", func(b *testing.B) {
		b.Run("backplane", cascadeBackplane)
		b.Run("protoactor", cascadeProtoactor)
		b.Run("plain", cascadePlain)
	})
}

// buildChain spawns n managed tasks, each monitored by the one before it,
// under head (which the caller manages). The last task fails when trigger
// is closed. It returns once every task is running.
func buildChain(b *testing.B, g *backplane.Group, head *backplane.Device, n int, trigger <-chan struct{}) {
	ctx := context.Background()
	var started sync.WaitGroup
	started.Add(n - 1)
	prev := head.Line()
	for i := 1; i < n-1; i++ {
		l, err := g.Spawn(ctx, prev, backplane.Monitor, waitTask(&started))
		if err != nil {
			b.Fatal(err)
		}
		prev = l
	}
	_, err := g.Spawn(ctx, prev, backplane.Monitor, func(ctx context.Context) error {
		started.Done()
		select {
		case <-trigger:
			return errBench
		case <-ctx.Done():
			return nil
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	started.Wait()
}

func cascadeBackplane(b *testing.B) {
	skipLarge(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		var g backplane.Group
		head := backplane.New()
		trigger := make(chan struct{})
		buildChain(b, &g, head, chainLen, trigger)
		headDone := make(chan error, 1)
		headRunning := make(chan struct{})
		go func() {
			headDone <- head.Manage(ctx, func(ctx context.Context) error {
				close(headRunning)
				<-ctx.Done()
				return nil
			})
		}()
		<-headRunning
		b.StartTimer()
		close(trigger)
		err := <-headDone
		b.StopTimer()
		if err == nil {
			b.Fatal("head returned without a crash")
		}
		g.Wait()
		b.StartTimer()
	}
	b.StopTimer()
	perUnit(b, b.N*(chainLen-1), "ns/hop")
}

func cascadePlain(b *testing.B) {
	skipLarge(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		chans := make([]chan struct{}, chainLen)
		for j := range chans {
			chans[j] = make(chan struct{})
		}
		var wg, started sync.WaitGroup
		started.Add(chainLen - 1)
		for j := 0; j < chainLen-1; j++ {
			wg.Go(func() {
				started.Done()
				<-chans[j+1]
				close(chans[j])
			})
		}
		started.Wait()
		b.StartTimer()
		close(chans[chainLen-1])
		<-chans[0]
		b.StopTimer()
		wg.Wait()
		b.StartTimer()
	}
	b.StopTimer()
	perUnit(b, b.N*(chainLen-1), "ns/hop")
}

// cascadeProtoactor: actor i watches actor i+1 and stops itself on
// Terminated; the last actor is stopped; timed until the first has stopped.
func cascadeProtoactor(b *testing.B) {
	skipLarge(b)
	sys := protoSystem()
	idle := actor.PropsFromFunc(func(actor.Context) {})
	var ready, stopped atomic.Int64
	readyCh, headStopped, allStopped := make(chan struct{}, 1), make(chan struct{}, 1), make(chan struct{}, 1)
	link := func(next *actor.PID, head bool) *actor.Props {
		return actor.PropsFromFunc(func(c actor.Context) {
			switch c.Message().(type) {
			case *actor.Started:
				c.Watch(next)
				if ready.Add(1) == chainLen-1 {
					readyCh <- struct{}{}
				}
			case *actor.Terminated:
				c.Stop(c.Self())
			case *actor.Stopped:
				if head {
					headStopped <- struct{}{}
				}
				if stopped.Add(1) == chainLen {
					allStopped <- struct{}{}
				}
			}
		})
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		ready.Store(0)
		stopped.Store(1) // the tail, which has no Stopped handler
		tail := sys.Root.Spawn(idle)
		next := tail
		for j := chainLen - 2; j >= 0; j-- {
			next = sys.Root.Spawn(link(next, j == 0))
		}
		<-readyCh
		b.StartTimer()
		sys.Root.Stop(tail)
		<-headStopped
		b.StopTimer()
		<-allStopped
		b.StartTimer()
	}
	b.StopTimer()
	perUnit(b, b.N*(chainLen-1), "ns/hop")
}
