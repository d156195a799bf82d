package supervisor_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/backplane-go/backplane/supervisor"
)

// BenchmarkSupervisor measures a restart: the child fails, the supervisor
// sees it, restarts it, and it is running again. The baseline is the least
// a restart can cost: a goroutine that runs the task in a loop, with no
// devices, links, events or bookkeeping.
func BenchmarkSupervisor(b *testing.B) {
	b.Run("restart", func(b *testing.B) {
		fail := make(chan struct{})
		running := make(chan struct{}, 1)
		child := supervisor.Func(func(ctx context.Context) error {
			select {
			case <-fail:
				return errBoom
			case <-ctx.Done():
				return nil
			}
		})
		sup, err := supervisor.New(
			supervisor.WithIntensity(1, time.Nanosecond), // never give up
			supervisor.WithEventHook(func(e supervisor.Event) {
				if e.Type() == supervisor.EventChildRestarted {
					running <- struct{}{}
				}
			}),
			supervisor.WithChildren(supervisor.ChildSpec{ID: "child", Service: child}))
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- sup.Serve(ctx) }()
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			fail <- struct{}{}
			<-running
		}
		b.StopTimer()
		cancel()
		<-done
	})
	b.Run("baseline", func(b *testing.B) {
		fail := make(chan struct{})
		running := make(chan struct{})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		task := func(ctx context.Context) error {
			select {
			case <-fail:
				return errBoom
			case <-ctx.Done():
				return nil
			}
		}
		go func() {
			defer close(done)
			for {
				ended := make(chan error, 1)
				go func() { ended <- task(ctx) }()
				select {
				case running <- struct{}{}:
				case <-ctx.Done():
				}
				if err := <-ended; err == nil {
					return
				}
			}
		}()
		<-running
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			fail <- struct{}{}
			<-running
		}
		b.StopTimer()
		cancel()
		<-done
	})
}

// BenchmarkDynamic starts n children under a Dynamic supervisor and stops
// them all; ns/child staying flat as n grows shows the cost is linear.
func BenchmarkDynamic(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("children=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				runDynamic(b, n)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/child")
		})
	}
}
