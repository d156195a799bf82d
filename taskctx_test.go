package backplane

import (
	"context"
	"errors"
	"testing"
	"time"
)

// The task context must behave as context.WithCancelCause(parent) does, in
// both of its forms: answering context.Cause itself, and wrapping a
// context made by WithCancelCause (the form used when the first is not
// possible, and for cancellable parents once Done is asked for).

type ctxKey struct{}

var errTestCause = errors.New("test cause")

// inModes runs f with the task context answering context.Cause itself,
// and with it always wrapped.
func inModes(t *testing.T, f func(t *testing.T)) {
	t.Run("own", f)
	t.Run("wrapped", func(t *testing.T) {
		saved := causeByValue
		causeByValue = false
		defer func() { causeByValue = saved }()
		f(t)
	})
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func TestTaskCtxProbe(t *testing.T) {
	if !causeByValue {
		t.Fatal("context.Cause cannot be answered by taskCtx: every task context is wrapped")
	}
}

func TestTaskCtxCancel(t *testing.T) {
	inModes(t, func(t *testing.T) {
		for _, early := range []bool{false, true} {
			parent := context.WithValue(context.Background(), ctxKey{}, 7)
			c := newTaskCtx(parent, nil)
			var done <-chan struct{}
			if early {
				done = c.Done()
				if isClosed(done) {
					t.Fatal("Done closed before cancel")
				}
			}
			if c.Err() != nil || context.Cause(c) != nil {
				t.Fatalf("live context: Err = %v, Cause = %v", c.Err(), context.Cause(c))
			}
			if v := c.Value(ctxKey{}); v != 7 {
				t.Fatalf("Value = %v, want the parent's 7", v)
			}
			child, stop := context.WithCancel(c)
			defer stop()
			c.cancel(errTestCause)
			c.cancel(errors.New("later")) // only the first counts
			if !early {
				done = c.Done()
			}
			if !isClosed(done) {
				t.Fatal("Done not closed after cancel")
			}
			if c.Err() != context.Canceled {
				t.Errorf("Err = %v, want context.Canceled", c.Err())
			}
			if got := context.Cause(c); got != errTestCause {
				t.Errorf("Cause = %v, want %v", got, errTestCause)
			}
			// A derived context is cancelled at once, with the cause.
			if !isClosed(child.Done()) || context.Cause(child) != errTestCause {
				t.Errorf("derived: closed %v, Cause %v", isClosed(child.Done()), context.Cause(child))
			}
			// One derived after cancellation is cancelled from the start.
			late, stopLate := context.WithCancel(c)
			if !isClosed(late.Done()) || context.Cause(late) != errTestCause {
				t.Errorf("derived late: closed %v, Cause %v", isClosed(late.Done()), context.Cause(late))
			}
			stopLate()
		}
	})
}

func TestTaskCtxCancelNil(t *testing.T) {
	inModes(t, func(t *testing.T) {
		c := newTaskCtx(context.Background(), nil)
		c.cancel(nil)
		if c.Err() != context.Canceled || context.Cause(c) != context.Canceled {
			t.Errorf("Err = %v, Cause = %v, want context.Canceled for both", c.Err(), context.Cause(c))
		}
	})
}

func TestTaskCtxDeadline(t *testing.T) {
	inModes(t, func(t *testing.T) {
		at := time.Now().Add(time.Hour)
		parent, cancel := context.WithDeadline(context.Background(), at)
		defer cancel()
		c := newTaskCtx(parent, nil)
		defer c.cancel(nil)
		if d, ok := c.Deadline(); !ok || !d.Equal(at) {
			t.Errorf("Deadline = %v, %v; want %v", d, ok, at)
		}
		if _, ok := newTaskCtx(context.Background(), nil).Deadline(); ok {
			t.Error("a deadline without the parent having one")
		}
	})
}

// TestTaskCtxParent: a cancellation of the parent reaches the task's
// context, with the parent's error and cause, whether Done was asked for
// before, after or never.
func TestTaskCtxParent(t *testing.T) {
	inModes(t, func(t *testing.T) {
		for _, when := range []string{"never", "before", "after"} {
			t.Run(when, func(t *testing.T) {
				parent, cancel := context.WithCancelCause(context.Background())
				c := newTaskCtx(parent, nil)
				defer c.cancel(nil)
				var child context.Context
				if when == "before" {
					_ = c.Done()
					var stop context.CancelFunc
					child, stop = context.WithCancel(c)
					defer stop()
				}
				cancel(errTestCause)
				if when == "after" {
					select {
					case <-c.Done():
					case <-time.After(10 * time.Second):
						t.Fatal("Done not closed after the parent was cancelled")
					}
				}
				if c.Err() != context.Canceled || context.Cause(c) != errTestCause {
					t.Errorf("Err = %v, Cause = %v; want context.Canceled, %v", c.Err(), context.Cause(c), errTestCause)
				}
				if when == "before" && (!isClosed(c.Done()) || !isClosed(child.Done()) || context.Cause(child) != errTestCause) {
					t.Errorf("not followed at once: Done closed %v, derived closed %v, derived Cause %v",
						isClosed(c.Done()), isClosed(child.Done()), context.Cause(child))
				}
				// A later cancel does not change the cause.
				c.cancel(errors.New("later"))
				if context.Cause(c) != errTestCause {
					t.Errorf("Cause after a later cancel = %v", context.Cause(c))
				}
			})
		}
		t.Run("deadline", func(t *testing.T) {
			parent, cancel := context.WithTimeout(context.Background(), time.Millisecond)
			defer cancel()
			c := newTaskCtx(parent, nil)
			// Wait for c, not for the parent: as with a context.WithCancel
			// child, the parent's Done closes before its children follow.
			select {
			case <-c.Done():
			case <-time.After(10 * time.Second):
				t.Fatal("Done not closed after the parent's deadline")
			}
			if c.Err() != context.DeadlineExceeded || context.Cause(c) != context.DeadlineExceeded {
				t.Errorf("Err = %v, Cause = %v; want context.DeadlineExceeded", c.Err(), context.Cause(c))
			}
			if !isClosed(c.Done()) {
				t.Error("Done not closed")
			}
		})
	})
}

// TestTaskCtxDerived: contexts derived from a task context are cancelled
// with it, and forget it when cancelled first.
func TestTaskCtxDerived(t *testing.T) {
	inModes(t, func(t *testing.T) {
		c := newTaskCtx(context.Background(), nil)
		for range 3 {
			_, stop := context.WithCancel(c)
			stop()
		}
		if c.more != nil && len(c.more.children) != 0 {
			t.Errorf("%d registrations left by cancelled derived contexts", len(c.more.children))
		}
		ran := make(chan struct{})
		context.AfterFunc(c, func() { close(ran) })
		timed, stop := context.WithTimeout(c, time.Hour)
		defer stop()
		c.cancel(errTestCause)
		if !isClosed(timed.Done()) || context.Cause(timed) != errTestCause {
			t.Errorf("WithTimeout: closed %v, Cause %v", isClosed(timed.Done()), context.Cause(timed))
		}
		select {
		case <-ran:
		case <-time.After(10 * time.Second):
			t.Fatal("context.AfterFunc did not run")
		}
		ranLate := make(chan struct{})
		context.AfterFunc(c, func() { close(ranLate) })
		select {
		case <-ranLate:
		case <-time.After(10 * time.Second):
			t.Fatal("context.AfterFunc after cancellation did not run")
		}
	})
}

// TestManageParentCancelled: cancelling the context given to Manage cancels
// the task's, with its cause; the task's error then ends the device.
func TestManageParentCancelled(t *testing.T) {
	inModes(t, func(t *testing.T) {
		parent, cancel := context.WithCancelCause(context.Background())
		d := New()
		started := make(chan struct{})
		var cause error
		go func() { <-started; cancel(errTestCause) }()
		err := d.Manage(parent, func(ctx context.Context) error {
			close(started)
			<-ctx.Done()
			cause = context.Cause(ctx)
			return ctx.Err()
		})
		if cause != errTestCause {
			t.Errorf("Cause inside the task = %v, want %v", cause, errTestCause)
		}
		var c *Crash
		if !errors.As(err, &c) || c.Kind != CrashError || !errors.Is(err, context.Canceled) {
			t.Errorf("Manage = %v, want a CrashError wrapping context.Canceled", err)
		}
	})
}

// TestManageTaskCtxAllocs: a task started from a context that cannot be
// cancelled gets a context of one allocation.
func TestManageTaskCtxAllocs(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() {
		c := newTaskCtx(context.Background(), nil)
		c.cancel(nil)
	}); n != 1 {
		t.Errorf("a task context and its cancellation: %v allocations, want 1", n)
	}
}
