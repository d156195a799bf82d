package supervisor_test

import (
	"context"
	"errors"
	"testing"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/supervisor"
)

// idle is a child that waits for its context.
var idle = supervisor.Func(func(ctx context.Context) error {
	<-ctx.Done()
	return nil
})

// runDynamic starts a Dynamic supervisor, adds n children, checks they
// run, and shuts it down.
func runDynamic(tb testing.TB, n int) {
	ctx := context.Background()
	sup, err := supervisor.New(supervisor.WithStrategy(supervisor.Dynamic))
	if err != nil {
		tb.Fatal(err)
	}
	s := serve(sup)
	for range n {
		if _, err := sup.AddChild(ctx, supervisor.ChildSpec{Service: idle}); err != nil {
			tb.Fatal(err)
		}
	}
	if c, err := sup.Count(ctx); err != nil || c.Active != n {
		tb.Fatalf("Count: %+v %v", c, err)
	}
	_ = sup.Line().Shutdown(backplane.DeviceID{})
	var crash *backplane.Crash
	if err := s.wait(); !errors.As(err, &crash) || crash.Kind != backplane.CrashPowerOff {
		tb.Fatalf("Serve: %v", err)
	}
}

// TestDynamic10000 starts and stops 10,000 dynamic children; that the
// time grows linearly is measured by BenchmarkDynamic, not asserted here.
// Every goroutine is gone by the end (TestMain's leak check).
func TestDynamic10000(t *testing.T) {
	runDynamic(t, 10000)
}
