package supervisor_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/backplane-go/backplane/supervisor"
)

// TestRestForOneRetryFromFailed: under RestForOne, when the group restart
// fails to start child b, the retry starts from b (OTP's try_again from
// restart_multiple_children): a, restarted before b, stays up on the same
// run, and c and d, stopped by the group restart, start after b.
func TestRestForOneRetryFromFailed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		a := newWorker()
		b := &initWorker{worker: newWorker()}
		sup := mustNew(t, rec.option(), supervisor.WithStrategy(supervisor.RestForOne), supervisor.WithIntensity(5, time.Minute),
			supervisor.WithChildren(
				supervisor.ChildSpec{ID: "a", Service: a},
				supervisor.ChildSpec{ID: "b", Service: b},
				supervisor.ChildSpec{ID: "c", Service: newWorker()},
				supervisor.ChildSpec{ID: "d", Service: newWorker()}))
		s := serve(sup)
		synctest.Wait()
		rec.reset()
		b.fails = 1
		a.fail()
		synctest.Wait()
		equal(t, "events", rec.log(), []string{
			"exited a", "stopped d", "stopped c", "stopped b",
			"restarted a", "startfailed b",
			"restarted b", "restarted c", "restarted d", // the retry, from b
		})
		if got := states(t, sup); got != "a:running:2 b:running:3 c:running:2 d:running:2" {
			t.Errorf("children: %s", got)
		}
		stop(t, sup, s)
	})
}

// TestRestForOneRetryNested: the same when the child that fails to start
// is a nested supervisor (one of its own children fails to start), and
// when the RestForOne supervisor is itself nested in a parent: the
// siblings before the failed child stay up, the retry starts from it.
func TestRestForOneRetryNested(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		a := newWorker()
		x := &initWorker{worker: newWorker()}
		inner := mustNew(t, supervisor.WithName("inner"), supervisor.WithChildren(
			supervisor.ChildSpec{ID: "x", Service: x}))
		mid := mustNew(t, supervisor.WithName("mid"), rec.option(),
			supervisor.WithStrategy(supervisor.RestForOne), supervisor.WithIntensity(5, time.Minute),
			supervisor.WithChildren(
				supervisor.ChildSpec{ID: "a", Service: a},
				supervisor.ChildSpec{ID: "inner", Service: inner},
				supervisor.ChildSpec{ID: "c", Service: newWorker()}))
		top := mustNew(t, supervisor.WithName("top"), supervisor.WithChildren(
			supervisor.ChildSpec{ID: "mid", Service: mid}))
		s := serve(top)
		synctest.Wait()
		rec.reset()
		x.fails = 1
		a.fail()
		synctest.Wait()
		equal(t, "events", rec.log(), []string{
			"exited a", "stopped c", "stopped inner",
			"restarted a", "startfailed inner",
			"restarted inner", "restarted c",
		})
		if got := states(t, mid); got != "a:running:2 inner:running:3 c:running:2" {
			t.Errorf("mid's children: %s", got)
		}
		if got := states(t, top); got != "mid:running:1" {
			t.Errorf("top's children: %s", got)
		}
		stop(t, top, s)
	})
}

// TestOneForAllRetryWholeGroup: under OneForAll, the retry after a failed
// start in a group restart restarts the whole group again, as OTP does
// (its try_again restarts every child): a, started before the failure, is
// stopped and started again.
func TestOneForAllRetryWholeGroup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		a := newWorker()
		b := &initWorker{worker: newWorker()}
		sup := mustNew(t, rec.option(), supervisor.WithStrategy(supervisor.OneForAll), supervisor.WithIntensity(5, time.Minute),
			supervisor.WithChildren(
				supervisor.ChildSpec{ID: "a", Service: a},
				supervisor.ChildSpec{ID: "b", Service: b},
				supervisor.ChildSpec{ID: "c", Service: newWorker()}))
		s := serve(sup)
		synctest.Wait()
		rec.reset()
		b.fails = 1
		a.fail()
		synctest.Wait()
		equal(t, "events", rec.log(), []string{
			"exited a", "stopped c", "stopped b",
			"restarted a", "startfailed b", "stopped a",
			"restarted a", "restarted b", "restarted c",
		})
		if got := states(t, sup); got != "a:running:3 b:running:3 c:running:2" {
			t.Errorf("children: %s", got)
		}
		stop(t, sup, s)
	})
}

// TestRetryCountsAgainstIntensity: under RestForOne, a child that keeps
// failing to start in a group restart ends in the restart limit, each
// retry counted once.
func TestRetryCountsAgainstIntensity(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		a := newWorker()
		b := &initWorker{worker: newWorker()}
		sup := mustNew(t, rec.option(), supervisor.WithStrategy(supervisor.RestForOne), supervisor.WithIntensity(3, time.Minute),
			supervisor.WithChildren(
				supervisor.ChildSpec{ID: "a", Service: a},
				supervisor.ChildSpec{ID: "b", Service: b}))
		s := serve(sup)
		synctest.Wait()
		rec.reset()
		b.fails = 100
		a.fail()
		if err := s.wait(); err == nil {
			t.Fatal("Serve: nil, want the restart limit")
		}
		equal(t, "events", rec.log(), []string{
			"exited a", "stopped b",
			"restarted a", "startfailed b", // restart 1
			"startfailed b", "startfailed b", // retries 2 and 3
			"limit a", "stopped a",
		})
	})
}

// TestRestForOneRetryListing: while the retry from b waits (here for its
// backoff), a runs, b and the children after it are listed as restarting
// (OTP lists those after b as undefined), and terminating one of them
// cancels its part of the retry.
func TestRestForOneRetryListing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		a := newWorker()
		b := &initWorker{worker: newWorker()}
		sup := mustNew(t, supervisor.WithStrategy(supervisor.RestForOne), supervisor.WithIntensity(5, time.Minute),
			supervisor.WithBackoff(time.Second, time.Second, 0),
			supervisor.WithChildren(
				supervisor.ChildSpec{ID: "a", Service: a},
				supervisor.ChildSpec{ID: "b", Service: b},
				supervisor.ChildSpec{ID: "c", Service: newWorker()}))
		s := serve(sup)
		b.fails = 1
		a.fail()
		time.Sleep(time.Second) // fake time: the first backoff passes; b fails to start
		synctest.Wait()
		if got := states(t, sup); got != "a:running:2 b:restarting:2 c:restarting:1" {
			t.Fatalf("while the retry waits: %s", got)
		}
		if err := sup.TerminateChild(ctx, "c"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second) // the retry's backoff passes
		synctest.Wait()
		if got := states(t, sup); got != "a:running:2 b:running:3 c:stopped:1" {
			t.Errorf("after the retry: %s", got)
		}
		stop(t, sup, s)
	})
}
