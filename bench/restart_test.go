package bench

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/backplane-go/backplane/supervisor"
	"github.com/thejerf/suture/v4"
)

// BenchmarkRestart: one child that fails as soon as it runs, under a
// supervisor that restarts it at once, for ever. One op is one run of the
// child: it is running (it has signalled), it fails, the supervisor notices
// and restarts it. Both systems run the same child function.
func BenchmarkRestart(b *testing.B) {
	b.Run("backplane", restartBackplane)
	b.Run("suture", restartSuture)
}

// failingChild signals that it runs, then fails.
func failingChild(ran chan<- struct{}) func(context.Context) error {
	return func(ctx context.Context) error {
		select {
		case ran <- struct{}{}:
			return errBench
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func restartBackplane(b *testing.B) {
	ran := make(chan struct{})
	sup, err := supervisor.New(
		supervisor.WithIntensity(1, time.Nanosecond), // never gives up
		supervisor.WithChildren(supervisor.ChildSpec{ID: "child", Service: supervisor.Func(failingChild(ran))}))
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sup.Serve(ctx) }()
	timeRestarts(b, ran)
	cancel()
	<-done
}

func restartSuture(b *testing.B) {
	ran := make(chan struct{})
	sup := suture.New("bench", suture.Spec{
		EventHook:        func(suture.Event) {},
		FailureThreshold: math.Inf(1),
		FailureDecay:     1,
	})
	sup.Add(sutureFunc(failingChild(ran)))
	ctx, cancel := context.WithCancel(context.Background())
	stopped := sup.ServeBackground(ctx)
	timeRestarts(b, ran)
	cancel()
	<-stopped
}

// timeRestarts times the runs of a child that signals on ran each time it
// runs: the first run is its start, not a restart, and is not timed.
func timeRestarts(b *testing.B, ran <-chan struct{}) {
	<-ran
	b.ReportAllocs()
	for b.Loop() {
		<-ran
	}
	b.StopTimer()
}
