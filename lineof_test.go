package backplane_test

import (
	"context"
	"testing"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/internal/bridge"
)

// lineKeyOther is a key of the test's own, to check that LineOf's key does
// not shadow other values.
type lineKeyOther struct{}

func TestLineOf(t *testing.T) {
	t.Run("not a task's context", func(t *testing.T) {
		for name, ctx := range map[string]context.Context{
			"background": context.Background(),
			"nil":        nil,
		} {
			if l, ok := backplane.LineOf(ctx); ok || !l.IsZero() {
				t.Errorf("%s: LineOf = %v, %v; want the zero Line, false", name, l, ok)
			}
		}
	})
	t.Run("manage and derived contexts", func(t *testing.T) {
		d := backplane.New()
		parent := context.WithValue(context.Background(), lineKeyOther{}, "kept")
		err := d.Manage(parent, func(ctx context.Context) error {
			cctx, cancel := context.WithCancel(ctx)
			defer cancel()
			vctx := context.WithValue(cctx, lineKeyOther{}, "shadowed")
			for name, c := range map[string]context.Context{"task": ctx, "WithCancel": cctx, "WithValue": vctx} {
				if l, ok := backplane.LineOf(c); !ok || l != d.Line() {
					t.Errorf("%s: LineOf = %v, %v; want %v, true", name, l, ok, d.Line())
				}
			}
			if v := ctx.Value(lineKeyOther{}); v != "kept" {
				t.Errorf("the parent's value = %v; want kept", v)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
	t.Run("after the task", func(t *testing.T) {
		d := backplane.New()
		var kept context.Context
		_ = d.Manage(context.Background(), func(ctx context.Context) error { kept = ctx; return nil })
		if l, ok := backplane.LineOf(kept); !ok || l != d.Line() || l.Alive() {
			t.Errorf("LineOf(kept) = %v (alive %v), %v; want the down %v", l, l.Alive(), ok, d.Line())
		}
	})
	t.Run("nested tasks", func(t *testing.T) {
		outer, inner := backplane.New(), backplane.New()
		_ = outer.Manage(context.Background(), func(ctx context.Context) error {
			_ = inner.Manage(ctx, func(ictx context.Context) error {
				if l, _ := backplane.LineOf(ictx); l != inner.Line() {
					t.Errorf("inner: LineOf = %v; want %v", l, inner.Line())
				}
				return nil
			})
			if l, _ := backplane.LineOf(ctx); l != outer.Line() {
				t.Errorf("outer: LineOf = %v; want %v", l, outer.Line())
			}
			return nil
		})
	})
	t.Run("watch and spawn", func(t *testing.T) {
		d := backplane.New()
		defer d.Drop()
		_, err := backplane.Watch(context.Background(), d, func(ctx context.Context) (struct{}, error) {
			if l, ok := backplane.LineOf(ctx); !ok || l != d.Line() {
				t.Errorf("Watch: LineOf = %v, %v; want %v, true", l, ok, d.Line())
			}
			return struct{}{}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		var g backplane.Group
		spawned := make(chan backplane.Line, 1)
		l, err := g.Spawn(context.Background(), d, backplane.Monitor, func(ctx context.Context) error {
			got, _ := backplane.LineOf(ctx)
			spawned <- got
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		g.Wait()
		if got := <-spawned; got != l {
			t.Errorf("Spawn: LineOf = %v; want %v", got, l)
		}
	})
}

// An Owned device's first task context is made with it; a later task on
// the same device (PartManage, Watch) gets a fresh one, and the first stays
// cancelled.
func TestOwnedTaskContexts(t *testing.T) {
	d := backplane.New(bridge.Owned())
	defer d.Drop()
	var first context.Context
	if err := d.PartManage(context.Background(), func(ctx context.Context) error { first = ctx; return nil }); err != nil {
		t.Fatal(err)
	}
	if first.Err() == nil {
		t.Fatal("the first task's context is not cancelled after its task")
	}
	for i := range 3 {
		err := d.PartManage(context.Background(), func(ctx context.Context) error {
			if ctx == first {
				t.Errorf("task %d: got the first task's context again", i+2)
			}
			if err := ctx.Err(); err != nil {
				t.Errorf("task %d: context already done: %v", i+2, err)
			}
			if l, _ := backplane.LineOf(ctx); l != d.Line() {
				t.Errorf("task %d: LineOf = %v; want %v", i+2, l, d.Line())
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if first.Err() == nil {
		t.Error("the first task's context was revived")
	}
}
