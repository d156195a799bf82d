package observer_test

import (
	"context"
	"errors"
	"reflect"
	"runtime"
	"testing"
	"time"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/internal/bridge"
	"github.com/backplane-go/backplane/observer"
	"github.com/backplane-go/backplane/supervisor"
)

func TestRecorderLinks(t *testing.T) {
	rec := newRecorder(t)
	a := backplane.New(backplane.WithName("a"))
	b := backplane.New(backplane.WithName("b"))
	c := backplane.New()
	defer a.Drop()
	defer b.Drop()
	defer c.Drop()
	if err := a.Link(b, backplane.Monitor); err != nil {
		t.Fatal(err)
	}
	if err := b.Link(c, backplane.Peer); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Unlink(c, backplane.Notify); err != nil {
		t.Fatal(err)
	}
	s := rec.Snapshot(observer.SnapshotOptions{})
	links := func(id backplane.DeviceID) []observer.LinkInfo { return device(t, s, id).Links }
	tests := []struct {
		dev  backplane.DeviceID
		want []observer.LinkInfo
	}{
		{a.ID(), []observer.LinkInfo{{Peer: b.ID().String(), Mode: "monitor"}}},
		{b.ID(), []observer.LinkInfo{{Peer: a.ID().String(), Mode: "notify"}, {Peer: c.ID().String(), Mode: "monitor"}}},
		{c.ID(), []observer.LinkInfo{{Peer: b.ID().String(), Mode: "notify"}}},
	}
	for _, tt := range tests {
		if have := links(tt.dev); !reflect.DeepEqual(have, tt.want) {
			t.Errorf("links of %v: have %+v, want %+v", tt.dev, have, tt.want)
		}
	}
	if st := s.Stats; st.Alive != 3 || st.Links != 2 || st.Created != 3 {
		t.Errorf("stats: have %+v, want 3 alive, 2 links, 3 created", st)
	}
	if d := device(t, s, a.ID()); d.Name != "a" || d.State != "alive" || !d.Since.Equal(t0) {
		t.Errorf("device a: %+v", d)
	}

	// A disconnect takes the device's links with it, on both sides.
	if err := c.Disconnect(errors.New("boom")); err != nil {
		t.Fatal(err)
	}
	s = rec.Snapshot(observer.SnapshotOptions{})
	dc := device(t, s, c.ID())
	if dc.State != "down" || dc.Fault == nil || dc.Fault.Kind != "error" || len(dc.Links) != 0 {
		t.Errorf("device c after disconnect: %+v", dc)
	}
	if l := links(b.ID()); len(l) != 1 || l[0].Peer != a.ID().String() {
		t.Errorf("links of b after c went down: %+v", l)
	}
	if st := s.Stats; st.Alive != 2 || st.Down != 1 || st.Links != 1 || st.Disconnects["error"] != 1 {
		t.Errorf("stats after disconnect: %+v", st)
	}
	if len(s.Faults) != 1 || s.Faults[0].Device != c.ID().String() {
		t.Errorf("faults: %+v", s.Faults)
	}
	// Devices alive come first.
	if last := s.Devices[len(s.Devices)-1]; last.ID != c.ID().String() {
		t.Errorf("last device %s, want the down one %v", last.ID, c.ID())
	}
}

func TestRecorderCascade(t *testing.T) {
	rec := newRecorder(t)
	ctx := context.Background()
	var g backplane.Group
	root := backplane.New(backplane.WithName("root"))
	// worker watches root, leaf watches worker: Notify, seen from the parent.
	worker, err := g.Spawn(ctx, root, backplane.Notify, wait, backplane.WithName("worker"))
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := g.Spawn(ctx, worker, backplane.Notify, wait, backplane.WithName("leaf"))
	if err != nil {
		t.Fatal(err)
	}
	if err := root.Disconnect(panicFault("boom")); err != nil {
		t.Fatal(err)
	}
	g.Wait() // both tasks have ended: every event is recorded

	s := rec.Snapshot(observer.SnapshotOptions{})
	f := device(t, s, leaf.ID()).Fault
	if f == nil || f.Kind != "cascade" {
		t.Fatalf("leaf fault: %+v", f)
	}
	wantChain := []observer.Hop{
		{Device: worker.ID().String(), Name: "worker", Kind: "cascade"},
		{Device: root.ID().String(), Name: "root", Kind: "panic"},
	}
	if !reflect.DeepEqual(f.Chain, wantChain) {
		t.Errorf("chain: have %+v, want %+v", f.Chain, wantChain)
	}
	if f.RootDevice != root.ID().String() || f.Root == nil || f.Root.Panic != "boom" || f.Root.Stack == "" {
		t.Errorf("root of the cascade: %s %+v", f.RootDevice, f.Root)
	}
	if st := s.Stats; st.Disconnects["cascade"] != 2 || st.Disconnects["panic"] != 1 || st.Alive != 0 {
		t.Errorf("stats: %+v", st)
	}
	if len(s.Faults) != 3 {
		t.Errorf("faults: have %d, want 3", len(s.Faults))
	}
}

func wait(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

func TestRecorderRetention(t *testing.T) {
	clk := newClock()
	rec := observer.NewRecorder(observer.WithClock(clk.Now), observer.WithRetention(time.Minute), observer.WithMaxDown(2))
	withHook(t, rec.Record)
	var ids []backplane.DeviceID
	for range 3 {
		d := backplane.New()
		ids = append(ids, d.ID())
		d.Drop()
		clk.Advance(time.Second)
	}
	s := rec.Snapshot(observer.SnapshotOptions{})
	if hasDevice(s, ids[0]) || !hasDevice(s, ids[1]) || !hasDevice(s, ids[2]) {
		t.Errorf("WithMaxDown(2): have %d devices %+v, want the last two", len(s.Devices), s.Devices)
	}
	clk.Advance(time.Minute)
	s = rec.Snapshot(observer.SnapshotOptions{})
	if len(s.Devices) != 0 || s.Stats.Down != 0 {
		t.Errorf("after the retention: %+v", s.Devices)
	}
	if len(s.Faults) != 3 || s.Stats.Disconnects["drop"] != 3 {
		t.Errorf("faults outlive their devices: have %d, want 3", len(s.Faults))
	}
}

func TestRecorderSupervisor(t *testing.T) {
	rec := newRecorder(t)
	sup := backplane.New(backplane.WithName("sup"))
	c1 := backplane.New()
	defer sup.Drop()
	rec.RecordSupervisor(supervisor.ChildStarted{Source: supervisor.Source{SupervisorID: sup.ID()}, Instance: supervisor.Instance{Device: c1.ID(), Child: "worker"}})
	f := backplane.ErrorFault(errors.New("bad"))
	_ = c1.Disconnect(f)
	rec.RecordSupervisor(supervisor.ChildExited{Source: supervisor.Source{SupervisorID: sup.ID()}, Instance: supervisor.Instance{Device: c1.ID(), Child: "worker"}, Fault: f})
	c2 := backplane.New()
	rec.RecordSupervisor(supervisor.ChildRestarted{Source: supervisor.Source{SupervisorID: sup.ID()}, Instance: supervisor.Instance{Device: c2.ID(), Child: "worker"}})
	rec.RecordSupervisor(supervisor.ChildAbandoned{Source: supervisor.Source{SupervisorID: sup.ID()}, Instance: supervisor.Instance{Device: c2.ID()}})
	rec.RecordSupervisor(supervisor.RestartLimitReached{Source: supervisor.Source{SupervisorID: sup.ID()}})
	c2.Drop()

	s := rec.Snapshot(observer.SnapshotOptions{})
	ds := device(t, s, sup.ID())
	if !ds.IsSupervisor || ds.Restarts != 1 || !ds.RestartLimit || !reflect.DeepEqual(ds.Children, []string{c1.ID().String(), c2.ID().String()}) {
		t.Errorf("supervisor: %+v", ds)
	}
	d2 := device(t, s, c2.ID())
	if d2.Supervisor != sup.ID().String() || d2.Name != "worker" || !d2.Abandoned {
		t.Errorf("restarted child: %+v", d2)
	}
	st := s.Stats
	if st.ChildStarts != 1 || st.ChildExits != 1 || st.Restarts != 1 || st.Abandoned != 1 || st.RestartLimits != 1 {
		t.Errorf("stats: %+v", st)
	}
	var kinds []string
	for _, e := range s.Faults {
		kinds = append(kinds, e.Kind)
	}
	want := []string{"disconnected", "child abandoned", "restart limit reached", "disconnected"}
	if !reflect.DeepEqual(kinds, want) {
		t.Errorf("fault feed: have %q, want %q", kinds, want)
	}
}

func TestRecorderEvents(t *testing.T) {
	rec := newRecorder(t, observer.WithEventBuffer(3))
	var ids []backplane.DeviceID
	for range 5 {
		d := backplane.New()
		defer d.Drop()
		ids = append(ids, d.ID())
	}
	base := rec.Stats().Events - 5
	tests := []struct {
		since    uint64
		max      int
		want     []backplane.DeviceID
		wantLost bool
	}{
		{base, 0, ids[2:], true},
		{base + 2, 0, ids[2:], false},
		{base + 3, 1, ids[3:4], false},
		{base + 5, 0, nil, false},
		{base + 6, 0, nil, true}, // ahead: from an earlier process
	}
	for _, tt := range tests {
		evs, lost := rec.Events(tt.since, tt.max)
		var have []backplane.DeviceID
		for _, e := range evs {
			if e.Kind != "created" {
				t.Errorf("event kind %q, want created", e.Kind)
			}
			for _, id := range ids {
				if id.String() == e.Device {
					have = append(have, id)
				}
			}
		}
		if !reflect.DeepEqual(have, tt.want) || lost != tt.wantLost {
			t.Errorf("Events(%d, %d): have %v lost=%v, want %v lost=%v", tt.since-base, tt.max, have, lost, tt.want, tt.wantLost)
		}
	}
}

func TestRecorderShutdown(t *testing.T) {
	// other is made before the recorder is installed: the recorder learns of
	// it through a link only, and holds no Line to it. d is tracked from its
	// EventCreated, and Track is then a no-op for it.
	other := backplane.New()
	defer other.Drop()
	rec := newRecorder(t)
	d := backplane.New()
	defer d.Drop()
	if err := d.Link(other, backplane.Monitor); err != nil {
		t.Fatal(err)
	}
	rec.Track(d, nil, backplane.Line{})
	if err := rec.RequestShutdown(d.ID()); err != nil {
		t.Fatal(err)
	}
	if m, ok := d.TryReceive(); !ok || m.Kind() != backplane.Shutdown {
		t.Fatalf("inbox: %v %v, want a shutdown request", m, ok)
	}
	if err := rec.RequestShutdown(other.ID()); !errors.Is(err, observer.ErrNotTracked) {
		t.Errorf("untracked: %v", err)
	}
	if err := rec.RequestShutdown(backplane.DeviceID{}); !errors.Is(err, observer.ErrUnknownDevice) {
		t.Errorf("unknown: %v", err)
	}
	d.Drop()
	if err := rec.RequestShutdown(d.ID()); !errors.Is(err, observer.ErrDown) {
		t.Errorf("down: %v", err)
	}
	if s := rec.Stats(); s.ShutdownRequests != 1 {
		t.Errorf("shutdown requests: %d", s.ShutdownRequests)
	}
}

func TestRecorderZeroValue(t *testing.T) {
	var rec observer.Recorder
	withHook(t, rec.Record)
	d := backplane.New(backplane.WithName("z"))
	d.Drop()
	if s := rec.Snapshot(observer.SnapshotOptions{}); len(s.Devices) != 1 || s.Devices[0].Name != "z" {
		t.Errorf("zero Recorder: %+v", s.Devices)
	}
}

func TestRecorderUnknownDevices(t *testing.T) {
	a, b := backplane.New(), backplane.New() // created before the hook
	defer a.Drop()
	defer b.Drop()
	rec := newRecorder(t)
	if err := a.Link(b, backplane.Peer); err != nil {
		t.Fatal(err)
	}
	s := rec.Snapshot(observer.SnapshotOptions{})
	if len(s.Devices) != 2 || s.Stats.Links != 1 || s.Stats.Alive != 2 {
		t.Errorf("devices first seen through a link: %+v", s)
	}
}

func TestSnapshotOptions(t *testing.T) {
	rec := newRecorder(t)
	hub := backplane.New()
	defer hub.Drop()
	var spokes []*backplane.Device
	for range 4 {
		d := backplane.New()
		defer d.Drop()
		_ = hub.Link(d, backplane.Monitor)
		spokes = append(spokes, d)
	}
	lone := backplane.New()
	defer lone.Drop()
	s := rec.Snapshot(observer.SnapshotOptions{MaxDevices: 2, MaxEvents: -1})
	if len(s.Devices) != 2 || s.Omitted != 4 || len(s.Events) != 0 {
		t.Errorf("MaxDevices 2: %d devices, %d omitted, %d events", len(s.Devices), s.Omitted, len(s.Events))
	}
	s = rec.Snapshot(observer.SnapshotOptions{Device: spokes[0].ID(), MaxEvents: 3})
	if len(s.Devices) != 2 || !hasDevice(s, hub.ID()) || len(s.Events) != 3 {
		t.Errorf("Device: %+v", s)
	}
	if s := rec.Snapshot(observer.SnapshotOptions{Device: bridge.LocalID(1 << 60)}); s != nil {
		t.Errorf("unknown device: %+v", s)
	}
	last := rec.Stats().Events
	if s := rec.Snapshot(observer.SnapshotOptions{Since: last - 1}); len(s.Events) != 1 {
		t.Errorf("Since: %d events, want 1", len(s.Events))
	}
}

func TestHooks(t *testing.T) {
	var order []int
	h := func(i int) backplane.Hook { return func(backplane.Event) { order = append(order, i) } }
	if observer.Hooks() != nil || observer.Hooks(nil, nil) != nil {
		t.Error("Hooks of nothing is not nil")
	}
	observer.Hooks(nil, h(1))(backplane.Event{})
	observer.Hooks(h(2), nil, h(3))(backplane.Event{})
	if !reflect.DeepEqual(order, []int{1, 2, 3}) {
		t.Errorf("order: %v", order)
	}
	var sorder []int
	sh := func(i int) func(supervisor.Event) {
		return func(supervisor.Event) { sorder = append(sorder, i) }
	}
	if observer.SupervisorHooks(nil) != nil {
		t.Error("SupervisorHooks of nothing is not nil")
	}
	observer.SupervisorHooks(sh(1), sh(2))(supervisor.ChildStarted{})
	if !reflect.DeepEqual(sorder, []int{1, 2}) {
		t.Errorf("order: %v", sorder)
	}
}

// TestRecordAllocs checks that the hook allocates nothing once a device and
// its link maps exist.
func TestRecordAllocs(t *testing.T) {
	rec := observer.NewRecorder()
	a, b := backplane.New(), backplane.New()
	defer a.Drop()
	defer b.Drop()
	link := backplane.Event{Kind: backplane.EventLinked, Device: a.ID(), Peer: b.ID(), Mode: backplane.Monitor}
	unlink := link
	unlink.Kind = backplane.EventUnlinked
	rec.Record(link)
	n := testing.AllocsPerRun(1000, func() {
		rec.Record(link)
		rec.Record(unlink)
		rec.Record(backplane.Event{Kind: backplane.EventShutdownRequested, Device: a.ID()})
	})
	if n != 0 {
		t.Errorf("Record allocates %v times per run, want 0", n)
	}
}

// TestTrackDoesNotKeepAlive checks that the Line the recorder holds does
// not keep a forgotten device from being dropped by the garbage collector.
func TestTrackDoesNotKeepAlive(t *testing.T) {
	rec := observer.NewRecorder()
	dropped := make(chan struct{})
	var id backplane.DeviceID
	withHook(t, observer.Hooks(rec.Record, func(e backplane.Event) {
		if e.Kind == backplane.EventDisconnected && e.Device == id {
			close(dropped)
		}
	}))
	func() {
		d := backplane.New()
		id = d.ID()
		rec.Track(d)
	}()
	for i := 0; ; i++ {
		runtime.GC()
		select {
		case <-dropped:
			d := device(t, rec.Snapshot(observer.SnapshotOptions{}), id)
			if d.State != "down" || d.Fault == nil || d.Fault.Kind != "drop" || d.Tracked {
				t.Errorf("after the collector dropped it: %+v", d)
			}
			return
		default:
		}
		if i == 100 {
			t.Fatal("the tracked device was never dropped")
		}
		runtime.Gosched()
	}
}

// TestRecorderLateEvents checks that an event arriving after a device was
// forgotten (events from different goroutines may come in any order) does
// not bring it back.
func TestRecorderLateEvents(t *testing.T) {
	rec := newRecorder(t, observer.WithRetention(0))
	sup := backplane.New()
	defer sup.Drop()
	child, other := backplane.New(), backplane.New()
	defer other.Drop()
	child.Drop()
	rec.RecordSupervisor(supervisor.ChildStarted{Source: supervisor.Source{SupervisorID: sup.ID()}, Instance: supervisor.Instance{Device: child.ID()}})
	rec.Record(backplane.Event{Kind: backplane.EventLinked, Device: other.ID(), Peer: child.ID(), Mode: backplane.Monitor})
	s := rec.Snapshot(observer.SnapshotOptions{})
	if hasDevice(s, child.ID()) || s.Stats.Alive != 2 || s.Stats.Links != 0 {
		t.Errorf("a forgotten device came back: %+v", s)
	}
}
