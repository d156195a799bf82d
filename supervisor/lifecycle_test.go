package supervisor_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/supervisor"
)

// apiCalls makes every run-time API call once and returns their errors,
// by name.
func apiCalls(ctx context.Context, sup *supervisor.Supervisor) map[string]error {
	errs := map[string]error{}
	_, errs["AddChild"] = sup.AddChild(ctx, supervisor.ChildSpec{ID: "x", Service: newWorker()})
	errs["TerminateChild"] = sup.TerminateChild(ctx, "w")
	errs["RestartChild"] = sup.RestartChild(ctx, "w")
	errs["DeleteChild"] = sup.DeleteChild(ctx, "w")
	_, errs["Children"] = sup.Children(ctx)
	_, errs["Count"] = sup.Count(ctx)
	return errs
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// TestNotServing: before Serve, and after it returned, every run-time API
// call fails at once with ErrNotServing (a background context: nothing
// else would end the call) and Ready is not closed. Serving again makes
// the API answer again.
func TestNotServing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		sup := mustNew(t, supervisor.WithChildren(supervisor.ChildSpec{ID: "w", Service: newWorker()}))
		check := func(when string) {
			t.Helper()
			for name, err := range apiCalls(ctx, sup) {
				if !errors.Is(err, supervisor.ErrNotServing) {
					t.Errorf("%s %s: %v, want ErrNotServing", name, when, err)
				}
			}
			if isClosed(sup.Ready()) {
				t.Errorf("Ready %s: closed", when)
			}
		}
		check("before Serve")
		for round := range 2 {
			s := serve(sup)
			if !isClosed(sup.Ready()) {
				t.Fatalf("round %d: Ready not closed once serving", round)
			}
			if got := states(t, sup); got != "w:running:1" {
				t.Fatalf("round %d: children %s", round, got)
			}
			stop(t, sup, s)
			check("after Serve returned")
		}
	})
}

// TestReadyAfterStart: Ready closes only once the initial children have
// started; a call made while they start waits for them, then is answered.
func TestReadyAfterStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slow := &slowStart{worker: newWorker(), release: make(chan struct{})}
		sup := mustNew(t, supervisor.WithChildren(
			supervisor.ChildSpec{ID: "a", Service: newWorker()},
			supervisor.ChildSpec{ID: "slow", Service: slow}))
		ready := sup.Ready()
		s := serveAsync(sup)
		synctest.Wait()
		if isClosed(ready) {
			t.Fatal("Ready closed while a child is starting")
		}
		counted := make(chan error, 1)
		go func() {
			_, err := sup.Count(context.Background())
			counted <- err
		}()
		synctest.Wait()
		if len(counted) != 0 {
			t.Fatal("a call was answered before the children started")
		}
		close(slow.release)
		<-ready
		if err := <-counted; err != nil {
			t.Errorf("Count during start: %v", err)
		}
		stop(t, sup, s)
	})
}

// TestReadyFailedStart: a Serve whose children fail to start never closes
// Ready; the caller learns it from Serve's result.
func TestReadyFailedStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sup := mustNew(t, supervisor.WithChildren(
			supervisor.ChildSpec{ID: "bad", Service: &initWorker{worker: newWorker(), fails: 1}}))
		ready := sup.Ready()
		var se *supervisor.StartError
		if err := sup.Serve(context.Background()); !errors.As(err, &se) {
			t.Fatalf("Serve: %v", err)
		}
		if isClosed(ready) || isClosed(sup.Ready()) {
			t.Error("Ready closed by a failed start")
		}
		if _, err := sup.Children(context.Background()); !errors.Is(err, supervisor.ErrNotServing) {
			t.Errorf("Children after a failed start: %v", err)
		}
	})
}

// TestNilContext: a nil context is a clear error of this package, which
// matches backplane.ErrNilArg.
func TestNilContext(t *testing.T) {
	sup := mustNew(t)
	//lint:ignore SA1012 a nil context is the misuse under test
	for name, err := range map[string]error{"Serve": sup.Serve(nil), "Count": func() error { _, err := sup.Count(nil); return err }()} {
		if !errors.Is(err, backplane.ErrNilArg) || !strings.HasPrefix(err.Error(), "supervisor: ") || strings.Contains(err.Error(), "backplane") {
			t.Errorf("%s(nil): %v", name, err)
		}
	}
}

// TestNilFunc: a nil Func is rejected by New and by AddChild, rather than
// panicking in a loop once served.
func TestNilFunc(t *testing.T) {
	var ce *supervisor.ConfigError
	if _, err := supervisor.New(supervisor.WithChildren(supervisor.ChildSpec{ID: "f", Service: supervisor.Func(nil)})); !errors.As(err, &ce) || ce.Child != "f" {
		t.Errorf("New: %v", err)
	}
	synctest.Test(t, func(t *testing.T) {
		sup := mustNew(t)
		s := serve(sup)
		if _, err := sup.AddChild(context.Background(), supervisor.ChildSpec{ID: "f", Service: supervisor.Func(nil)}); !errors.As(err, &ce) {
			t.Errorf("AddChild: %v", err)
		}
		stop(t, sup, s)
	})
}

// TestMessagesPrefixedOnce: the errors a supervisor returns, with its
// default name and a child's fault inside, name the package once.
func TestMessagesPrefixedOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		flaky := supervisor.Func(func(ctx context.Context) error { return errBoom })
		limit := mustNew(t, supervisor.WithIntensity(1, time.Minute),
			supervisor.WithChildren(supervisor.ChildSpec{ID: "c", Service: flaky}))
		start := mustNew(t, supervisor.WithChildren(
			supervisor.ChildSpec{ID: "bad", Service: &initWorker{worker: newWorker(), fails: 1, panics: true}}))
		for _, sup := range []*supervisor.Supervisor{limit, start} {
			err := sup.Serve(context.Background())
			msg := err.Error()
			if strings.Count(msg, "supervisor:") != 1 || !strings.HasPrefix(msg, "supervisor: ") || strings.Contains(msg, "backplane:") {
				t.Errorf("message %q: want the prefix \"supervisor: \" once and no other", msg)
			}
		}
	})
}
