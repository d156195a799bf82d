package backplane_test

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/backplane-go/backplane"
)

// hookTap records, per hook, the events about one device, so that tests
// running beside it (hooks are process-wide) do not disturb it.
type hookTap struct {
	dev atomic.Uint64 // the sequence number of the device watched
	mu  sync.Mutex
	got []string
}

// watch makes the tap record the events of d from now on.
func (tp *hookTap) watch(d *backplane.Device) { tp.dev.Store(d.ID().Seq()) }

func (tp *hookTap) mine(e backplane.Event) bool { return e.Device.Seq() == tp.dev.Load() }

func (tp *hookTap) hook(name string) backplane.Hook {
	return func(e backplane.Event) {
		if !tp.mine(e) {
			return
		}
		tp.mu.Lock()
		tp.got = append(tp.got, name+":"+e.Kind.String())
		tp.mu.Unlock()
	}
}

func (tp *hookTap) take() []string {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	got := tp.got
	tp.got = nil
	return got
}

func hookWant(t *testing.T, got []string, want ...string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("events %q, want %q", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("events %q, want %q", got, want)
		}
	}
}

// TestAddHookOrder: every hook sees every event, in registration order, and
// removing one leaves the others subscribed.
func TestAddHookOrder(t *testing.T) {
	var tp hookTap
	rmA := backplane.AddHook(tp.hook("a"))
	rmB := backplane.AddHook(tp.hook("b"))
	rmC := backplane.AddHook(tp.hook("c"))
	defer rmA()
	defer rmC()

	d := backplane.New()
	tp.watch(d)
	_ = d.Disconnect(nil)
	hookWant(t, tp.take(), "a:disconnected", "b:disconnected", "c:disconnected")

	rmB()
	rmB() // idempotent
	d = backplane.New()
	tp.watch(d)
	d.Drop()
	hookWant(t, tp.take(), "a:disconnected", "c:disconnected")

	rmA()
	rmC()
	d = backplane.New()
	tp.watch(d)
	d.Drop()
	hookWant(t, tp.take())
}

// TestAddHookNil: a nil hook is ignored and its remove does nothing.
func TestAddHookNil(t *testing.T) {
	rm := backplane.AddHook(nil)
	rm()
	rm()
	d := backplane.New() // no nil function is called
	d.Drop()
}

// TestAddHookTwice: the same function added twice is called twice, and
// each registration is removed on its own.
func TestAddHookTwice(t *testing.T) {
	var tp hookTap
	h := tp.hook("h")
	rm1 := backplane.AddHook(h)
	rm2 := backplane.AddHook(h)
	d := backplane.New()
	tp.watch(d)
	d.Drop()
	hookWant(t, tp.take(), "h:disconnected", "h:disconnected")
	rm1()
	d = backplane.New()
	tp.watch(d)
	d.Drop()
	hookWant(t, tp.take(), "h:disconnected")
	rm2()
}

// TestAddHookInsideHook: a hook may add and remove hooks from inside its
// call. A hook added during an event does not see that event; one removed
// during an event is not called for it if it had not been called yet.
func TestAddHookInsideHook(t *testing.T) {
	var tp hookTap
	var rmLate, rmLast func()
	var once sync.Once
	first := func(e backplane.Event) {
		if !tp.mine(e) {
			return
		}
		tp.hook("first")(e)
		once.Do(func() {
			rmLate = backplane.AddHook(tp.hook("late"))
			rmLast() // "last" was added before this event, but not yet called
		})
	}
	rmFirst := backplane.AddHook(first)
	defer rmFirst()
	rmLast = backplane.AddHook(tp.hook("last"))

	d := backplane.New()
	tp.watch(d)
	_ = d.Disconnect(nil)
	hookWant(t, tp.take(), "first:disconnected")

	d = backplane.New()
	tp.watch(d)
	_ = d.Disconnect(nil)
	hookWant(t, tp.take(), "first:disconnected", "late:disconnected")
	rmLate()
}

// TestAddHookConcurrent: hooks added and removed by many goroutines while
// devices come and go. Each hook counts the events of its own devices only
// between its AddHook and its remove, and sees all of them.
func TestAddHookConcurrent(t *testing.T) {
	const workers, rounds = 8, 200
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				var n atomic.Int32
				var dev atomic.Uint64
				rm := backplane.AddHook(func(e backplane.Event) {
					if e.Device.Seq() == dev.Load() {
						n.Add(1)
					}
				})
				d := backplane.New()
				dev.Store(d.ID().Seq())
				_ = d.Disconnect(nil)
				rm()
				after := n.Load()
				if after != 1 {
					t.Errorf("hook saw %d disconnects of its device, want 1", after)
					return
				}
				rm() // a second remove, concurrent with others' adds, changes nothing
			}
		}()
	}
	wg.Wait()
}

// TestAddHookRemovedNotCalled: once remove has returned, the hook is not
// called again, even through a snapshot of the list taken before.
func TestAddHookRemovedNotCalled(t *testing.T) {
	var calls atomic.Int32
	var tp hookTap
	rm := backplane.AddHook(func(e backplane.Event) {
		if tp.mine(e) {
			calls.Add(1)
		}
	})
	d := backplane.New()
	tp.watch(d)
	rm()
	d.Drop()
	if n := calls.Load(); n != 0 {
		t.Fatalf("a removed hook was called %d times", n)
	}
}
