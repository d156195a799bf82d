package backplane_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/backplane-go/backplane"
)

// This file ports the seed crate's tests/watch.rs, tests/manage.rs and
// tests/part_manage.rs in spirit: one matrix of how a device runs (Watch,
// Manage, PartManage), how it is linked to the device it depends on
// (Monitor or Peer, directly or through Lines), how that device ends (clean,
// error, drop) and who else is involved (nobody, a device monitoring the
// managed one, or a managed middle device between the two). Where the seed
// checked one interleaving, each case here runs twice: with the dependency
// gone before the device starts (the message is queued) and with the
// dependency ending while the device's task runs.

// errSeedBoom is the error the failing device of the matrix disconnects with.
var errSeedBoom = errors.New("boom")

// errSeedIgnored is returned by a task that was stopped by the backplane:
// the caller must see the reason it was stopped, never this.
var errSeedIgnored = errors.New("task result that must be ignored")

// seedWatchdog returns a context that bounds every wait of a test, so that a
// broken expectation fails the test instead of hanging it. It is never used
// to order events.
func seedWatchdog(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// seedNew makes a device that is dropped when the test ends.
func seedNew(t *testing.T, opts ...backplane.Option) *backplane.Device {
	t.Helper()
	d := backplane.New(opts...)
	t.Cleanup(d.Drop)
	return d
}

// seedCrash returns err as a *Crash, failing the test if it is not one.
func seedCrash(t *testing.T, err error) *backplane.Crash {
	t.Helper()
	var c *backplane.Crash
	if !errors.As(err, &c) {
		t.Fatalf("got %v (%T), want a *backplane.Crash", err, err)
	}
	return c
}

// seedOne receives the one message d should hold, failing the test if the
// inbox is empty or holds more.
func seedOne(t *testing.T, d *backplane.Device) backplane.Message {
	t.Helper()
	m, ok := d.TryReceive()
	if !ok {
		t.Fatalf("device %v: inbox is empty, want one message", d.ID())
	}
	if n := d.Pending(); n != 0 {
		t.Fatalf("device %v: %d more messages after %v, want none", d.ID(), n, m)
	}
	return m
}

type seedRunner uint8

const (
	seedWatch seedRunner = iota
	seedManage
	seedPartManage
)

func (r seedRunner) String() string {
	return [...]string{"Watch", "Manage", "PartManage"}[r]
}

type seedEnd uint8

const (
	seedClean seedEnd = iota
	seedError
	seedDrop
)

func (e seedEnd) String() string { return [...]string{"clean", "error", "drop"}[e] }

// end ends d the way e says.
func (e seedEnd) end(t *testing.T, d *backplane.Device) {
	t.Helper()
	switch e {
	case seedClean:
		if err := d.Disconnect(nil); err != nil {
			t.Errorf("Disconnect(nil): %v", err)
		}
	case seedError:
		if err := d.Disconnect(errSeedBoom); err != nil {
			t.Errorf("Disconnect(boom): %v", err)
		}
	case seedDrop:
		d.Drop()
	}
}

type seedTopo uint8

const (
	seedSolo      seedTopo = iota // M watches F
	seedMonitored                 // M watches F, O monitors M
	seedChained                   // M watches Mid (managed), Mid watches F
)

func (p seedTopo) String() string { return [...]string{"solo", "monitored", "chained"}[p] }

type seedVia uint8

const (
	seedViaDevice seedVia = iota // a.Link(b, mode)
	seedViaLine                  // a.Line().Link(b.Line(), mode)
)

func (v seedVia) String() string { return [...]string{"device", "line"}[v] }

func (v seedVia) link(t *testing.T, a, b *backplane.Device, mode backplane.LinkMode) {
	t.Helper()
	var err error
	if v == seedViaDevice {
		err = a.Link(b, mode)
	} else {
		err = a.Line().Link(b.Line(), mode)
	}
	if err != nil {
		t.Fatalf("link %v -> %v (%v, %v): %v", a.ID(), b.ID(), mode, v, err)
	}
}

type seedOrder uint8

const (
	seedBefore seedOrder = iota // F ends before M starts: the news is queued
	seedDuring                  // F ends from inside M's task
)

func (o seedOrder) String() string { return [...]string{"before", "during"}[o] }

// seedScene is one run of the matrix: F fails, M runs, O watches M, Mid sits
// between M and F. Messages, faults and crashes are rendered with these role
// names so that the expectations read as the seed's assertions do.
type seedScene struct {
	t     *testing.T
	f, m  *backplane.Device
	o     *backplane.Device // seedMonitored only
	mid   *backplane.Device // seedChained only
	devs  map[backplane.DeviceID]*backplane.Device
	names map[backplane.DeviceID]string
}

func (s *seedScene) add(name string, d *backplane.Device) {
	s.devs[d.ID()] = d
	s.names[d.ID()] = name
}

func (s *seedScene) name(id backplane.DeviceID) string {
	if n, ok := s.names[id]; ok {
		return n
	}
	if id.IsZero() {
		return "outside"
	}
	return id.String()
}

func (s *seedScene) fault(f *backplane.Fault) string {
	if f == nil {
		return "clean"
	}
	switch f.Kind {
	case backplane.FaultError:
		return "error(" + f.Err.Error() + ")"
	case backplane.FaultCascade:
		return "cascade(" + s.name(f.Device) + "," + s.fault(f.Cause) + ")"
	}
	return f.Kind.String()
}

func (s *seedScene) message(m backplane.Message) string {
	return fmt.Sprintf("%v %s %s", m.Kind(), s.name(m.From()), s.fault(m.Fault()))
}

func (s *seedScene) result(err error) string {
	if err == nil {
		return "nil"
	}
	var c *backplane.Crash
	if !errors.As(err, &c) {
		return "error " + err.Error()
	}
	return fmt.Sprintf("crash %v %s %s", c.Kind, s.name(c.Device), s.fault(c.Fault))
}

// inbox drains d's inbox.
func (s *seedScene) inbox(d *backplane.Device) []string {
	var got []string
	for {
		m, ok := d.TryReceive()
		if !ok {
			return got
		}
		got = append(got, s.message(m))
		// Rule 14: every watcher gets the very Fault the sender went down with.
		if from := s.devs[m.From()]; from != nil && m.Kind() == backplane.Disconnected && m.Fault() != faultOf(from) {
			s.t.Errorf("message %v: fault %p is not %s's own fault %p", m, m.Fault(), s.name(m.From()), faultOf(from))
		}
	}
}

// seedCase is one row of the matrix. The link mode, the way of linking and
// the order of events do not change the expectations: each row runs under
// all eight combinations.
type seedCase struct {
	runner seedRunner
	end    seedEnd
	topo   seedTopo
	// want is what the runner returns: "value 42" or "message <message>"
	// for Watch, "nil" or "crash <kind> <device> <fault>" for the others.
	want string
	// observer is what O (seedMonitored) finds in its inbox right after.
	observer []string
}

// stops reports whether the dependency's end stops the runner's task (it
// returns a message or a crash rather than the task's own result).
func (c seedCase) stops() bool { return c.want != "nil" && c.want != "value 42" }

// alive reports whether M is still connected after the runner returns.
func (c seedCase) alive() bool {
	return c.runner == seedWatch || c.runner == seedPartManage && c.want == "nil"
}

var seedCases = []seedCase{
	// Watch never disconnects the device and never cascades: it returns the
	// next message, the clean one too.
	{runner: seedWatch, end: seedClean, topo: seedSolo, want: "message disconnected F clean"},
	{runner: seedWatch, end: seedClean, topo: seedMonitored, want: "message disconnected F clean"},
	{runner: seedWatch, end: seedClean, topo: seedChained, want: "value 42"},
	{runner: seedWatch, end: seedError, topo: seedSolo, want: "message disconnected F error(boom)"},
	{runner: seedWatch, end: seedError, topo: seedMonitored, want: "message disconnected F error(boom)"},
	{runner: seedWatch, end: seedError, topo: seedChained, want: "message disconnected Mid cascade(F,error(boom))"},
	{runner: seedWatch, end: seedDrop, topo: seedSolo, want: "message disconnected F drop"},
	{runner: seedWatch, end: seedDrop, topo: seedMonitored, want: "message disconnected F drop"},
	{runner: seedWatch, end: seedDrop, topo: seedChained, want: "message disconnected Mid cascade(F,drop)"},

	// Manage ignores a clean end and cascades a faulted one.
	{runner: seedManage, end: seedClean, topo: seedSolo, want: "nil"},
	{runner: seedManage, end: seedClean, topo: seedMonitored, want: "nil",
		observer: []string{"disconnected M clean"}},
	{runner: seedManage, end: seedClean, topo: seedChained, want: "nil"},
	{runner: seedManage, end: seedError, topo: seedSolo, want: "crash cascade F cascade(F,error(boom))"},
	{runner: seedManage, end: seedError, topo: seedMonitored, want: "crash cascade F cascade(F,error(boom))",
		observer: []string{"disconnected M cascade(F,error(boom))"}},
	{runner: seedManage, end: seedError, topo: seedChained, want: "crash cascade Mid cascade(Mid,cascade(F,error(boom)))"},
	{runner: seedManage, end: seedDrop, topo: seedSolo, want: "crash cascade F cascade(F,drop)"},
	{runner: seedManage, end: seedDrop, topo: seedMonitored, want: "crash cascade F cascade(F,drop)",
		observer: []string{"disconnected M cascade(F,drop)"}},
	{runner: seedManage, end: seedDrop, topo: seedChained, want: "crash cascade Mid cascade(Mid,cascade(F,drop))"},

	// PartManage is Manage, except that success leaves M connected: O hears
	// nothing.
	{runner: seedPartManage, end: seedClean, topo: seedSolo, want: "nil"},
	{runner: seedPartManage, end: seedClean, topo: seedMonitored, want: "nil"},
	{runner: seedPartManage, end: seedClean, topo: seedChained, want: "nil"},
	{runner: seedPartManage, end: seedError, topo: seedSolo, want: "crash cascade F cascade(F,error(boom))"},
	{runner: seedPartManage, end: seedError, topo: seedMonitored, want: "crash cascade F cascade(F,error(boom))",
		observer: []string{"disconnected M cascade(F,error(boom))"}},
	{runner: seedPartManage, end: seedError, topo: seedChained, want: "crash cascade Mid cascade(Mid,cascade(F,error(boom)))"},
	{runner: seedPartManage, end: seedDrop, topo: seedSolo, want: "crash cascade F cascade(F,drop)"},
	{runner: seedPartManage, end: seedDrop, topo: seedMonitored, want: "crash cascade F cascade(F,drop)",
		observer: []string{"disconnected M cascade(F,drop)"}},
	{runner: seedPartManage, end: seedDrop, topo: seedChained, want: "crash cascade Mid cascade(Mid,cascade(F,drop))"},
}

func TestSeedMatrix(t *testing.T) {
	for _, tc := range seedCases {
		t.Run(fmt.Sprintf("%v_%v_%v", tc.runner, tc.topo, tc.end), func(t *testing.T) {
			for _, mode := range []backplane.LinkMode{backplane.Monitor, backplane.Peer} {
				for _, via := range []seedVia{seedViaDevice, seedViaLine} {
					for _, order := range []seedOrder{seedBefore, seedDuring} {
						t.Run(fmt.Sprintf("%v_%v_%v", mode, via, order), func(t *testing.T) {
							seedRun(t, tc, mode, via, order)
						})
					}
				}
			}
		})
	}
}

func seedRun(t *testing.T, tc seedCase, mode backplane.LinkMode, via seedVia, order seedOrder) {
	ctx := seedWatchdog(t)
	s := &seedScene{
		t:     t,
		devs:  map[backplane.DeviceID]*backplane.Device{},
		names: map[backplane.DeviceID]string{},
	}
	s.f, s.m = seedNew(t), seedNew(t)
	s.add("F", s.f)
	s.add("M", s.m)

	// Build the topology. In a chain, Mid runs under Manage in a goroutine
	// of its own and must be managed before F ends, or it would merely queue
	// the news.
	var midResult chan error
	switch tc.topo {
	case seedSolo:
		via.link(t, s.m, s.f, mode)
	case seedMonitored:
		via.link(t, s.m, s.f, mode)
		s.o = seedNew(t)
		s.add("O", s.o)
		via.link(t, s.o, s.m, mode)
	case seedChained:
		s.mid = seedNew(t)
		s.add("Mid", s.mid)
		via.link(t, s.mid, s.f, mode)
		via.link(t, s.m, s.mid, mode)
		midResult = make(chan error, 1)
		started, exited := make(chan struct{}), make(chan struct{})
		mid := s.mid
		go func() {
			defer close(exited)
			midResult <- mid.Manage(ctx, func(ctx context.Context) error {
				close(started)
				<-ctx.Done()
				return errSeedIgnored
			})
		}()
		t.Cleanup(func() {
			_ = mid.Line().Shutdown(backplane.DeviceID{})
			<-exited
		})
		select {
		case <-started:
		case <-ctx.Done():
			t.Fatal("Mid's task did not start")
		}
	}

	// What M is told about directly: F, or Mid when F's news came through it.
	wantQueued := 1
	if tc.topo == seedChained && tc.end == seedClean {
		wantQueued = 0 // Mid, managed, ignored F's clean end and said nothing
	}
	if order == seedBefore {
		tc.end.end(t, s.f)
		if n := s.m.Pending(); n != wantQueued {
			t.Fatalf("after F ended: M holds %d messages, want %d", n, wantQueued)
		}
	}

	// Run M. In the "during" order, the task ends F itself and then waits
	// to be stopped if the row says it will be; otherwise it returns at once.
	var (
		ran       bool
		taskCause error // context.Cause of the task's context when it returned
	)
	task := func(ctx context.Context) (int, error) {
		ran = true
		if order == seedDuring {
			tc.end.end(t, s.f)
			if tc.stops() {
				<-ctx.Done()
				taskCause = context.Cause(ctx)
				return -1, errSeedIgnored
			}
		}
		taskCause = context.Cause(ctx)
		return 42, nil
	}
	var got string
	var runErr error
	switch tc.runner {
	case seedWatch:
		w, err := backplane.Watch(ctx, s.m, task)
		runErr = err
		switch {
		case err != nil:
			got = "error " + err.Error()
		case w.Messaged:
			got = "message " + s.message(w.Message)
			if w.Value != 0 {
				t.Errorf("Watched.Value = %d with a message, want 0", w.Value)
			}
			if m := w.Message; m.Fault() != faultOf(s.devs[m.From()]) {
				t.Errorf("message fault %p is not the sender's own fault %p", m.Fault(), faultOf(s.devs[m.From()]))
			} else if f := m.Fault(); f != nil {
				s.checkFault(tc, f, f)
			}
		default:
			got = fmt.Sprintf("value %d", w.Value)
		}
	case seedManage, seedPartManage:
		manage := s.m.Manage
		if tc.runner == seedPartManage {
			manage = s.m.PartManage
		}
		runErr = manage(ctx, func(ctx context.Context) error {
			_, err := task(ctx)
			return err
		})
		got = s.result(runErr)
	}
	if got != tc.want {
		t.Fatalf("%v returned %q, want %q", tc.runner, got, tc.want)
	}

	// Whether the task ran, and what its context said.
	wantRan := order == seedDuring || !tc.stops()
	if ran != wantRan {
		t.Errorf("task ran = %v, want %v", ran, wantRan)
	}
	switch {
	case !ran:
	case tc.stops() && taskCause == nil:
		t.Errorf("task was stopped but context.Cause(ctx) is nil")
	case !tc.stops() && taskCause != nil:
		t.Errorf("task was not stopped but its context was cancelled: %v", taskCause)
	case tc.stops() && tc.runner != seedWatch:
		// The task's context is cancelled with the very Crash that Manage
		// returns.
		if c := seedCrash(t, taskCause); c != seedCrash(t, runErr) {
			t.Errorf("context.Cause(ctx) = %v, want the returned crash %v", c, runErr)
		}
	}

	// The crash, checked beyond its rendering: identities, root, errors.Is.
	if c := (*backplane.Crash)(nil); errors.As(runErr, &c) {
		s.checkCrash(tc, c, runErr)
	}

	// M's state afterwards.
	if alive := s.m.Alive(); alive != tc.alive() {
		t.Errorf("M.Alive() = %v, want %v", alive, tc.alive())
	}
	if n := s.m.Pending(); n != 0 {
		t.Errorf("M holds %d messages afterwards, want 0", n)
	}
	if tc.runner == seedManage && tc.want == "nil" && faultOf(s.m) != nil {
		t.Errorf("M.Fault() = %v after success, want nil", faultOf(s.m))
	}

	// What O heard, right away.
	if s.o != nil {
		if got := s.inbox(s.o); !slices.Equal(got, tc.observer) {
			t.Errorf("O received %q, want %q", got, tc.observer)
		}
	}

	// Mid's own outcome, and the links that must still be in place: a live
	// M still watches Mid, and O still watches a live M.
	if s.mid != nil {
		midWasAlive := s.mid.Alive()
		if midWasAlive {
			if err := s.mid.Line().Shutdown(backplane.DeviceID{}); err != nil {
				t.Errorf("Mid.Shutdown: %v", err)
			}
		}
		wantMid := "crash power off outside clean"
		if tc.end != seedClean {
			wantMid = fmt.Sprintf("crash cascade F cascade(F,%s)", s.fault(faultOf(s.f)))
		}
		var err error
		select {
		case err = <-midResult:
		case <-ctx.Done():
			t.Fatal("Mid's Manage did not return")
		}
		if got := s.result(err); got != wantMid {
			t.Errorf("Mid's Manage returned %q, want %q", got, wantMid)
		}
		var wantM []string
		if midWasAlive && tc.alive() {
			wantM = []string{"disconnected Mid clean"}
		}
		if got := s.inbox(s.m); !slices.Equal(got, wantM) {
			t.Errorf("after Mid's shutdown, M received %q, want %q", got, wantM)
		}
	}
	if s.o != nil && tc.alive() {
		s.m.Drop()
		want := []string{"disconnected M drop"}
		if got := s.inbox(s.o); !slices.Equal(got, want) {
			t.Errorf("after M dropped, O received %q, want %q", got, want)
		}
	}
}

// checkCrash checks what the rendering of a crash does not show: that its
// fault is the one M went down with, that the cascade's cause is the very
// fault of the device named (rule 14), and what checkFault checks.
func (s *seedScene) checkCrash(tc seedCase, c *backplane.Crash, err error) {
	t := s.t
	t.Helper()
	if c.Fault != faultOf(s.m) {
		t.Errorf("Crash.Fault %p is not M's own fault %p", c.Fault, faultOf(s.m))
	}
	if c.Kind != backplane.CrashCascade {
		return
	}
	if from := s.devs[c.Device]; from == nil || c.Fault.Cause != faultOf(from) {
		t.Errorf("Crash.Fault.Cause %p is not %s's own fault", c.Fault.Cause, s.name(c.Device))
	}
	if !strings.Contains(c.Error(), s.f.ID().String()+":") {
		t.Errorf("Crash.Error() = %q does not name the root F (%v)", c.Error(), s.f.ID())
	}
	s.checkFault(tc, c.Fault, err)
}

// checkFault checks a fault that F's end caused (err is f, or a Crash
// wrapping it): a cascade's root is F and F's own fault, and errors.Is
// reaches F's error, or its drop, through the whole chain and nothing else.
func (s *seedScene) checkFault(tc seedCase, f *backplane.Fault, err error) {
	t := s.t
	t.Helper()
	if f.Kind == backplane.FaultCascade {
		if root, rf := f.Root(); root != s.f.ID() || rf != faultOf(s.f) {
			t.Errorf("Fault.Root() = %s %s, want F %s", s.name(root), s.fault(rf), s.fault(faultOf(s.f)))
		}
		if !errors.Is(err, &backplane.Fault{Kind: backplane.FaultCascade}) {
			t.Errorf("errors.Is(%v, cascade fault) = false", err)
		}
	} else if root, rf := f.Root(); !root.IsZero() || rf != f {
		t.Errorf("Root() of a %v fault = %v %p, want #0 and the fault itself", f.Kind, root, rf)
	}
	isBoom := errors.Is(err, errSeedBoom)
	isDrop := errors.Is(err, &backplane.Fault{Kind: backplane.FaultDrop})
	if isBoom != (tc.end == seedError) || isDrop != (tc.end == seedDrop) {
		t.Errorf("errors.Is(%v, boom) = %v, errors.Is(%v, drop) = %v, for an F that ended with %v", err, isBoom, err, isDrop, tc.end)
	}
}
