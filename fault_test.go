package backplane_test

// String and Error formats of the value types, Unwrap chains, the root of
// long cascades, Fault.Is kind matching and CascadeFault.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/backplane-go/backplane"
)

// faultsID returns the ID of a fresh device, dropped at once: IDs are only
// made by New.
func faultsID() backplane.DeviceID {
	d := backplane.New()
	d.Drop()
	return d.ID()
}

func TestFault_KindStrings(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{backplane.FaultDrop.String(), "drop"},
		{backplane.FaultError.String(), "error"},
		{backplane.FaultPanic.String(), "panic"},
		{backplane.FaultCascade.String(), "cascade"},
		{backplane.FaultKilled.String(), "killed"},
		{backplane.FaultUnreachable.String(), "unreachable"},
		{backplane.FaultKind(0).String(), "FaultKind(0)"},
		{backplane.FaultKind(200).String(), "FaultKind(200)"},

		{backplane.CrashPowerOff.String(), "power off"},
		{backplane.CrashError.String(), "error"},
		{backplane.CrashPanic.String(), "panic"},
		{backplane.CrashCascade.String(), "cascade"},
		{backplane.CrashKilled.String(), "killed"},
		{backplane.CrashDisconnected.String(), "disconnected"},
		{backplane.CrashKind(0).String(), "CrashKind(0)"},
		{backplane.CrashKind(99).String(), "CrashKind(99)"},

		{backplane.Disconnected.String(), "disconnected"},
		{backplane.Shutdown.String(), "shutdown"},
		{backplane.MessageKind(0).String(), "MessageKind(0)"},
		{backplane.MessageKind(7).String(), "MessageKind(7)"},

		{backplane.Monitor.String(), "monitor"},
		{backplane.Notify.String(), "notify"},
		{backplane.Peer.String(), "peer"},
		{backplane.LinkMode(0).String(), "LinkMode(0)"},
		{backplane.LinkMode(4).String(), "LinkMode(4)"},

		{backplane.EventCreated.String(), "created"},
		{backplane.EventLinked.String(), "linked"},
		{backplane.EventUnlinked.String(), "unlinked"},
		{backplane.EventDisconnected.String(), "disconnected"},
		{backplane.EventShutdownRequested.String(), "shutdown requested"},
		{backplane.EventKind(0).String(), "EventKind(0)"},
		{backplane.EventKind(42).String(), "EventKind(42)"},

		{backplane.DeviceID{}.String(), "#0"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
	id := faultsID()
	if got, want := id.String(), fmt.Sprintf("#%d", id.Seq()); got != want {
		t.Errorf("DeviceID prints as %q, want %q", got, want)
	}
	if got := fmt.Sprint(id); got != id.String() {
		t.Errorf("fmt prints a DeviceID as %q", got)
	}
}

func TestFault_ErrorFormats(t *testing.T) {
	boom := errors.New("boom")
	a, b, c := faultsID(), faultsID(), faultsID()
	root := backplane.ErrorFault(boom)
	hop1 := backplane.CascadeFault(a, root)
	hop2 := backplane.CascadeFault(b, hop1)
	hop3 := backplane.CascadeFault(c, hop2)
	tests := []struct {
		name string
		f    *backplane.Fault
		want string
	}{
		{"error", root, "backplane: task error: boom"},
		{"panic", &backplane.Fault{Kind: backplane.FaultPanic, Value: "oops"}, "backplane: task panicked: oops"},
		{"panic error", &backplane.Fault{Kind: backplane.FaultPanic, Value: boom}, "backplane: task panicked: boom"},
		{"drop", &backplane.Fault{Kind: backplane.FaultDrop}, "backplane: device dropped"},
		{"killed", &backplane.Fault{Kind: backplane.FaultKilled}, "backplane: device killed"},
		{"killed reason", &backplane.Fault{Kind: backplane.FaultKilled, Err: boom}, "backplane: device killed: boom"},
		{"unreachable", &backplane.Fault{Kind: backplane.FaultUnreachable}, "backplane: device unreachable"},
		{"unreachable reason", &backplane.Fault{Kind: backplane.FaultUnreachable, Err: boom}, "backplane: device unreachable: boom"},
		{"cascade", hop1, fmt.Sprintf("backplane: cascade from %v: task error: boom", a)},
		{"cascade two hops", hop2, fmt.Sprintf("backplane: cascade from %v (root %v: task error: boom)", b, a)},
		{"cascade three hops", hop3, fmt.Sprintf("backplane: cascade from %v (root %v: task error: boom)", c, a)},
		{"unknown kind", &backplane.Fault{}, "backplane: FaultKind(0)"},
		{"nil", nil, "backplane: <nil fault>"},
	}
	for _, tt := range tests {
		if got := tt.f.Error(); got != tt.want {
			t.Errorf("%s: Error() = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestFault_CrashFormats(t *testing.T) {
	boom := errors.New("boom")
	id := faultsID()
	tests := []struct {
		name string
		c    *backplane.Crash
		want string
	}{
		{"power off", &backplane.Crash{Kind: backplane.CrashPowerOff, Device: id}, fmt.Sprintf("backplane: crash: shutdown requested by %v", id)},
		{"power off from outside", &backplane.Crash{Kind: backplane.CrashPowerOff}, "backplane: crash: shutdown requested"},
		{"killed", &backplane.Crash{Kind: backplane.CrashKilled, Device: id}, fmt.Sprintf("backplane: crash: killed by %v", id)},
		{"error", &backplane.Crash{Kind: backplane.CrashError, Fault: backplane.ErrorFault(boom)}, "backplane: crash: task error: boom"},
		{"panic", &backplane.Crash{Kind: backplane.CrashPanic, Fault: &backplane.Fault{Kind: backplane.FaultPanic, Value: 3}}, "backplane: crash: task panicked: 3"},
		{"cascade", &backplane.Crash{Kind: backplane.CrashCascade, Device: id, Fault: backplane.CascadeFault(id, backplane.ErrorFault(boom))},
			fmt.Sprintf("backplane: crash: cascade from %v: task error: boom", id)},
		{"no fault", &backplane.Crash{Kind: backplane.CrashError}, "backplane: crash: error"},
		{"disconnected", &backplane.Crash{Kind: backplane.CrashDisconnected}, "backplane: crash: device disconnected while the task ran"},
		{"disconnected with a fault", &backplane.Crash{Kind: backplane.CrashDisconnected, Fault: backplane.ErrorFault(boom)},
			"backplane: crash: device disconnected while the task ran: task error: boom"},
		{"nil", nil, "backplane: <nil crash>"},
	}
	for _, tt := range tests {
		if got := tt.c.Error(); got != tt.want {
			t.Errorf("%s: Error() = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestFault_MessageAndEventFormats(t *testing.T) {
	w, x, y := backplane.New(), backplane.New(), backplane.New()
	defer w.Drop()
	w.Link(x, backplane.Monitor)
	w.Link(y, backplane.Monitor)
	w.Line().Shutdown(x.ID())
	w.Line().Shutdown(backplane.DeviceID{})
	x.Disconnect(nil)
	y.Disconnect(errors.New("boom"))
	want := []string{
		fmt.Sprintf("shutdown requested by %v", x.ID()),
		"shutdown requested",
		fmt.Sprintf("disconnected %v (clean)", x.ID()),
		fmt.Sprintf("disconnected %v (task error: boom)", y.ID()),
	}
	for i, s := range want {
		m, ok := w.TryReceive()
		if !ok || m.String() != s {
			t.Errorf("message %d = %q (%v), want %q", i, m.String(), ok, s)
		}
	}
	if got := (backplane.Message{}).String(); got != "<no message>" {
		t.Errorf("zero Message = %q", got)
	}

	id, peer := x.ID(), y.ID()
	events := []struct {
		e    backplane.Event
		want string
	}{
		{backplane.Event{Kind: backplane.EventCreated, Device: id}, fmt.Sprintf("%v created", id)},
		{backplane.Event{Kind: backplane.EventCreated, Device: id, Name: "db"}, fmt.Sprintf("%v created (db)", id)},
		{backplane.Event{Kind: backplane.EventLinked, Device: id, Peer: peer, Mode: backplane.Peer}, fmt.Sprintf("%v linked %v (peer)", id, peer)},
		{backplane.Event{Kind: backplane.EventUnlinked, Device: id, Peer: peer, Mode: backplane.Monitor}, fmt.Sprintf("%v unlinked %v (monitor)", id, peer)},
		{backplane.Event{Kind: backplane.EventDisconnected, Device: id}, fmt.Sprintf("%v disconnected cleanly", id)},
		{backplane.Event{Kind: backplane.EventDisconnected, Device: id, Fault: backplane.ErrorFault(errors.New("boom"))}, fmt.Sprintf("%v disconnected: task error: boom", id)},
		{backplane.Event{Kind: backplane.EventShutdownRequested, Device: id, Peer: peer}, fmt.Sprintf("%v shutdown requested by %v", id, peer)},
		{backplane.Event{}, "EventKind(0)"},
	}
	for _, tt := range events {
		if got := tt.e.String(); got != tt.want {
			t.Errorf("Event.String() = %q, want %q", got, tt.want)
		}
	}
}

type faultsTypedErr struct{ msg string }

func (e *faultsTypedErr) Error() string { return e.msg }

func TestFault_UnwrapChains(t *testing.T) {
	boom := errors.New("boom")
	typed := &faultsTypedErr{"typed"}
	id := faultsID()
	tests := []struct {
		name string
		f    *backplane.Fault
		want error // what Unwrap returns
	}{
		{"error", backplane.ErrorFault(boom), boom},
		{"panic with an error", &backplane.Fault{Kind: backplane.FaultPanic, Value: typed}, typed},
		{"panic with a string", &backplane.Fault{Kind: backplane.FaultPanic, Value: "boom"}, nil},
		{"drop", &backplane.Fault{Kind: backplane.FaultDrop}, nil},
		{"killed", &backplane.Fault{Kind: backplane.FaultKilled, Err: boom}, boom},
		{"unreachable", &backplane.Fault{Kind: backplane.FaultUnreachable, Err: boom}, boom},
		{"nil", nil, nil},
	}
	for _, tt := range tests {
		if got := tt.f.Unwrap(); got != tt.want {
			t.Errorf("%s: Unwrap() = %v, want %v", tt.name, got, tt.want)
		}
	}
	cause := backplane.ErrorFault(fmt.Errorf("context: %w", typed))
	c := backplane.CascadeFault(id, cause)
	if c.Unwrap() != cause {
		t.Error("a cascade does not unwrap to its cause")
	}
	crash := &backplane.Crash{Kind: backplane.CrashCascade, Device: id, Fault: c}
	if crash.Unwrap() != c {
		t.Error("a crash does not unwrap to its fault")
	}
	if (&backplane.Crash{Kind: backplane.CrashPowerOff}).Unwrap() != nil || (*backplane.Crash)(nil).Unwrap() != nil {
		t.Error("a power off unwraps to something")
	}
	var te *faultsTypedErr
	if !errors.As(crash, &te) || te != typed || !errors.Is(crash, typed) {
		t.Error("errors.As/Is do not reach the task's error through crash, cascade and fault")
	}
	var f *backplane.Fault
	if !errors.As(crash, &f) || f != c {
		t.Error("errors.As does not find the crash's fault first")
	}
	// Through a real managed task too.
	d := backplane.New()
	err := d.Manage(context.Background(), func(context.Context) error { panic(typed) })
	te = nil
	if !errors.As(err, &te) || te != typed {
		t.Errorf("errors.As does not reach a panicked error through %v", err)
	}
}

func TestFault_RootOfLongCascade(t *testing.T) {
	boom := errors.New("boom")
	first := faultsID()
	root := backplane.ErrorFault(boom)
	f := backplane.CascadeFault(first, root)
	const hops = 10000
	ids := []backplane.DeviceID{first}
	for i := range hops {
		id := first
		if i%100 == 0 {
			id = faultsID()
		}
		ids = append(ids, id)
		f = backplane.CascadeFault(id, f)
	}
	rd, rf := f.Root()
	if rd != first || rf != root {
		t.Fatalf("Root() = %v, %v; want %v, %v", rd, rf, first, root)
	}
	if f.Device != ids[len(ids)-1] || f.Cause.Device != ids[len(ids)-2] {
		t.Fatal("a cascade does not name the device it depended on")
	}
	if s := f.Error(); len(s) > 200 || !strings.Contains(s, "boom") || !strings.Contains(s, first.String()) {
		t.Fatalf("Error() of a %d-hop cascade is %d bytes: %.200q", hops, len(s), s)
	}
	if !errors.Is(f, boom) {
		t.Fatal("errors.Is does not reach the root error")
	}
	// Non-cascades are their own root.
	for _, g := range []*backplane.Fault{root, {Kind: backplane.FaultDrop}, {Kind: backplane.FaultPanic, Value: 1}} {
		if rd, rf := g.Root(); !rd.IsZero() || rf != g {
			t.Errorf("Root() of %v = %v, %v", g, rd, rf)
		}
	}
	if rd, rf := (*backplane.Fault)(nil).Root(); !rd.IsZero() || rf != nil {
		t.Error("Root() of a nil fault")
	}
}

func TestFault_IsMatchesKind(t *testing.T) {
	boom := errors.New("boom")
	id := faultsID()
	panicF := &backplane.Fault{Kind: backplane.FaultPanic, Value: "x"}
	errF := backplane.ErrorFault(boom)
	chain := backplane.CascadeFault(id, backplane.CascadeFault(id, panicF))
	crash := &backplane.Crash{Kind: backplane.CrashCascade, Device: id, Fault: chain}
	kind := func(k backplane.FaultKind) *backplane.Fault { return &backplane.Fault{Kind: k} }
	tests := []struct {
		name   string
		err    error
		target error
		want   bool
	}{
		{"panic is panic", panicF, kind(backplane.FaultPanic), true},
		{"error is error", errF, kind(backplane.FaultError), true},
		{"error is not panic", errF, kind(backplane.FaultPanic), false},
		{"cascade is cascade", chain, kind(backplane.FaultCascade), true},
		{"cascade reaches its panic root", chain, kind(backplane.FaultPanic), true},
		{"cascade has no error", chain, kind(backplane.FaultError), false},
		{"through a crash", crash, kind(backplane.FaultPanic), true},
		{"error reaches its error", errF, boom, true},
		{"a detailed target matches only itself", errF, backplane.ErrorFault(boom), false},
		{"a target with a device", chain, &backplane.Fault{Kind: backplane.FaultCascade, Device: id}, false},
		{"itself", errF, errF, true},
		{"nil target", errF, (*backplane.Fault)(nil), false},
		{"not a fault", errF, errors.New("boom"), false},
	}
	for _, tt := range tests {
		if got := errors.Is(tt.err, tt.target); got != tt.want {
			t.Errorf("%s: errors.Is = %v, want %v", tt.name, got, tt.want)
		}
	}
	if (*backplane.Fault)(nil).Is(kind(backplane.FaultDrop)) {
		t.Error("a nil fault matched")
	}
}

func TestFault_CascadeFault(t *testing.T) {
	from, further := faultsID(), faultsID()
	if backplane.CascadeFault(from, nil) != nil {
		t.Fatal("CascadeFault of nil is not nil")
	}
	cause := &backplane.Fault{Kind: backplane.FaultKilled}
	c := backplane.CascadeFault(from, cause)
	if c.Kind != backplane.FaultCascade || c.Device != from || c.Cause != cause {
		t.Fatalf("CascadeFault = %+v", c)
	}
	if rd, rf := c.Root(); rd != from || rf != cause {
		t.Fatalf("Root() = %v, %v", rd, rf)
	}
	c2 := backplane.CascadeFault(further, c)
	if c2.Device != further || c2.Cause != c {
		t.Fatalf("second hop = %+v", c2)
	}
	if rd, rf := c2.Root(); rd != from || rf != cause {
		t.Fatalf("second hop Root() = %v, %v; want %v, %v", rd, rf, from, cause)
	}
	// A copy answers Root as the original does, and a copy of a first hop
	// whose fields are changed answers from its own fields.
	cp2 := *c2
	if rd, rf := cp2.Root(); rd != from || rf != cause {
		t.Fatalf("Root() of a copy of the second hop = %v, %v; want %v, %v", rd, rf, from, cause)
	}
	cp := *c
	cp.Device, cp.Cause = further, c
	if rd, rf := cp.Root(); rd != further || rf != c {
		t.Fatalf("Root() of a changed copy of a first hop = %v, %v; want %v, %v", rd, rf, further, c)
	}
	// A supervisor passing a managed device's own cascade on agrees with
	// what the backplane builds.
	root, mid := backplane.New(), backplane.New()
	mid.Link(root, backplane.Monitor)
	started := make(chan struct{})
	res := make(chan error, 1)
	go func() {
		res <- mid.Manage(context.Background(), func(ctx context.Context) error {
			close(started)
			<-ctx.Done()
			return nil
		})
	}()
	<-started
	root.Disconnect(errors.New("boom"))
	<-res
	mine := backplane.CascadeFault(mid.ID(), faultOf(mid))
	if rd, rf := mine.Root(); rd != root.ID() || rf != faultOf(root) {
		t.Fatalf("Root() of a passed-on cascade = %v, %v; want %v, %v", rd, rf, root.ID(), faultOf(root))
	}
}

// faultsChildEnv marks the subprocess of TestFault_HandMadeCascade.
const faultsChildEnv = "BACKPLANE_TEST_HANDMADE_CASCADE"

// Fault's fields are exported, so code outside the package can build a
// cascade without CascadeFault. Such a fault must format without crashing
// the process, and Root must still find the start of the chain. The checks
// run in a subprocess with a small stack limit, because a runaway recursion
// is a fatal error that no recover can catch.
func TestFault_HandMadeCascade(t *testing.T) {
	if os.Getenv(faultsChildEnv) == "1" {
		debug.SetMaxStack(32 << 20)
		faultsHandMadeChecks(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestFault_HandMadeCascade$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), faultsChildEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		lines := strings.SplitN(string(out), "\n", 16)
		t.Fatalf("checks of hand-made cascades failed or crashed the process (%v):\n%s",
			err, strings.Join(lines[:min(len(lines), 15)], "\n"))
	}
}

func faultsHandMadeChecks(t *testing.T) {
	a, b, c := faultsID(), faultsID(), faultsID()
	boom := errors.New("boom")
	cause := backplane.ErrorFault(boom)
	oneHop := &backplane.Fault{Kind: backplane.FaultCascade, Device: a, Cause: cause}
	twoHops := &backplane.Fault{Kind: backplane.FaultCascade, Device: b, Cause: oneHop}
	onMade := &backplane.Fault{Kind: backplane.FaultCascade, Device: c, Cause: backplane.CascadeFault(b, backplane.CascadeFault(a, cause))}
	tests := []struct {
		name    string
		f       *backplane.Fault
		rootDev backplane.DeviceID
		root    *backplane.Fault
	}{
		{"one hop", oneHop, a, cause},
		{"two hops", twoHops, a, cause},
		{"on top of CascadeFault", onMade, a, cause},
	}
	for _, tt := range tests {
		rd, rf := tt.f.Root()
		if rd != tt.rootDev || rf != tt.root {
			t.Errorf("%s: Root() = %v, %v; want %v, %v", tt.name, rd, rf, tt.rootDev, tt.root)
		}
		if s := tt.f.Error(); !strings.Contains(s, "boom") || !strings.Contains(s, tt.f.Device.String()) {
			t.Errorf("%s: Error() = %q, want the device depended on and the root cause", tt.name, s)
		}
		if !errors.Is(tt.f, boom) {
			t.Errorf("%s: errors.Is does not reach the root error", tt.name)
		}
	}
	// Degenerate ones only have to format and return.
	cycle := &backplane.Fault{Kind: backplane.FaultCascade, Device: a}
	cycle.Cause = cycle
	for _, f := range []*backplane.Fault{
		{Kind: backplane.FaultCascade, Device: a},
		{Kind: backplane.FaultCascade},
		cycle,
	} {
		if s := f.Error(); !strings.HasPrefix(s, "backplane: cascade") {
			t.Errorf("Error() = %q", s)
		}
		f.Root()
		_ = (&backplane.Crash{Kind: backplane.CrashCascade, Fault: f}).Error()
	}
}

// faultOf returns the *Fault d disconnected with, or nil: Device.Fault
// returns it as an error.
func faultOf(d *backplane.Device) *backplane.Fault {
	f, _ := d.Fault().(*backplane.Fault)
	return f
}
