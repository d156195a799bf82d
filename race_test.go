package backplane

// Races between the operations of the contract, run many times with real
// contention: each iteration releases its goroutines together through a
// channel and varies the order they reach the backplane in, then checks
// that the outcome is one of those the contract allows.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// raceBudget caps the time of one race test on a slow machine (or under
// the race detector): the iterations stop early, and the count run is
// logged.
const raceBudget = 2 * time.Second

// raceRun calls iter n times (n/10 in -short mode), stopping early at the
// first failure or when raceBudget is spent. It returns how many ran.
func raceRun(t *testing.T, n int, iter func(i int)) int {
	t.Helper()
	if testing.Short() {
		n /= 10
	}
	deadline := time.Now().Add(raceBudget)
	done := 0
	for i := range n {
		iter(i)
		done++
		if t.Failed() || time.Now().After(deadline) {
			break
		}
	}
	t.Logf("%d of %d iterations", done, n)
	return done
}

// raceJitter yields k times: it shifts one racer against the others without
// waiting for anything.
func raceJitter(k int) {
	for range k {
		runtime.Gosched()
	}
}

// raceAll runs every fn in its own goroutine, releases them together and
// waits for all of them. Iteration i shifts each one by a different number
// of yields, so that each gets to go first.
func raceAll(i int, fns ...func()) {
	start := make(chan struct{})
	var wg sync.WaitGroup
	for j, fn := range fns {
		k := (i/(j+1) + j) % 4
		wg.Go(func() {
			<-start
			raceJitter(k)
			fn()
		})
	}
	close(start)
	wg.Wait()
}

// raceTally counts outcomes so that a test can show both sides of a race
// were reached.
type raceTally map[string]int

// check logs the outcomes and, once enough iterations ran for it to be
// meaningful, fails if one of the wanted outcomes never happened: the race
// would then not have been exercised at all.
func (r raceTally) check(t *testing.T, ran int, want ...string) {
	t.Helper()
	t.Logf("outcomes: %v", map[string]int(r))
	if ran < 1000 {
		return
	}
	for _, w := range want {
		if r[w] == 0 {
			t.Errorf("outcome %q never happened in %d iterations: the race was not exercised", w, ran)
		}
	}
}

func TestRace_LinkVsDisconnect(t *testing.T) {
	type variant struct {
		name string
		link func(a, b *Device) error // links so that a watches b
		want error                    // the sentinel of a failed link
	}
	variants := []variant{
		{"monitor", func(a, b *Device) error { return a.Link(b, Monitor) }, ErrLinkDown},
		{"peer via lines", func(a, b *Device) error { return a.Line().Link(b.Line(), Peer) }, ErrLinkDown},
		{"notify from the target", func(a, b *Device) error { return b.Link(a, Notify) }, ErrDeviceDown},
		{"peer from the target", func(a, b *Device) error { return b.Line().Link(a, Peer) }, ErrDeviceDown},
	}
	tally := raceTally{}
	ran := raceRun(t, 10000, func(i int) {
		v := variants[i%len(variants)]
		a, b := New(), New()
		var fault *Fault
		if i%3 == 0 {
			fault = ErrorFault(errors.New("boom"))
		}
		var linkErr error
		raceAll(i,
			func() { linkErr = v.link(a, b) },
			func() { b.Disconnect(fault) },
		)
		n := a.Pending()
		switch {
		case linkErr != nil:
			tally["error"]++
			if !errors.Is(linkErr, v.want) || n != 0 || semLinks(a) != 0 {
				t.Errorf("%d %s: link failed (%v) and %d messages, %d links", i, v.name, linkErr, n, semLinks(a))
			}
		default:
			tally["message"]++
			if n != 1 {
				t.Errorf("%d %s: link succeeded and %d messages", i, v.name, n)
				break
			}
			if m, _ := a.TryReceive(); m.Kind() != Disconnected || m.From() != b.ID() || m.Fault() != fault {
				t.Errorf("%d %s: got %v", i, v.name, m)
			}
			if semLinks(a) != 0 {
				t.Errorf("%d %s: watcher kept the link of a gone device", i, v.name)
			}
		}
		a.Drop()
	})
	tally.check(t, ran, "error", "message")
}

func TestRace_UnlinkVsDisconnect(t *testing.T) {
	type variant struct {
		name   string
		link   func(a, b *Device) error
		unlink func(a, b *Device) (bool, error)
		flush  bool
	}
	variants := []variant{
		{"monitor", func(a, b *Device) error { return a.Link(b, Monitor) },
			func(a, b *Device) (bool, error) { return a.Unlink(b, Monitor) }, false},
		{"from the target", func(a, b *Device) error { return a.Link(b, Monitor) },
			func(a, b *Device) (bool, error) { return b.Line().Unlink(a, Notify) }, false},
		{"peer, monitor half", func(a, b *Device) error { return a.Link(b, Peer) },
			func(a, b *Device) (bool, error) { return a.Unlink(b, Monitor) }, false},
		{"peer, whole", func(a, b *Device) error { return b.Link(a, Peer) },
			func(a, b *Device) (bool, error) { return a.Line().Unlink(b.Line(), Peer) }, false},
		{"flush", func(a, b *Device) error { return a.Link(b, Monitor) },
			func(a, b *Device) (bool, error) { return a.UnlinkFlush(b, Monitor) }, true},
	}
	tally := raceTally{}
	ran := raceRun(t, 10000, func(i int) {
		v := variants[i%len(variants)]
		a, b := New(), New()
		if err := v.link(a, b); err != nil {
			t.Fatal(err)
		}
		var removed bool
		var err error
		raceAll(i,
			func() { removed, err = v.unlink(a, b) },
			func() { b.Disconnect(ErrorFault(errors.New("boom"))) },
		)
		n := a.Pending()
		switch {
		case err != nil:
			t.Errorf("%d %s: unlink: %v", i, v.name, err)
		case v.flush:
			if n != 0 {
				t.Errorf("%d %s: UnlinkFlush = %v with %d messages left", i, v.name, removed, n)
			}
		case removed && n != 0:
			t.Errorf("%d %s: Unlink removed the edge but %d messages came", i, v.name, n)
		case !removed && n != 1:
			t.Errorf("%d %s: Unlink removed nothing but %d messages came", i, v.name, n)
		}
		tally[fmt.Sprintf("removed=%v", removed)]++
		if semLinks(a) != 0 {
			t.Errorf("%d %s: %d links left", i, v.name, semLinks(a))
		}
		a.Drop()
	})
	tally.check(t, ran, "removed=false", "removed=true")
}

func TestRace_DisconnectBothEndsOfPeer(t *testing.T) {
	tally := raceTally{}
	ran := raceRun(t, 10000, func(i int) {
		a, b, c := New(), New(), New()
		if err := a.Link(b, Peer); err != nil {
			t.Fatal(err)
		}
		c.Link(a, Monitor)
		c.Link(b, Monitor)
		fa, fb := ErrorFault(errors.New("a")), ErrorFault(errors.New("b"))
		if i%3 == 0 {
			fb = nil
		}
		var ea, eb error
		second := func() { eb = b.Disconnect(fb) }
		if i%3 == 2 {
			second = func() { eb = b.Line().Kill(a.ID(), nil) }
		}
		raceAll(i, func() { ea = a.Disconnect(fa) }, second)
		fb = b.fault()
		if ea != nil || eb != nil {
			t.Errorf("%d: disconnects returned %v, %v", i, ea, eb)
		}
		// The third device hears from both, once each.
		got := map[DeviceID]*Fault{}
		for _, m := range semDrain(c) {
			if _, dup := got[m.From()]; dup || m.Kind() != Disconnected {
				t.Errorf("%d: extra message %v", i, m)
			}
			got[m.From()] = m.Fault()
		}
		if f, ok := got[a.ID()]; !ok || f != fa {
			t.Errorf("%d: c heard %v from a, want %v", i, f, fa)
		}
		if f, ok := got[b.ID()]; !ok || f != fb {
			t.Errorf("%d: c heard %v from b, want %v", i, f, fb)
		}
		// At most one of the peers was still up to hear of the other.
		na, nb := a.Pending(), b.Pending()
		if na+nb > 1 {
			t.Errorf("%d: both peers were told (%d, %d)", i, na, nb)
		}
		tally[fmt.Sprintf("a=%d b=%d", na, nb)]++
		for _, d := range []*Device{a, b, c} {
			if n := semLinks(d); n != 0 {
				t.Errorf("%d: %v keeps %d links", i, d.ID(), n)
			}
		}
		c.Drop()
	})
	tally.check(t, ran, "a=0 b=1", "a=1 b=0")
}

func TestRace_ShutdownVsTaskCompletion(t *testing.T) {
	boom := errors.New("boom")
	type variant struct {
		name    string
		part    bool
		result  error
		honours bool // the task also returns when its context is cancelled
	}
	variants := []variant{
		{"manage nil", false, nil, false},
		{"manage error", false, boom, false},
		{"manage honours ctx", false, nil, true},
		{"part-manage nil", true, nil, false},
		{"part-manage error", true, boom, true},
	}
	tally := raceTally{}
	ran := raceRun(t, 6000, func(i int) {
		v := variants[i%len(variants)]
		d, w, requester := New(), New(), New()
		defer requester.Drop()
		w.Link(d, Monitor)
		started := make(chan struct{})
		release := make(chan struct{})
		res := semManage(d, v.part, func(ctx context.Context) error {
			close(started)
			if v.honours {
				select {
				case <-release:
				case <-ctx.Done():
				}
			} else {
				<-release
			}
			return v.result
		})
		<-started
		var shutErr error
		raceAll(i,
			func() { close(release) },
			func() { shutErr = d.Line().Shutdown(requester.ID()) },
		)
		err := <-res
		var c *Crash
		switch {
		case errors.As(err, &c) && c != nil && c.Kind == CrashPowerOff:
			// The shutdown won: it returned nil, the device disconnected
			// cleanly and the task's own result is not reported.
			tally["shutdown"]++
			if shutErr != nil || c.Device != requester.ID() || d.Alive() || d.fault() != nil {
				t.Errorf("%d %s: power off with shutdown %v, requester %v, alive %v, fault %v",
					i, v.name, shutErr, c.Device, d.Alive(), d.fault())
			}
			if m, _ := w.TryReceive(); m.Kind() != Disconnected || m.Fault() != nil {
				t.Errorf("%d %s: watcher got %v, want a clean disconnect", i, v.name, m)
			}
		case v.part && v.result == nil:
			// The task won and the device stayed up: the request is a
			// message in its inbox, and the shutdown succeeded.
			tally["task, request queued"]++
			if err != nil || shutErr != nil || !d.Alive() {
				t.Errorf("%d %s: PartManage %v, shutdown %v, alive %v", i, v.name, err, shutErr, d.Alive())
			}
			if m, _ := d.TryReceive(); m.Kind() != Shutdown || m.From() != requester.ID() {
				t.Errorf("%d %s: inbox holds %v, want the shutdown request", i, v.name, m)
			}
			d.Disconnect(nil)
			semDrain(w)
		default:
			// The task won: its result stands and the shutdown came too late.
			tally["task"]++
			if !errors.Is(shutErr, ErrLinkDown) || d.Alive() {
				t.Errorf("%d %s: task won but shutdown returned %v (alive %v)", i, v.name, shutErr, d.Alive())
			}
			m, _ := w.TryReceive()
			if v.result == nil {
				if err != nil || m.Fault() != nil {
					t.Errorf("%d %s: Manage %v, watcher %v", i, v.name, err, m)
				}
			} else if !errors.As(err, &c) || c == nil || c.Kind != CrashError || !errors.Is(err, boom) || m.Fault() != c.Fault {
				t.Errorf("%d %s: Manage %v, watcher %v", i, v.name, err, m)
			}
		}
		if n := w.Pending(); n != 0 {
			t.Errorf("%d %s: watcher has %d extra messages", i, v.name, n)
		}
		w.Drop()
	})
	tally.check(t, ran, "shutdown", "task", "task, request queued")
}

func TestRace_DisconnectVsTaskCompletion(t *testing.T) {
	boom := errors.New("boom")
	tally := raceTally{}
	ran := raceRun(t, 6000, func(i int) {
		part := i%3 == 2
		var result error
		if i%2 == 1 {
			result = boom
		}
		d, w := New(), New()
		w.Link(d, Monitor)
		started := make(chan struct{})
		release := make(chan struct{})
		res := semManage(d, part, func(ctx context.Context) error {
			close(started)
			<-release
			return result
		})
		<-started
		var fault *Fault
		if i%5 < 2 {
			fault = ErrorFault(errors.New("owner gave up"))
		}
		var discErr error
		end := func() { discErr = d.Disconnect(fault) }
		if i%5 == 4 {
			fault = dropFault
			end = func() { d.Drop() }
		}
		raceAll(i, func() { close(release) }, end)
		err := <-res
		var c *Crash
		errors.As(err, &c)
		m, _ := w.TryReceive()
		switch {
		case c != nil && c.Kind == CrashDisconnected:
			// The owner won while the task ran: Manage says so, with the
			// fault the device went down with.
			tally["disconnect"]++
			if discErr != nil || c.Fault != fault || d.fault() != fault || m.Fault() != fault {
				t.Errorf("%d: crash %v, disconnect %v, device fault %v, watcher %v", i, c, discErr, d.fault(), m)
			}
		case part && result == nil:
			// The task won and the device stayed up for the owner to end.
			tally["task, then disconnect"]++
			if err != nil || discErr != nil || d.fault() != fault || m.Fault() != fault {
				t.Errorf("%d: PartManage %v, disconnect %v, watcher %v", i, err, discErr, m)
			}
		default:
			tally["task"]++
			if fault != dropFault && !errors.Is(discErr, ErrDeviceDown) {
				t.Errorf("%d: task won but Disconnect returned %v", i, discErr)
			}
			switch {
			case result == nil && (err != nil || m.Fault() != nil):
				t.Errorf("%d: Manage %v, watcher %v", i, err, m)
			case result != nil && (c == nil || c.Kind != CrashError || m.Fault() != c.Fault):
				t.Errorf("%d: Manage %v, watcher %v", i, err, m)
			}
		}
		if d.Alive() || w.Pending() != 0 {
			t.Errorf("%d: alive %v, %d extra messages", i, d.Alive(), w.Pending())
		}
		w.Drop()
	})
	tally.check(t, ran, "disconnect", "task", "task, then disconnect")
}

func TestRace_ManyWatchersLinkWhileDisconnecting(t *testing.T) {
	const old, fresh = 4, 4
	tally := raceTally{}
	ran := raceRun(t, 3000, func(i int) {
		target := New()
		olds := make([]*Device, old)
		for j := range olds {
			olds[j] = New()
			if err := olds[j].Link(target, Monitor); err != nil {
				t.Fatal(err)
			}
		}
		news := make([]*Device, fresh)
		errs := make([]error, fresh)
		for j := range news {
			news[j] = New()
		}
		targetGoes := i%4 != 3
		var fns []func()
		if targetGoes {
			fns = append(fns, func() { target.Disconnect(errors.New("target failed")) })
		}
		for j, w := range olds {
			if j%2 == 0 {
				fns = append(fns, func() { w.Disconnect(nil) }) // half of them leave
			}
		}
		for j, w := range news {
			fns = append(fns, func() { errs[j] = w.Link(target, Monitor) })
		}
		raceAll(i, fns...)

		linked := 0
		for j, w := range news {
			switch {
			case errs[j] != nil:
				tally["link failed"]++
				if !errors.Is(errs[j], ErrLinkDown) || w.Pending() != 0 {
					t.Errorf("%d: failed link (%v) with %d messages", i, errs[j], w.Pending())
				}
			default:
				tally["linked"]++
				linked++
				if want := btoi(targetGoes); w.Pending() != want {
					t.Errorf("%d: linked watcher has %d messages, want %d", i, w.Pending(), want)
				}
			}
		}
		for j, w := range olds {
			if j%2 == 0 {
				if w.Pending() > 1 {
					t.Errorf("%d: a leaving watcher got %d messages", i, w.Pending())
				}
			} else if want := btoi(targetGoes); w.Pending() != want {
				t.Errorf("%d: staying watcher has %d messages, want %d", i, w.Pending(), want)
			}
		}
		if !targetGoes {
			// The target forgot exactly the watchers that left.
			if n, want := semLinks(target), linked+old/2; n != want {
				t.Errorf("%d: target knows %d watchers, want %d", i, n, want)
			}
			target.Disconnect(nil)
			for _, w := range news {
				semDrain(w)
			}
		}
		for _, w := range append(olds, news...) {
			if n := semLinks(w); n != 0 {
				t.Errorf("%d: watcher keeps %d links", i, n)
			}
			w.Drop()
		}
	})
	tally.check(t, ran, "link failed", "linked")
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestRace_LinkSamePairFromBothSides(t *testing.T) {
	type variant struct {
		name   string
		one    func(a, b *Device) error
		two    func(a, b *Device) error
		aWants LinkMode // a's view of the link afterwards
	}
	variants := []variant{
		{"monitor both ways",
			func(a, b *Device) error { return a.Link(b, Monitor) },
			func(a, b *Device) error { return b.Link(a, Monitor) }, Peer},
		{"same edge both ends",
			func(a, b *Device) error { return a.Link(b, Monitor) },
			func(a, b *Device) error { return b.Line().Link(a.Line(), Notify) }, Monitor},
		{"two modes one end",
			func(a, b *Device) error { return a.Link(b, Monitor) },
			func(a, b *Device) error { return a.Line().Link(b, Notify) }, Peer},
		{"peer both ways",
			func(a, b *Device) error { return a.Link(b, Peer) },
			func(a, b *Device) error { return b.Link(a.Line(), Peer) }, Peer},
		{"same link twice",
			func(a, b *Device) error { return a.Link(b, Notify) },
			func(a, b *Device) error { return a.Link(b, Notify) }, Notify},
	}
	raceRun(t, 10000, func(i int) {
		v := variants[i%len(variants)]
		a, b := New(), New()
		var e1, e2 error
		raceAll(i, func() { e1 = v.one(a, b) }, func() { e2 = v.two(a, b) })
		if e1 != nil || e2 != nil {
			t.Errorf("%d %s: %v, %v", i, v.name, e1, e2)
		}
		if am, bm := semMode(a, b), semMode(b, a); am != v.aWants || bm != v.aWants.flip() {
			t.Errorf("%d %s: modes %v / %v, want %v / %v", i, v.name, am, bm, v.aWants, v.aWants.flip())
		}
		// One edge per direction: exactly one message where watched.
		first, second := a, b
		if i%2 == 1 {
			first, second = b, a
		}
		first.Disconnect(nil)
		// second is told if it watched first: a watches b with Monitor, b
		// watches a with Notify.
		want := btoi(v.aWants&Notify != 0)
		if first == b {
			want = btoi(v.aWants&Monitor != 0)
		}
		if n := second.Pending(); n != want {
			t.Errorf("%d %s: %v got %d messages, want %d", i, v.name, second.ID(), n, want)
		}
		if semLinks(second) != 0 {
			t.Errorf("%d %s: %v keeps links", i, v.name, second.ID())
		}
		second.Drop()
		if n := first.Pending(); n != 0 {
			t.Errorf("%d %s: the first to go got %d messages", i, v.name, n)
		}
	})
}

func TestRace_PeerLinkAllOrNothing(t *testing.T) {
	tally := raceTally{}
	ran := raceRun(t, 10000, func(i int) {
		a, b := New(), New()
		// Which end goes down while a links to b with Peer.
		goer, stayer, want := b, a, ErrLinkDown
		if i%2 == 1 {
			goer, stayer, want = a, b, ErrDeviceDown
		}
		var linkErr error
		link := func() { linkErr = a.Link(b, Peer) }
		if i%4 >= 2 {
			link = func() { linkErr = b.Line().Link(a.Line(), Peer) }
			if goer == a {
				want = ErrLinkDown
			} else {
				want = ErrDeviceDown
			}
		}
		raceAll(i, link, func() { goer.Disconnect(errors.New("gone")) })
		if linkErr != nil {
			tally["failed"]++
			// Nothing at all was left on the surviving end.
			if !errors.Is(linkErr, want) || stayer.Pending() != 0 || semLinks(stayer) != 0 {
				t.Errorf("%d: failed link (%v, want %v) left %d messages, %d links",
					i, linkErr, want, stayer.Pending(), semLinks(stayer))
			}
		} else {
			tally["linked"]++
			if stayer.Pending() != 1 || semLinks(stayer) != 0 {
				t.Errorf("%d: linked, then %d messages and %d links", i, stayer.Pending(), semLinks(stayer))
			}
		}
		stayer.Drop()
		if goer.Pending() != 0 || semLinks(goer) != 0 {
			t.Errorf("%d: the device that went has %d messages, %d links", i, goer.Pending(), semLinks(goer))
		}
	})
	tally.check(t, ran, "failed", "linked")
}

func TestRace_CascadeVsUnlink(t *testing.T) {
	const (
		watcherUnlinks = iota // the watcher of the managed device unlinks
		watcherFlushes        // the same with flush
		managedUnlinks        // the managed device unlinks its dependency
		variants
	)
	tally := raceTally{}
	ran := raceRun(t, 6000, func(i int) {
		v := i % variants
		root, mid, w, started, res := semBlockedChain()
		<-started
		rootErr := errors.New("root failed")
		var removed bool
		var unlink func()
		switch v {
		case watcherUnlinks:
			unlink = func() { removed, _ = w.Unlink(mid, Monitor) }
		case watcherFlushes:
			unlink = func() { removed, _ = w.UnlinkFlush(mid.Line(), Monitor) }
		default:
			unlink = func() { removed, _ = mid.Unlink(root, Monitor) }
		}
		raceAll(i, unlink, func() { root.Disconnect(rootErr) })
		tally[fmt.Sprintf("v%d removed=%v", v, removed)]++

		if v == managedUnlinks && removed {
			// The dependency was let go in time: no cascade. Stop it.
			if !mid.Alive() {
				t.Errorf("%d: unlinked device cascaded anyway", i)
			}
			mid.Line().Shutdown(DeviceID{})
		}
		err := <-res
		var c *Crash
		errors.As(err, &c)
		cascaded := c != nil && c.Kind == CrashCascade
		switch {
		case v == managedUnlinks && removed && (c == nil || c.Kind != CrashPowerOff):
			t.Errorf("%d: Manage = %v, want a power off", i, err)
		case !(v == managedUnlinks && removed) && !cascaded:
			t.Errorf("%d: Manage = %v, want a cascade", i, err)
		}
		n := w.Pending()
		switch {
		case v == watcherFlushes && n != 0:
			t.Errorf("%d: UnlinkFlush = %v with %d messages", i, removed, n)
		case v == watcherUnlinks && removed && n != 0:
			t.Errorf("%d: Unlink removed the edge but %d messages came", i, n)
		case v == watcherUnlinks && !removed && n != 1:
			t.Errorf("%d: Unlink removed nothing and %d messages came", i, n)
		case v == managedUnlinks && n != 1:
			t.Errorf("%d: watcher got %d messages", i, n)
		}
		if m, ok := w.TryReceive(); ok && cascaded {
			f := m.Fault()
			if rd, rf := f.Root(); f == nil || f.Kind != FaultCascade || rd != root.ID() || !errors.Is(rf, rootErr) {
				t.Errorf("%d: watcher got %v, want a cascade rooted at %v", i, m, root.ID())
			}
		}
		if semLinks(w) != 0 || semLinks(mid) != 0 {
			t.Errorf("%d: links left behind", i)
		}
		w.Drop()
	})
	tally.check(t, ran, "v0 removed=false", "v0 removed=true", "v2 removed=false", "v2 removed=true")
}

func TestRace_ChurningWatchersDoNotGrow(t *testing.T) {
	target := New()
	defer target.Drop()
	const workers = 4
	raceRun(t, 300, func(i int) {
		fns := make([]func(), workers)
		for g := range fns {
			fns[g] = func() {
				for k := range 10 {
					w := New()
					if g%2 == 0 {
						w.Link(target, Monitor)
					} else {
						target.Line().Link(w, Notify)
					}
					switch (i + k + g) % 3 {
					case 0:
						w.Disconnect(nil)
					case 1:
						w.Unlink(target, Peer)
						w.Drop()
					default:
						target.Unlink(w.Line(), Peer)
						w.Drop()
					}
				}
			}
		}
		raceAll(i, fns...)
		if n := semLinks(target); n != 0 {
			t.Errorf("%d: target knows %d watchers that are gone", i, n)
		}
		if n := target.Pending(); n != 0 {
			t.Errorf("%d: target has %d messages", i, n)
		}
	})
}

func TestRace_OneTaskAtATime(t *testing.T) {
	// Two tasks started on one device at once never overlap: the loser is
	// refused with ErrBusy, or with ErrDeviceDown when a Manage has already
	// ended the device. Two Manage calls run exactly one task; a Watch
	// leaves the device up, so a Manage may run after it.
	tally := raceTally{}
	ran := raceRun(t, 6000, func(i int) {
		d := New()
		var runs, inside atomic.Int32
		var overlap atomic.Bool
		task := func(context.Context) error {
			if inside.Add(1) != 1 {
				overlap.Store(true)
			}
			runs.Add(1)
			raceJitter((i / 2) % 8) // vary how long the device stays busy
			inside.Add(-1)
			return nil
		}
		watch := i%2 == 0
		second := func() error { return d.Manage(context.Background(), task) }
		if watch {
			second = func() error {
				_, err := Watch(context.Background(), d, func(ctx context.Context) (int, error) { return 0, task(ctx) })
				return err
			}
		}
		var e1, e2 error
		raceAll(i, func() { e1 = d.Manage(context.Background(), task) }, func() { e2 = second() })
		refused := 0
		for _, err := range []error{e1, e2} {
			switch {
			case err == nil:
			case errors.Is(err, ErrBusy):
				refused++
				tally["busy"]++
			case errors.Is(err, ErrDeviceDown):
				refused++
				tally["down"]++
			default:
				t.Errorf("%d: %v", i, err)
			}
		}
		switch {
		case overlap.Load():
			t.Errorf("%d: two tasks ran at once on one device", i)
		case int(runs.Load())+refused != 2:
			t.Errorf("%d: %d tasks ran and %d were refused (%v, %v)", i, runs.Load(), refused, e1, e2)
		case !watch && runs.Load() != 1:
			t.Errorf("%d: two Manage calls ran %d tasks", i, runs.Load())
		}
		d.Drop()
	})
	tally.check(t, ran, "busy")
}

// raceSpawnChildEnv marks the subprocess of TestRace_SpawnVsWait.
const raceSpawnChildEnv = "BACKPLANE_TEST_SPAWN_VS_WAIT"

// Group is documented as safe for concurrent use, so Spawn may run while
// another goroutine waits for the group (a parent adding children while
// someone waits for them all). The hammering runs in a subprocess, because
// a misused sync.WaitGroup panics ("WaitGroup is reused before previous
// Wait has returned"), which would end the whole test binary, and the race
// detector's report is clearest there.
func TestRace_SpawnVsWait(t *testing.T) {
	if os.Getenv(raceSpawnChildEnv) == "1" {
		raceSpawnVsWait()
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestRace_SpawnVsWait$", "-test.count=1")
	cmd.Env = append(os.Environ(), raceSpawnChildEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		// Keep the lines that say what went wrong and where.
		var keep []string
		for _, l := range strings.Split(string(out), "\n") {
			if strings.Contains(l, "panic:") || strings.Contains(l, "DATA RACE") ||
				strings.Contains(l, "/group.go:") || strings.Contains(l, "/waitgroup.go:") {
				keep = append(keep, l)
			}
		}
		t.Fatalf("Spawn concurrent with Wait is not safe (%v):\n%s", err, strings.Join(keep[:min(len(keep), 20)], "\n"))
	}
}

func raceSpawnVsWait() {
	parent := New()
	defer parent.Drop()
	var g Group
	spawned := make(chan struct{})
	go func() {
		defer close(spawned)
		for range 5000 {
			g.Spawn(context.Background(), parent, Notify, func(context.Context) error { return nil })
		}
	}()
	var waiters sync.WaitGroup
	for range 2 {
		waiters.Go(func() {
			for {
				select {
				case <-spawned:
					return
				default:
					g.Wait()
				}
			}
		})
	}
	waiters.Wait()
	g.Wait()
}
