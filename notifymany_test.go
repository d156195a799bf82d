package backplane

import (
	"context"
	"errors"
	"testing"
)

// TestFanoutWatcherStates disconnects a hub with many links (so its
// notifications go through notifyMany) whose watchers are in every state a
// watcher can be in, and checks that each one gets exactly what notify
// would give it: the inline path for idle watchers nobody waits on, and
// notify for the others.
func TestFanoutWatcherStates(t *testing.T) {
	hub := New()
	link := func(w *Device, mode LinkMode) {
		t.Helper()
		if err := w.Link(hub, mode); err != nil {
			t.Fatal(err)
		}
	}

	idle := make([]*Device, 6) // plain monitors, read with TryReceive
	for i := range idle {
		idle[i] = New()
		link(idle[i], Monitor)
	}
	queued, other := New(), New() // a monitor with a message already queued
	link(queued, Monitor)
	queued.Link(other, Monitor)
	other.Drop()
	watched := New() // watched by the hub only: told nothing
	link(watched, Notify)
	peer := New() // both ways: told, and the hub is told nothing of it
	link(peer, Peer)
	gone := New() // down before the hub: its link is gone already
	link(gone, Monitor)
	gone.Drop()
	waiting := New() // blocked in Receive
	link(waiting, Monitor)
	got := make(chan Message, 1)
	go func() { got <- semRecv(t, waiting) }()
	watching := New() // in Watch
	link(watching, Monitor)
	watchDone := make(chan Watched[int], 1)
	go func() {
		w, _ := Watch(context.Background(), watching, func(ctx context.Context) (int, error) {
			<-ctx.Done()
			return 0, ctx.Err()
		})
		watchDone <- w
	}()
	managed := New() // managed: cascades
	link(managed, Monitor)
	crashed := semManage(managed, false, func(ctx context.Context) error {
		<-ctx.Done()
		return nil
	})
	semBlockedIn(t, "(*Device).Receive", 1)
	semBlockedIn(t, "TestFanoutWatcherStates.func", 3) // the receiver, the Watch and the Manage tasks
	if hub.d.links.many == nil {
		t.Fatal("the hub's links are inline; the test needs the table")
	}

	if err := hub.Disconnect(errors.New("hub failed")); err != nil {
		t.Fatal(err)
	}
	f := hub.fault()

	for i, w := range idle {
		ms := semDrain(w)
		if len(ms) != 1 {
			t.Fatalf("idle watcher %d got %v; want one message", i, ms)
		}
		semWantDisc(t, ms[0], hub.ID(), f)
		if semLinks(w) != 0 {
			t.Errorf("idle watcher %d still has %d links", i, semLinks(w))
		}
	}
	ms := semDrain(queued)
	if len(ms) != 2 || ms[0].From() != other.ID() {
		t.Fatalf("the queued watcher got %v; want the earlier message, then the hub's", ms)
	}
	semWantDisc(t, ms[1], hub.ID(), f)
	for name, w := range map[string]*Device{"notify-only": watched, "down": gone} {
		if ms := semDrain(w); len(ms) != 0 {
			t.Errorf("the %s device got %v; want nothing", name, ms)
		}
		if semLinks(w) != 0 {
			t.Errorf("the %s device still has %d links", name, semLinks(w))
		}
	}
	if ms := semDrain(peer); len(ms) != 1 {
		t.Errorf("the peer got %v; want one message", ms)
	} else {
		semWantDisc(t, ms[0], hub.ID(), f)
	}
	semWantDisc(t, semAwait(t, got), hub.ID(), f)
	if w := semAwait(t, watchDone); !w.Messaged {
		t.Errorf("Watch returned %+v; want the hub's message", w)
	} else {
		semWantDisc(t, w.Message, hub.ID(), f)
	}
	var c *Crash
	if err := semAwait(t, crashed); !errors.As(err, &c) || c.Kind != CrashCascade || c.Device != hub.ID() {
		t.Errorf("the managed watcher returned %v; want a cascade from the hub", err)
	}
	for _, w := range append(idle, queued, watched, peer, waiting, watching) {
		w.Drop()
	}
}
