package backplane

// One test per rule of SEMANTICS.md (rules 1 to 19). Each test is written so
// that it fails if its rule is broken. The concurrency races that back rules
// 5, 6, 8 and 19 at scale live in race_test.go.

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// semTimeout bounds every wait of these tests. It is a failure deadline,
// never a synchronisation device: every wait ends on an event.
const semTimeout = 10 * time.Second

// semRecv returns d's next message, failing the test if none comes in time.
func semRecv(t testing.TB, d *Device) Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), semTimeout)
	defer cancel()
	m, err := d.Receive(ctx)
	if err != nil {
		t.Fatalf("receive on %v: %v", d.ID(), err)
	}
	return m
}

// semDrain takes every message queued in d's inbox.
func semDrain(d *Device) []Message {
	var ms []Message
	for {
		m, ok := d.TryReceive()
		if !ok {
			return ms
		}
		ms = append(ms, m)
	}
}

// semWantDisc checks that m is a Disconnected message from `from` carrying
// exactly the fault pointer f.
func semWantDisc(t testing.TB, m Message, from DeviceID, f *Fault) {
	t.Helper()
	if m.Kind() != Disconnected || m.From() != from || m.Fault() != f {
		t.Fatalf("got %v (fault %p), want disconnected %v with fault %p", m, m.Fault(), from, f)
	}
}

// semWantPending checks how many messages wait in d's inbox.
func semWantPending(t testing.TB, d *Device, n int) {
	t.Helper()
	if got := d.Pending(); got != n {
		t.Fatalf("%v has %d pending messages %v, want %d", d.ID(), got, semDrain(d), n)
	}
}

// semAwait waits for a value on ch, failing the test after semTimeout.
func semAwait[T any](t testing.TB, ch <-chan T) T {
	t.Helper()
	timer := time.NewTimer(semTimeout)
	defer timer.Stop()
	select {
	case v := <-ch:
		return v
	case <-timer.C:
		t.Fatalf("timed out after %v", semTimeout)
	}
	var zero T
	return zero
}

// semManage runs d.Manage (or PartManage) in a new goroutine and returns a
// channel that receives its result.
func semManage(d *Device, part bool, task func(context.Context) error) <-chan error {
	res := make(chan error, 1)
	go func() {
		if part {
			res <- d.PartManage(context.Background(), task)
		} else {
			res <- d.Manage(context.Background(), task)
		}
	}()
	return res
}

// semBlockedChain builds root <- mid <- w (each watching the next one to
// the left) with mid running a task that blocks until its context is
// cancelled. started is closed once the task runs; res has Manage's result.
func semBlockedChain() (root, mid, w *Device, started <-chan struct{}, res <-chan error) {
	root, mid, w = New(), New(), New()
	mid.Link(root, Monitor)
	w.Link(mid, Monitor)
	run := make(chan struct{})
	res = semManage(mid, false, func(ctx context.Context) error {
		close(run)
		<-ctx.Done()
		return nil
	})
	return root, mid, w, run, res
}

// semLinks returns the number of devices d's bookkeeping knows about.
func semLinks(d *Device) int {
	d.d.mu.Lock()
	defer d.d.mu.Unlock()
	return d.d.links.len()
}

// semMode returns the mode d's bookkeeping records towards other.
func semMode(d, other *Device) LinkMode {
	d.d.mu.Lock()
	defer d.d.mu.Unlock()
	return d.d.links.get(other.d)
}

// semBlockedIn waits until n goroutines are parked (in a select, a channel
// receive or a condition wait) inside fn,
// reading the goroutine dump: it waits for a state, not for time.
func semBlockedIn(t testing.TB, fn string, n int) {
	t.Helper()
	deadline := time.Now().Add(semTimeout)
	buf := make([]byte, 1<<20)
	for {
		k := runtime.Stack(buf, true)
		found := 0
		for _, g := range strings.Split(string(buf[:k]), "\n\n") {
			parked := strings.Contains(g, "[select") || strings.Contains(g, "[chan receive") || strings.Contains(g, "[sync.Cond.Wait")
			if parked && strings.Contains(g, fn) {
				found++
			}
		}
		if found >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d goroutines blocked in %s", found, n, fn)
		}
		runtime.Gosched()
	}
}

func TestRule01_DeviceIDUniqueAndReadable(t *testing.T) {
	const workers, per = 8, 300
	ids := make(chan DeviceID, workers*per)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range per {
				d := New()
				ids <- d.ID()
				d.Drop() // a dropped device's ID must not come back
			}
		})
	}
	wg.Wait()
	close(ids)
	seen := make(map[DeviceID]bool, workers*per)
	for id := range ids {
		if id.IsZero() {
			t.Fatal("New returned the zero DeviceID")
		}
		if seen[id] {
			t.Fatalf("DeviceID %v handed out twice", id)
		}
		seen[id] = true
	}

	a, b := New(), New()
	defer a.Drop()
	defer b.Drop()
	if seen[a.ID()] || seen[b.ID()] {
		t.Fatal("a new device reused the ID of a dropped one")
	}
	if b.ID().Seq() <= a.ID().Seq() {
		t.Fatalf("IDs are not a counter: %v then %v", a.ID(), b.ID())
	}
	if got, want := a.ID().String(), "#"+strconv.FormatUint(a.ID().Seq(), 10); got != want {
		t.Fatalf("ID prints as %q, want %q", got, want)
	}
	if got := (DeviceID{}).String(); got != "#0" {
		t.Fatalf("zero ID prints as %q, want #0", got)
	}
	if a.Line().ID() != a.ID() || a.ID() == b.ID() {
		t.Fatal("IDs do not identify devices")
	}

	// Room for a node part: a comparable struct with no exported fields, so
	// fields can be added without breaking callers.
	typ := reflect.TypeFor[DeviceID]()
	if typ.Kind() != reflect.Struct || !typ.Comparable() {
		t.Fatalf("DeviceID is a %v (comparable %v), want a comparable struct", typ.Kind(), typ.Comparable())
	}
	for f := range typ.Fields() {
		if f.IsExported() {
			t.Fatalf("DeviceID exports field %s: adding a node part would break callers", f.Name)
		}
	}
}

// semLinker links a to b in mode through one of the four combinations of
// *Device and Line.
type semLinker struct {
	name string
	link func(a, b *Device, mode LinkMode) error
}

var semLinkers = []semLinker{
	{"device-device", func(a, b *Device, m LinkMode) error { return a.Link(b, m) }},
	{"device-line", func(a, b *Device, m LinkMode) error { return a.Link(b.Line(), m) }},
	{"line-device", func(a, b *Device, m LinkMode) error { return a.Line().Link(b, m) }},
	{"line-line", func(a, b *Device, m LinkMode) error { return a.Line().Link(b.Line(), m) }},
}

func TestRule02_OneEdgePerOrderedPair(t *testing.T) {
	for _, first := range semLinkers {
		for _, second := range semLinkers {
			t.Run(first.name+"_then_"+second.name, func(t *testing.T) {
				a, b := New(), New()
				defer a.Drop()
				if err := first.link(a, b, Monitor); err != nil {
					t.Fatal(err)
				}
				if err := second.link(a, b, Monitor); err != nil {
					t.Fatalf("linking again: %v", err)
				}
				if m := semMode(a, b); m != Monitor {
					t.Fatalf("a's view of the link is %v, want monitor", m)
				}
				if m := semMode(b, a); m != Notify {
					t.Fatalf("b's view of the link is %v, want notify", m)
				}
				boom := errors.New("boom")
				if err := b.Disconnect(boom); err != nil {
					t.Fatal(err)
				}
				semWantPending(t, a, 1) // one edge, one message
				semWantDisc(t, semRecv(t, a), b.ID(), b.fault())
			})
		}
	}

	t.Run("modes add and unlink one direction", func(t *testing.T) {
		a, b := New(), New()
		defer a.Drop()
		defer b.Drop()
		if err := a.Link(b, Monitor); err != nil {
			t.Fatal(err)
		}
		if err := a.Line().Link(b, Notify); err != nil {
			t.Fatal(err)
		}
		if semMode(a, b) != Peer || semMode(b, a) != Peer {
			t.Fatalf("monitor then notify gave %v / %v, want peer", semMode(a, b), semMode(b, a))
		}
		// The same edges seen from the other side: a no-op.
		if err := b.Link(a, Peer); err != nil {
			t.Fatal(err)
		}
		if semMode(a, b) != Peer || semMode(b, a) != Peer {
			t.Fatalf("relinking from the other side changed the link: %v / %v", semMode(a, b), semMode(b, a))
		}
		removed, err := a.Unlink(b, Notify)
		if err != nil || !removed {
			t.Fatalf("Unlink(Notify) = %v, %v; want true, nil", removed, err)
		}
		if semMode(a, b) != Monitor || semMode(b, a) != Notify {
			t.Fatalf("after unlinking notify: %v / %v, want monitor / notify", semMode(a, b), semMode(b, a))
		}
		c := New()
		defer c.Drop()
		if err := a.Link(c, Peer); err != nil {
			t.Fatal(err)
		}
		// a watches b but b no longer watches a.
		if err := a.Disconnect(nil); err != nil {
			t.Fatal(err)
		}
		semWantPending(t, b, 0)
		semWantPending(t, c, 1)
	})
}

func TestRule03_SelfAndInvalidLinks(t *testing.T) {
	a := New()
	defer a.Drop()
	for _, l := range semLinkers {
		for _, mode := range []LinkMode{Monitor, Notify, Peer} {
			err := l.link(a, a, mode)
			var le *LinkError
			if !errors.Is(err, ErrSelfLink) || !errors.As(err, &le) || le.From != a.ID() || le.To != a.ID() {
				t.Fatalf("%s self link %v: %v, want ErrSelfLink in a *LinkError", l.name, mode, err)
			}
		}
	}
	if semLinks(a) != 0 {
		t.Fatal("a failed self link left an edge")
	}
	var nilDev *Device
	invalid := map[string]func() error{
		"to nil device":    func() error { return a.Link(nilDev, Monitor) },
		"to zero device":   func() error { return a.Link(&Device{}, Monitor) },
		"to zero line":     func() error { return a.Link(Line{}, Monitor) },
		"to nil linkable":  func() error { return a.Link(nil, Monitor) },
		"from nil device":  func() error { return nilDev.Link(a, Monitor) },
		"from zero device": func() error { return (&Device{}).Link(a, Monitor) },
		"from zero line":   func() error { return Line{}.Link(a, Monitor) },
	}
	for name, f := range invalid {
		var err error
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("%s panicked: %v", name, r)
				}
			}()
			err = f()
		}()
		if !errors.Is(err, ErrInvalid) {
			t.Fatalf("%s: %v, want ErrInvalid", name, err)
		}
	}
}

func TestRule04_LinkToDownDevice(t *testing.T) {
	for _, l := range semLinkers {
		t.Run(l.name, func(t *testing.T) {
			live, dead := New(), New()
			defer live.Drop()
			dead.Drop()
			for _, mode := range []LinkMode{Monitor, Notify, Peer} {
				if err := l.link(dead, live, mode); !errors.Is(err, ErrDeviceDown) {
					t.Fatalf("link from a down device (%v): %v, want ErrDeviceDown", mode, err)
				}
				if err := l.link(live, dead, mode); !errors.Is(err, ErrLinkDown) {
					t.Fatalf("link to a down device (%v): %v, want ErrLinkDown", mode, err)
				}
			}
			other := New()
			other.Drop()
			if err := l.link(dead, other, Peer); !errors.Is(err, ErrDeviceDown) {
				t.Fatalf("both down: %v, want ErrDeviceDown (self is checked first)", err)
			}
			// All or nothing: the failed Peer links left no half-edge on the
			// live side, so it neither remembers the dead device nor gets a
			// message, now or when it disconnects.
			if n := semLinks(live); n != 0 {
				t.Fatalf("a failed link left %d entries on the live device", n)
			}
			semWantPending(t, live, 0)
		})
	}
}

func TestRule05_NoLinkLostOrDoubled(t *testing.T) {
	// In order: a link before the disconnect is one message, a link after
	// it is an error.
	a, b := New(), New()
	defer a.Drop()
	if err := a.Link(b, Monitor); err != nil {
		t.Fatal(err)
	}
	b.Drop()
	if err := a.Link(b, Monitor); !errors.Is(err, ErrLinkDown) {
		t.Fatalf("link after disconnect: %v", err)
	}
	semWantDisc(t, semRecv(t, a), b.ID(), b.fault())
	semWantPending(t, a, 0)

	// Racing: exactly one of an error now or one message later.
	for i := range 300 {
		w, target := New(), New()
		start := make(chan struct{})
		var linkErr error
		var wg sync.WaitGroup
		wg.Go(func() { <-start; linkErr = w.Link(target, Monitor) })
		wg.Go(func() { <-start; target.Disconnect(nil) })
		close(start)
		wg.Wait()
		n := w.Pending()
		switch {
		case linkErr != nil && !errors.Is(linkErr, ErrLinkDown):
			t.Fatalf("iteration %d: link failed with %v", i, linkErr)
		case linkErr != nil && n != 0:
			t.Fatalf("iteration %d: link failed and %d messages arrived", i, n)
		case linkErr == nil && n != 1:
			t.Fatalf("iteration %d: link succeeded and %d messages arrived", i, n)
		}
		w.Drop()
	}
}

func TestRule06_Unlink(t *testing.T) {
	t.Run("removes an active edge", func(t *testing.T) {
		a, b := New(), New()
		defer a.Drop()
		if err := a.Link(b, Monitor); err != nil {
			t.Fatal(err)
		}
		removed, err := a.Unlink(b, Monitor)
		if !removed || err != nil {
			t.Fatalf("Unlink = %v, %v; want true, nil", removed, err)
		}
		b.Disconnect(errors.New("boom"))
		semWantPending(t, a, 0)
	})
	t.Run("after the notifier went down", func(t *testing.T) {
		a, b := New(), New()
		defer a.Drop()
		if err := b.Link(a, Notify); err != nil {
			t.Fatal(err)
		}
		b.Disconnect(nil)
		// The notification is queued: the edge is no longer active.
		removed, err := a.Unlink(b, Monitor)
		if removed || err != nil {
			t.Fatalf("Unlink after delivery = %v, %v; want false, nil", removed, err)
		}
		semWantPending(t, a, 1)
		// With flush it is taken back out of the inbox, but no active edge
		// was removed: false, as demonitor(Ref, [flush, info]) after the
		// monitor fired.
		removed, err = a.UnlinkFlush(b, Monitor)
		if removed || err != nil {
			t.Fatalf("UnlinkFlush = %v, %v; want false, nil", removed, err)
		}
		semWantPending(t, a, 0)
		removed, err = a.UnlinkFlush(b, Monitor)
		if removed || err != nil {
			t.Fatalf("second UnlinkFlush = %v, %v; want false, nil", removed, err)
		}
	})
	t.Run("flush takes only that sender's message", func(t *testing.T) {
		a, x, y := New(), New(), New()
		defer a.Drop()
		a.Link(x, Monitor)
		a.Link(y, Monitor)
		a.Line().Shutdown(x.ID()) // a request from x is not x's notification
		x.Disconnect(nil)
		y.Disconnect(nil)
		if removed, _ := a.UnlinkFlush(x, Monitor); removed {
			t.Fatal("UnlinkFlush of a fired edge reported an active edge")
		}
		semWantPending(t, a, 2)
		if m := semRecv(t, a); m.Kind() != Shutdown || m.From() != x.ID() {
			t.Fatalf("got %v, want x's shutdown request", m)
		}
		semWantDisc(t, semRecv(t, a), y.ID(), nil)
	})
	t.Run("one direction only", func(t *testing.T) {
		a, b := New(), New()
		if err := a.Link(b, Peer); err != nil {
			t.Fatal(err)
		}
		if removed, err := b.Unlink(a, Notify); !removed || err != nil {
			t.Fatalf("Unlink(Notify) from b = %v, %v", removed, err)
		}
		// b no longer notifies a; a still notifies b.
		b.Disconnect(nil)
		semWantPending(t, a, 0)
		if semLinks(a) != 0 {
			t.Fatal("a remembers b after b disconnected")
		}
		a.Drop()
	})
	t.Run("nonexistent edge is a no-op", func(t *testing.T) {
		a, b := New(), New()
		defer a.Drop()
		defer b.Drop()
		for _, mode := range []LinkMode{Monitor, Notify, Peer} {
			if removed, err := a.Unlink(b, mode); removed || err != nil {
				t.Fatalf("Unlink(%v) of nothing = %v, %v", mode, removed, err)
			}
		}
		a.Link(b, Monitor)
		if removed, err := a.Unlink(b, Notify); removed || err != nil {
			t.Fatalf("Unlink(Notify) of a monitor = %v, %v; want false, nil", removed, err)
		}
		if semMode(a, b) != Monitor {
			t.Fatal("unlinking the other direction removed the monitor")
		}
	})
}

func TestRule07_BookkeepingCleanedOnBothEnds(t *testing.T) {
	target := New()
	defer target.Drop()
	ends := []func(w *Device){
		func(w *Device) { w.Disconnect(nil) },
		func(w *Device) { w.Disconnect(errors.New("watcher failed")) },
		func(w *Device) { w.Drop() },
		func(w *Device) { w.Unlink(target, Monitor) },
		func(w *Device) { target.Unlink(w, Notify) },
		func(w *Device) { w.Line().Kill(DeviceID{}, nil) },
	}
	const rounds = 300
	for i := range rounds {
		// Several watchers at once, so the target's set moves to its map
		// form, then all of them go.
		ws := make([]*Device, 5)
		for j := range ws {
			ws[j] = New()
			var err error
			switch j % 3 {
			case 0:
				err = ws[j].Link(target, Monitor)
			case 1:
				err = target.Line().Link(ws[j], Notify)
			default:
				err = ws[j].Link(target, Monitor)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if n := semLinks(target); n != len(ws) {
			t.Fatalf("round %d: target knows %d watchers, want %d", i, n, len(ws))
		}
		for j, w := range ws {
			ends[(i+j)%len(ends)](w)
			w.Drop()
		}
		if n := semLinks(target); n != 0 {
			t.Fatalf("round %d: target still knows %d watchers that are gone", i, n)
		}
		for _, w := range ws {
			if n := semLinks(w); n != 0 {
				t.Fatalf("round %d: watcher %v still knows %d devices", i, w.ID(), n)
			}
		}
	}
	semWantPending(t, target, 0)

	// The other end: a watcher whose target goes forgets it too.
	w, x := New(), New()
	defer w.Drop()
	w.Link(x, Peer)
	x.Disconnect(nil)
	if n := semLinks(w); n != 0 {
		t.Fatalf("watcher remembers %d devices after its target went", n)
	}
}

func TestRule08_DisconnectExactlyOnce(t *testing.T) {
	target := New()
	watchers := make([]*Device, 6)
	for i := range watchers {
		watchers[i] = New()
		defer watchers[i].Drop()
		var err error
		switch i % 3 {
		case 0:
			err = watchers[i].Link(target, Monitor)
		case 1:
			err = target.Link(watchers[i], Notify)
		default:
			err = watchers[i].Line().Link(target.Line(), Peer)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	faults := make([]*Fault, 8)
	results := make([]error, len(faults))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range faults {
		faults[i] = ErrorFault(fmt.Errorf("disconnect %d", i))
		wg.Go(func() {
			<-start
			results[i] = target.Disconnect(faults[i])
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range results {
		if err == nil {
			if winner >= 0 {
				t.Fatalf("Disconnect succeeded twice (%d and %d)", winner, i)
			}
			winner = i
			continue
		}
		var de *DeviceError
		if !errors.Is(err, ErrDeviceDown) || !errors.As(err, &de) || de.Device != target.ID() {
			t.Fatalf("losing Disconnect returned %v, want ErrDeviceDown in a *DeviceError", err)
		}
	}
	if winner < 0 {
		t.Fatal("no Disconnect succeeded")
	}
	if target.fault() != faults[winner] {
		t.Fatalf("device fault %v, want the winner's %v", target.fault(), faults[winner])
	}
	target.Drop() // a no-op now
	if err := target.Disconnect(nil); !errors.Is(err, ErrDeviceDown) {
		t.Fatalf("Disconnect after Drop: %v", err)
	}
	for _, w := range watchers {
		semWantPending(t, w, 1)
		semWantDisc(t, semRecv(t, w), target.ID(), faults[winner])
		if err := w.Link(target, Monitor); !errors.Is(err, ErrLinkDown) {
			t.Fatalf("link after disconnect: %v", err)
		}
	}
}

func TestRule09_PerSenderFIFO(t *testing.T) {
	t.Run("shutdown then disconnected", func(t *testing.T) {
		for range 200 {
			sender, recv := New(), New()
			if err := recv.Link(sender, Monitor); err != nil {
				t.Fatal(err)
			}
			if err := recv.Line().Shutdown(sender.ID()); err != nil {
				t.Fatal(err)
			}
			sender.Disconnect(nil)
			m := semRecv(t, recv)
			if m.Kind() != Shutdown || m.From() != sender.ID() {
				t.Fatalf("first message %v, want the shutdown request", m)
			}
			semWantDisc(t, semRecv(t, recv), sender.ID(), nil)
			recv.Drop()
		}
	})
	t.Run("many senders", func(t *testing.T) {
		recv := New()
		defer recv.Drop()
		const senders, each = 8, 50
		devs := make([]*Device, senders)
		for i := range devs {
			devs[i] = New()
			recv.Link(devs[i], Monitor)
		}
		start := make(chan struct{})
		var wg sync.WaitGroup
		for _, s := range devs {
			wg.Go(func() {
				<-start
				for range each {
					recv.Line().Shutdown(s.ID())
					runtime.Gosched()
				}
				s.Disconnect(nil)
			})
		}
		close(start)
		wg.Wait()
		count := map[DeviceID]int{}
		for _, m := range semDrain(recv) {
			switch m.Kind() {
			case Shutdown:
				if count[m.From()] < 0 {
					t.Fatalf("shutdown from %v after its disconnected message", m.From())
				}
				count[m.From()]++
			case Disconnected:
				if count[m.From()] != each {
					t.Fatalf("disconnected from %v after %d of its %d shutdowns", m.From(), count[m.From()], each)
				}
				count[m.From()] = -1
			}
		}
		for _, s := range devs {
			if count[s.ID()] != -1 {
				t.Fatalf("sender %v: messages missing (%d)", s.ID(), count[s.ID()])
			}
		}
	})
}

func TestRule10_DeliveryNeverBlocksNorDrops(t *testing.T) {
	const n = 5000
	w := New()
	defer w.Drop()
	targets := make([]*Device, n)
	for i := range targets {
		targets[i] = New()
		if err := w.Link(targets[i], Monitor); err != nil {
			t.Fatal(err)
		}
	}
	// Nobody reads w's inbox while its targets go down: if delivery
	// blocked, the goroutine below would never finish.
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i, d := range targets {
			if i%2 == 0 {
				d.Disconnect(nil)
			} else {
				d.Disconnect(errors.New("boom"))
			}
		}
	}()
	semAwait(t, done)
	semWantPending(t, w, n)
	got := map[DeviceID]bool{}
	for range n {
		m, ok := w.TryReceive()
		if !ok || m.Kind() != Disconnected || got[m.From()] {
			t.Fatalf("bad or missing message %v (%v)", m, ok)
		}
		got[m.From()] = true
	}
	semWantPending(t, w, 0)

	// Once the device is down and its inbox empty, Receive says so rather
	// than waiting forever.
	x := New()
	w.Link(x, Monitor)
	x.Disconnect(nil)
	w.Disconnect(nil)
	ctx, cancel := context.WithTimeout(context.Background(), semTimeout)
	defer cancel()
	for {
		_, err := w.Receive(ctx)
		if err != nil {
			if !errors.Is(err, ErrDeviceDown) {
				t.Fatalf("Receive on a drained, down device: %v", err)
			}
			break
		}
	}
}

func TestRule11_GoneBeforeNotified(t *testing.T) {
	// check runs in the watcher as soon as it has the message.
	check := func(w, sender *Device, m Message) string {
		var bad []string
		select {
		case <-sender.Done():
		default:
			bad = append(bad, "Done not closed")
		}
		if sender.Alive() || sender.Line().Alive() {
			bad = append(bad, "still alive")
		}
		if err := w.Link(sender, Monitor); !errors.Is(err, ErrLinkDown) {
			bad = append(bad, fmt.Sprintf("link: %v", err))
		}
		if err := sender.Line().Shutdown(w.ID()); !errors.Is(err, ErrLinkDown) {
			bad = append(bad, fmt.Sprintf("shutdown: %v", err))
		}
		if sender.fault() != m.Fault() {
			bad = append(bad, "Fault() differs from the message's")
		}
		return strings.Join(bad, "; ")
	}
	t.Run("plain", func(t *testing.T) {
		for i := range 300 {
			w, target := New(), New()
			if err := w.Link(target, Monitor); err != nil {
				t.Fatal(err)
			}
			if i%2 == 0 {
				target.Done() // make the channel before the disconnect
			}
			res := make(chan string, 1)
			go func() {
				if i%3 == 0 {
					<-w.Ready()
				}
				m, err := w.Receive(context.Background())
				if err != nil {
					res <- err.Error()
					return
				}
				res <- check(w, target, m)
			}()
			target.Disconnect(ErrorFault(errors.New("boom")))
			if bad := semAwait(t, res); bad != "" {
				t.Fatalf("iteration %d: watcher saw %s", i, bad)
			}
			w.Drop()
		}
	})
	t.Run("cascade", func(t *testing.T) {
		for i := range 100 {
			root, mid, w, started, res := semBlockedChain()
			semAwait(t, started)
			bad := make(chan string, 1)
			go func() {
				m, err := w.Receive(context.Background())
				if err != nil {
					bad <- err.Error()
					return
				}
				bad <- check(w, mid, m)
			}()
			root.Disconnect(errors.New("root failed"))
			if b := semAwait(t, bad); b != "" {
				t.Fatalf("iteration %d: watcher of the cascaded device saw %s", i, b)
			}
			semAwait(t, res)
			w.Drop()
		}
	})
}

func TestRule12_MessagesCannotBeForged(t *testing.T) {
	typ := reflect.TypeFor[Message]()
	for f := range typ.Fields() {
		if f.IsExported() {
			t.Errorf("Message exports field %s: a Disconnected could be forged", f.Name)
		}
	}
	// Only read-only methods, on the value.
	want := map[string]bool{"Kind": true, "From": true, "Fault": true, "String": true}
	for m := range reflect.PointerTo(typ).Methods() {
		if !want[m.Name] {
			t.Errorf("*Message has method %s: it may mutate or build messages", m.Name)
		}
	}
	var zero Message
	if zero.Kind() != 0 || zero.Kind() == Disconnected {
		t.Errorf("the zero Message has kind %v", zero.Kind())
	}

	// No exported function makes a Message or takes one in: the package's
	// own sources are the only producer. Receive and TryReceive hand them
	// out.
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	mentions := func(fl *ast.FieldList) bool {
		found := false
		if fl == nil {
			return false
		}
		for _, f := range fl.List {
			ast.Inspect(f.Type, func(n ast.Node) bool {
				if id, ok := n.(*ast.Ident); ok && id.Name == "Message" {
					found = true
				}
				return true
			})
		}
		return found
	}
	readers := map[string]bool{"TryReceive": true, "Receive": true}
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || !fn.Name.IsExported() {
				continue
			}
			checked++
			if mentions(fn.Type.Params) {
				t.Errorf("%s: exported %s takes a Message", fset.Position(fn.Pos()), fn.Name.Name)
			}
			if mentions(fn.Type.Results) && !readers[fn.Name.Name] {
				t.Errorf("%s: exported %s returns a Message", fset.Position(fn.Pos()), fn.Name.Name)
			}
		}
	}
	if checked == 0 {
		t.Fatal("found no exported functions to check")
	}

	// Anyone with a Line may ask for a shutdown, and that is all it sends.
	d := New()
	defer d.Drop()
	l := d.Line()
	if err := l.Shutdown(DeviceID{}); err != nil {
		t.Fatal(err)
	}
	m := semRecv(t, d)
	if m.Kind() != Shutdown || !m.From().IsZero() || m.Fault() != nil {
		t.Fatalf("shutdown request arrived as %v", m)
	}
}

func TestRule13_FaultKinds(t *testing.T) {
	boom := errors.New("boom")
	given := &Fault{Kind: FaultError, Err: boom}
	tests := []struct {
		name string
		end  func(d *Device) // ends d
		kind FaultKind       // 0: clean
		same *Fault          // when set, the exact fault expected
		err  error           // when set, errors.Is must reach it
	}{
		{"clean", func(d *Device) { d.Disconnect(nil) }, 0, nil, nil},
		{"drop", func(d *Device) { d.Drop() }, FaultDrop, nil, nil},
		{"error", func(d *Device) { d.Disconnect(boom) }, FaultError, nil, boom},
		{"given fault", func(d *Device) { d.Disconnect(given) }, FaultError, given, boom},
		{"killed", func(d *Device) { d.Line().Kill(DeviceID{}, boom) }, FaultKilled, nil, boom},
		{"task error", func(d *Device) {
			d.Manage(context.Background(), func(context.Context) error { return boom })
		}, FaultError, nil, boom},
		{"task panic", func(d *Device) {
			d.Manage(context.Background(), func(context.Context) error { panic(boom) })
		}, FaultPanic, nil, boom},
		{"task ok", func(d *Device) {
			d.Manage(context.Background(), func(context.Context) error { return nil })
		}, 0, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, w := New(), New()
			defer w.Drop()
			w.Link(d, Monitor)
			tt.end(d)
			m := semRecv(t, w)
			f := m.Fault()
			if f != d.fault() {
				t.Fatal("message and device disagree on the fault")
			}
			if tt.kind == 0 {
				if f != nil {
					t.Fatalf("clean end gave fault %v", f)
				}
				return
			}
			if f == nil || f.Kind != tt.kind {
				t.Fatalf("fault %v, want kind %v", f, tt.kind)
			}
			if tt.same != nil && f != tt.same {
				t.Fatal("Disconnect did not use the given *Fault as it is")
			}
			if tt.err != nil && !errors.Is(f, tt.err) {
				t.Fatalf("errors.Is(%v, %v) is false", f, tt.err)
			}
			if f.Kind == FaultPanic && (f.Value != boom || !strings.Contains(string(f.Stack), "TestRule13")) {
				t.Fatalf("panic fault lost its value or stack: %v\n%s", f.Value, f.Stack)
			}
		})
	}

	t.Run("cascade keeps the root", func(t *testing.T) {
		// root <- m1 <- m2 <- m3 <- w: w is three hops away from root.
		root, w := New(), New()
		defer w.Drop()
		chain := []*Device{New(), New(), New()}
		prev := root
		var results []<-chan error
		for _, m := range chain {
			m.Link(prev, Monitor)
			started := make(chan struct{})
			results = append(results, semManage(m, false, func(ctx context.Context) error {
				close(started)
				<-ctx.Done()
				return context.Cause(ctx)
			}))
			semAwait(t, started)
			prev = m
		}
		w.Link(prev, Monitor)
		root.Disconnect(boom)
		m := semRecv(t, w)
		f := m.Fault()
		if f == nil || f.Kind != FaultCascade || f.Device != chain[1].ID() {
			t.Fatalf("got %v, want a cascade naming %v", f, chain[1].ID())
		}
		rd, rf := f.Root()
		if rd != root.ID() || rf != root.fault() || rf.Kind != FaultError {
			t.Fatalf("Root() = %v, %v; want %v, %v", rd, rf, root.ID(), root.fault())
		}
		if !errors.Is(f, boom) {
			t.Fatal("errors.Is does not reach the root error through the cascade")
		}
		for i, res := range results {
			var c *Crash
			err := semAwait(t, res)
			if !errors.As(err, &c) || c == nil || c.Kind != CrashCascade {
				t.Fatalf("link %d of the chain: Manage returned %v, want a cascade crash", i, err)
			}
		}
	})

	t.Run("unreachable is reserved", func(t *testing.T) {
		if FaultUnreachable.String() != "unreachable" {
			t.Fatalf("FaultUnreachable prints as %q", FaultUnreachable.String())
		}
	})
}

type semCodeError struct{ code int }

func (e *semCodeError) Error() string { return "code " + strconv.Itoa(e.code) }

func TestRule14_OneSharedFault(t *testing.T) {
	d := New()
	ws := make([]*Device, 8)
	for i := range ws {
		ws[i] = New()
		defer ws[i].Drop()
		ws[i].Link(d, Monitor)
	}
	// A managed watcher turns it into a cascade: its crash, its own fault
	// and the messages of its watchers must share pointers too.
	mid, midW := New(), New()
	defer midW.Drop()
	mid.Link(d, Monitor)
	midW.Link(mid, Monitor)
	started := make(chan struct{})
	res := semManage(mid, false, func(ctx context.Context) error { close(started); <-ctx.Done(); return nil })
	semAwait(t, started)

	taskErr := &semCodeError{code: 7}
	d.Disconnect(fmt.Errorf("wrapped: %w", taskErr))
	var first *Fault
	for i, w := range ws {
		f := semRecv(t, w).Fault()
		if i == 0 {
			first = f
		}
		if f == nil || f != first {
			t.Fatalf("watcher %d got fault %p, watcher 0 got %p", i, f, first)
		}
	}
	if d.fault() != first {
		t.Fatal("Device.Fault differs from the delivered fault")
	}
	var ce *semCodeError
	if !errors.As(first, &ce) || ce != taskErr {
		t.Fatal("errors.As does not reach the task's own error")
	}
	var c *Crash
	if err := semAwait(t, res); !errors.As(err, &c) || c == nil || c.Fault != mid.fault() || c.Fault.Cause != first {
		t.Fatalf("crash %v does not share the faults", err)
	}
	if f := semRecv(t, midW).Fault(); f != c.Fault {
		t.Fatal("the cascaded device's watcher got another fault than its crash")
	}
	ce = nil
	if !errors.As(c, &ce) || ce != taskErr {
		t.Fatal("errors.As does not reach the task's error through a cascade crash")
	}
}

func TestRule15_Watch(t *testing.T) {
	ctx := context.Background()
	t.Run("result", func(t *testing.T) {
		d := New()
		defer d.Drop()
		errF := errors.New("f failed")
		w, err := Watch(ctx, d, func(context.Context) (int, error) { return 42, errF })
		if w.Messaged || w.Value != 42 || err != errF {
			t.Fatalf("Watch = %+v, %v", w, err)
		}
		if !d.Alive() {
			t.Fatal("Watch disconnected the device")
		}
	})
	t.Run("queued message first", func(t *testing.T) {
		d := New()
		defer d.Drop()
		d.Line().Shutdown(DeviceID{})
		ran := false
		w, err := Watch(ctx, d, func(context.Context) (int, error) { ran = true; return 1, nil })
		if err != nil || !w.Messaged || w.Message.Kind() != Shutdown || ran {
			t.Fatalf("Watch = %+v, %v (f ran: %v)", w, err, ran)
		}
	})
	t.Run("message interrupts", func(t *testing.T) {
		d, x := New(), New()
		defer d.Drop()
		d.Link(x, Monitor)
		w, err := Watch(ctx, d, func(ctx context.Context) (int, error) {
			x.Disconnect(nil) // a message arrives while f runs
			select {
			case <-ctx.Done():
				return 0, ctx.Err()
			case <-time.After(semTimeout):
				return 0, errors.New("context not cancelled by the message")
			}
		})
		if err != nil || !w.Messaged {
			t.Fatalf("Watch = %+v, %v", w, err)
		}
		semWantDisc(t, w.Message, x.ID(), nil)
	})
	t.Run("message wins a tie", func(t *testing.T) {
		d, x := New(), New()
		defer d.Drop()
		d.Link(x, Monitor)
		w, err := Watch(ctx, d, func(context.Context) (int, error) {
			x.Disconnect(nil)
			return 5, nil
		})
		if err != nil || !w.Messaged || w.Message.From() != x.ID() {
			t.Fatalf("Watch = %+v, %v; want the message", w, err)
		}
	})
	t.Run("panic is a crash", func(t *testing.T) {
		d := New()
		defer d.Drop()
		_, err := Watch(ctx, d, func(context.Context) (int, error) { panic("oops") })
		var c *Crash
		if !errors.As(err, &c) || c == nil || c.Kind != CrashPanic || c.Fault == nil || c.Fault.Value != "oops" || len(c.Fault.Stack) == 0 {
			t.Fatalf("Watch of a panic = %v", err)
		}
		if !d.Alive() {
			t.Fatal("a panic in Watch disconnected the device")
		}
		// The device is usable again.
		if _, err := Watch(ctx, d, func(context.Context) (int, error) { return 0, nil }); err != nil {
			t.Fatalf("Watch after a panic: %v", err)
		}
	})
}

func TestRule16_Manage(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name string
		// task runs under the device; trigger, if set, runs once the task
		// has started, with the device and the device it watches.
		task    func(ctx context.Context) error
		trigger func(d, dep *Device)
		crash   CrashKind // 0: Manage returns nil
		fault   FaultKind // 0: clean disconnect
	}{
		{"nil", func(context.Context) error { return nil }, nil, 0, 0},
		{"error", func(context.Context) error { return boom }, nil, CrashError, FaultError},
		{"panic", func(context.Context) error { panic(boom) }, nil, CrashPanic, FaultPanic},
		{"shutdown", nil, func(d, _ *Device) { d.Line().Shutdown(DeviceID{}) }, CrashPowerOff, 0},
		{"cascade", nil, func(_, dep *Device) { dep.Disconnect(boom) }, CrashCascade, FaultCascade},
		{"killed", nil, func(d, _ *Device) { d.Line().Kill(DeviceID{}, boom) }, CrashKilled, FaultKilled},
		{"disconnected", nil, func(d, _ *Device) { d.Disconnect(boom) }, CrashDisconnected, FaultError},
		{"dropped", nil, func(d, _ *Device) { d.Drop() }, CrashDisconnected, FaultDrop},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, dep, w := New(), New(), New()
			defer dep.Drop()
			defer w.Drop()
			d.Link(dep, Monitor)
			w.Link(d, Monitor)
			started := make(chan struct{})
			task := tt.task
			if task == nil {
				task = func(ctx context.Context) error { <-ctx.Done(); return nil }
			}
			res := semManage(d, false, func(ctx context.Context) error {
				close(started)
				return task(ctx)
			})
			semAwait(t, started)
			if tt.trigger != nil {
				tt.trigger(d, dep)
			}
			err := semAwait(t, res)
			if d.Alive() {
				t.Fatal("device still connected after Manage returned")
			}
			if tt.crash == 0 {
				if err != nil {
					t.Fatalf("Manage = %v, want nil", err)
				}
			} else {
				var c *Crash
				if !errors.As(err, &c) || c == nil || c.Kind != tt.crash {
					t.Fatalf("Manage = %v, want a %v crash", err, tt.crash)
				}
				if c.Fault != d.fault() {
					t.Fatal("the crash's fault is not the device's")
				}
				if tt.crash == CrashCascade && (c.Device != dep.ID() || c.Fault.Cause != dep.fault()) {
					t.Fatalf("cascade crash names %v / %v", c.Device, c.Fault.Cause)
				}
				if tt.crash == CrashError && !errors.Is(err, boom) {
					t.Fatal("errors.Is does not reach the task error through the crash")
				}
			}
			m := semRecv(t, w)
			switch {
			case tt.fault == 0 && m.Fault() != nil:
				t.Fatalf("watcher got %v, want a clean disconnect", m)
			case tt.fault != 0 && (m.Fault() == nil || m.Fault().Kind != tt.fault):
				t.Fatalf("watcher got %v, want a %v fault", m, tt.fault)
			}
		})
	}

	t.Run("clean disconnect of a dependency is ignored", func(t *testing.T) {
		d, dep := New(), New()
		d.Link(dep, Monitor)
		err := d.Manage(context.Background(), func(ctx context.Context) error {
			dep.Disconnect(nil)
			if ctx.Err() != nil {
				return errors.New("task cancelled by a clean disconnect")
			}
			if semMode(d, dep) != 0 {
				return errors.New("the edge to the clean dependency was kept")
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})

	t.Run("goexit still disconnects", func(t *testing.T) {
		// A task that ends its goroutine without returning (t.FailNow in a
		// test, for instance) must not leave its watchers waiting.
		d, w := New(), New()
		defer w.Drop()
		w.Link(d, Monitor)
		go d.Manage(context.Background(), func(context.Context) error {
			runtime.Goexit()
			return nil
		})
		m := semRecv(t, w)
		if f := m.Fault(); m.From() != d.ID() || f == nil || f.Kind != FaultPanic {
			t.Fatalf("watcher got %v, want a panic fault", m)
		}
	})

	t.Run("queued before start", func(t *testing.T) {
		queued := []struct {
			name  string
			queue func(d, dep *Device)
			crash CrashKind
		}{
			{"shutdown", func(d, _ *Device) { d.Line().Shutdown(DeviceID{}) }, CrashPowerOff},
			{"faulted dependency", func(_, dep *Device) { dep.Disconnect(boom) }, CrashCascade},
			{"clean dependency", func(_, dep *Device) { dep.Disconnect(nil) }, 0},
		}
		for _, q := range queued {
			d, dep := New(), New()
			d.Link(dep, Monitor)
			q.queue(d, dep)
			ran := false
			err := d.Manage(context.Background(), func(context.Context) error { ran = true; return nil })
			var c *Crash
			switch {
			case q.crash == 0 && (err != nil || !ran):
				t.Fatalf("%s: Manage = %v, task ran %v", q.name, err, ran)
			case q.crash != 0 && (!errors.As(err, &c) || c == nil || c.Kind != q.crash || ran):
				t.Fatalf("%s: Manage = %v, task ran %v; want a %v crash without running", q.name, err, ran, q.crash)
			}
			dep.Drop()
		}
	})
}

func TestRule17_WatchersToldWhileTaskBlocked(t *testing.T) {
	triggers := map[string]func(d, dep *Device){
		"shutdown": func(d, _ *Device) { d.Line().Shutdown(DeviceID{}) },
		"cascade":  func(_, dep *Device) { dep.Disconnect(errors.New("dependency failed")) },
		"kill":     func(d, _ *Device) { d.Line().Kill(DeviceID{}, nil) },
	}
	for name, trigger := range triggers {
		t.Run(name, func(t *testing.T) {
			d, dep, w := New(), New(), New()
			defer dep.Drop()
			defer w.Drop()
			d.Link(dep, Monitor)
			w.Link(d, Monitor)
			started := make(chan struct{})
			release := make(chan struct{})
			var returned atomic.Bool
			causes := make(chan error, 1)
			res := semManage(d, false, func(ctx context.Context) error {
				close(started)
				<-release // ignores ctx on purpose
				causes <- context.Cause(ctx)
				returned.Store(true)
				return nil
			})
			semAwait(t, started)
			trigger(d, dep)
			// The watcher is told now, while the task is still blocked.
			m := semRecv(t, w)
			if returned.Load() {
				t.Fatal("the task returned before the watcher was told")
			}
			if m.From() != d.ID() || d.Alive() {
				t.Fatalf("watcher got %v; device alive %v", m, d.Alive())
			}
			select {
			case err := <-res:
				t.Fatalf("Manage returned %v before its task", err)
			default:
			}
			close(release)
			err := semAwait(t, res)
			var c *Crash
			if !errors.As(err, &c) || c == nil {
				t.Fatalf("Manage = %v, want a crash", err)
			}
			if got := <-causes; got != error(c) {
				t.Fatalf("context.Cause = %v, want the crash %v", got, c)
			}
		})
	}
}

func TestRule18_PartManage(t *testing.T) {
	d, dep, w := New(), New(), New()
	defer w.Drop()
	d.Link(dep, Monitor)
	w.Link(d, Monitor)
	for i := range 3 {
		if err := d.PartManage(context.Background(), func(context.Context) error { return nil }); err != nil {
			t.Fatalf("PartManage %d: %v", i, err)
		}
		if !d.Alive() {
			t.Fatal("PartManage success disconnected the device")
		}
	}
	if semMode(d, dep) != Monitor || semMode(w, d) != Monitor {
		t.Fatal("PartManage success lost a link")
	}
	semWantPending(t, w, 0)
	// Links intact: a clean disconnect of dep is now a message, as for
	// any idle device.
	dep.Disconnect(nil)
	semWantDisc(t, semRecv(t, d), dep.ID(), nil)
	// And a failure disconnects as Manage would.
	boom := errors.New("boom")
	err := d.PartManage(context.Background(), func(context.Context) error { return boom })
	var c *Crash
	if !errors.As(err, &c) || c == nil || c.Kind != CrashError || d.Alive() {
		t.Fatalf("PartManage failure = %v (alive %v)", err, d.Alive())
	}
	m := semRecv(t, w)
	if m.Fault() == nil || !errors.Is(m.Fault(), boom) {
		t.Fatalf("watcher got %v", m)
	}
}

func TestRule19_Concurrency(t *testing.T) {
	t.Run("group wait waits", func(t *testing.T) {
		parent := New()
		defer parent.Drop()
		var g Group
		release := make(chan struct{})
		waited := make(chan struct{})
		var finished atomic.Int32
		const n = 20
		lines := make([]Line, n)
		for i := range lines {
			l, err := g.Spawn(context.Background(), parent, Monitor, func(context.Context) error {
				select {
				case <-release:
				case <-waited:
					return errors.New("Group.Wait returned while this task was running")
				}
				finished.Add(1)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			lines[i] = l
		}
		waiting := make(chan struct{})
		go func() { close(waiting); g.Wait(); close(waited) }()
		<-waiting
		// Let a Wait that does not wait return before the tasks are
		// released: they would see it (below) and fail the test.
		raceJitter(10)
		close(release)
		semAwait(t, waited)
		if got := finished.Load(); got != n {
			t.Fatalf("Wait returned with %d of %d tasks finished", got, n)
		}
		for _, l := range lines {
			if l.Alive() {
				t.Fatalf("Wait returned before %v's Manage ended", l)
			}
		}
		// One clean Disconnected per child: a task that saw Wait return
		// early faulted instead.
		for range n {
			if m := semRecv(t, parent); m.Fault() != nil {
				t.Fatalf("child %v: %v", m.From(), m.Fault())
			}
		}
	})

	t.Run("concurrent receivers all see the disconnect", func(t *testing.T) {
		// Every Receive blocked on an empty inbox returns when the device
		// disconnects, not just one of them.
		const receivers = 3
		d := New()
		res := make(chan error, receivers)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		for range receivers {
			go func() {
				_, err := d.Receive(ctx)
				res <- err
			}()
		}
		semBlockedIn(t, "(*Device).Receive", receivers)
		d.Disconnect(nil)
		for range receivers {
			if err := <-res; !errors.Is(err, ErrDeviceDown) {
				t.Errorf("a Receive blocked at the disconnect returned %v, want ErrDeviceDown", err)
			}
		}
	})

	t.Run("every method at once", func(t *testing.T) {
		devs := make([]*Device, 6)
		for i := range devs {
			devs[i] = New(WithName("d" + strconv.Itoa(i)))
		}
		start := make(chan struct{})
		var wg sync.WaitGroup
		for g := range len(devs) {
			wg.Go(func() {
				<-start
				me := devs[g]
				for i := range 200 {
					o := devs[(g+1+i)%len(devs)]
					mode := LinkMode(1 + i%3)
					me.Link(o, mode)
					o.Line().Link(me, mode)
					me.Unlink(o, LinkMode(1+(i+1)%3))
					me.UnlinkFlush(o.Line(), Monitor)
					me.Pending()
					me.TryReceive()
					me.Alive()
					o.fault()
					o.ID()
					o.Name()
					_ = o.Line().String()
					Watch(context.Background(), me, func(context.Context) (int, error) { return i, nil })
					if i == 150+g {
						me.Disconnect(nil)
					}
				}
			})
		}
		close(start)
		wg.Wait()
		for _, d := range devs {
			if d.Alive() || semLinks(d) != 0 {
				t.Fatalf("%v: alive %v, %d links left", d.ID(), d.Alive(), semLinks(d))
			}
		}
	})
}
