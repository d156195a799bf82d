package observer_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/observer"
	"github.com/backplane-go/backplane/supervisor"
)

func TestSeries(t *testing.T) {
	c := newClock()
	rec := observer.NewRecorder(observer.WithClock(c.Now))
	withHook(t, rec.Record)
	var devs []*backplane.Device
	for range 3 {
		devs = append(devs, backplane.New())
	}
	defer func() {
		for _, d := range devs {
			d.Drop()
		}
	}()
	c.Advance(time.Second)
	_ = devs[0].Disconnect(panicFault("boom"))
	c.Advance(2 * time.Second)
	rec.RecordSupervisor(supervisor.ChildRestarted{Source: supervisor.Source{SupervisorID: devs[1].ID()}, Instance: supervisor.Instance{Device: devs[2].ID()}})
	c.Advance(time.Second)

	s0 := t0.Unix()
	want := []observer.Point{
		{Time: s0, Alive: 0},
		{Time: s0 + 1, Alive: 3, Faults: map[string]uint64{"panic": 1}},
		{Time: s0 + 2, Alive: 2},
		{Time: s0 + 3, Alive: 2, Restarts: 1},
		{Time: s0 + 4, Alive: 2},
	}
	if got := rec.Series(10).Points; !reflect.DeepEqual(got, want) {
		t.Errorf("Series(10):\n got %+v\nwant %+v", got, want)
	}
	if got := rec.Series(2).Points; !reflect.DeepEqual(got, want[3:]) {
		t.Errorf("Series(2):\n got %+v\nwant %+v", got, want[3:])
	}
	// Past the ring's length, the oldest seconds go; what is left is whole.
	for range observer.SeriesLength + 5 {
		c.Advance(time.Second)
		rec.Record(backplane.Event{Kind: backplane.EventShutdownRequested})
	}
	got := rec.Series(observer.SeriesLength).Points
	if len(got) != observer.SeriesLength || got[len(got)-1].Time != c.Now().Unix() || got[0].Alive != 2 {
		t.Errorf("after the ring turned: %d points, last %+v, first %+v", len(got), got[len(got)-1], got[0])
	}
}
