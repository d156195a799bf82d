package cluster_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/cluster"
)

// waitMembers waits until n's copy of the registry lists exactly want as
// group's members, as WatchGroup tells.
func waitMembers(t *testing.T, n *cluster.Node, group string, want []backplane.DeviceID) {
	t.Helper()
	var (
		mu     sync.Mutex
		have   = map[backplane.DeviceID]bool{}
		change = make(chan struct{}, 1)
	)
	stop, err := n.WatchGroup(ctxFor(t), group, func(e cluster.GroupEvent) {
		mu.Lock()
		if e.Joined {
			have[e.Member] = true
		} else {
			delete(have, e.Member)
		}
		mu.Unlock()
		select {
		case change <- struct{}{}:
		default:
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	same := func() bool {
		mu.Lock()
		defer mu.Unlock()
		if len(have) != len(want) {
			return false
		}
		for _, id := range want {
			if !have[id] {
				return false
			}
		}
		return true
	}
	ctx := ctxFor(t)
	for !same() {
		select {
		case <-change:
		case <-ctx.Done():
			mu.Lock()
			t.Fatalf("%v: %s has %v, want %v", n.ID(), group, have, want)
		}
	}
	// Members and Groups agree with the watch.
	ms, err := n.Members(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	var got []backplane.DeviceID
	for _, l := range ms {
		got = append(got, l.ID())
	}
	gs, err := n.Groups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ids := slices.Clone(want)
	if len(ids) == 0 {
		ids = nil
	}
	if !sameIDs(got, ids) || !sameIDs(gs[group], ids) {
		t.Fatalf("%v: Members %v, Groups %v, want %v", n.ID(), got, gs[group], want)
	}
}

func sameIDs(a, b []backplane.DeviceID) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[backplane.DeviceID]int{}
	for _, id := range a {
		seen[id]++
	}
	for _, id := range b {
		seen[id]--
	}
	for _, k := range seen {
		if k != 0 {
			return false
		}
	}
	return true
}

// member is a device of a node that joins groups.
type member struct {
	node *cluster.Node
	dev  *backplane.Device
}

func idsOn(n *cluster.Node, ms []member) []backplane.DeviceID {
	var out []backplane.DeviceID
	for _, m := range ms {
		out = append(out, idOn(n, m.node, m.dev))
	}
	return out
}

// Devices of three nodes join, leave, and disconnect, concurrently: every
// node ends up with the same members.
func TestGroupMembershipConverges(t *testing.T) {
	a, b, c := trio(t)
	nodes := []*cluster.Node{a, b, c}
	ctx := ctxFor(t)
	const perNode = 6
	var (
		mu                  sync.Mutex
		stay, left, dropped []member
		wg                  sync.WaitGroup
	)
	for _, n := range nodes {
		for i := range perNode {
			wg.Add(1)
			go func() {
				defer wg.Done()
				dev := backplane.New()
				t.Cleanup(dev.Drop)
				for _, g := range []string{"workers", "all"} {
					if err := n.Join(ctx, g, dev); err != nil {
						t.Error(err)
						return
					}
				}
				if err := n.Join(ctx, "workers", dev); err != nil { // again: no change
					t.Error(err)
				}
				m := member{n, dev}
				switch i % 3 {
				case 0:
					if err := n.Leave(ctx, "workers", dev); err != nil {
						t.Error(err)
					}
					mu.Lock()
					left = append(left, m)
					mu.Unlock()
				case 1:
					_ = dev.Disconnect(nil)
					mu.Lock()
					dropped = append(dropped, m)
					mu.Unlock()
				default:
					mu.Lock()
					stay = append(stay, m)
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	for _, n := range nodes {
		waitMembers(t, n, "workers", idsOn(n, stay))
		waitMembers(t, n, "all", idsOn(n, append(slices.Clone(stay), left...)))
	}
	// Leaving again, or a group never joined, is an error.
	m := left[0]
	if err := m.node.Leave(ctx, "workers", m.dev); !errors.Is(err, cluster.ErrNotMember) {
		t.Fatalf("Leave twice: %v", err)
	}
	if err := m.node.Leave(ctx, "nobody", m.dev); !errors.Is(err, cluster.ErrNotMember) {
		t.Fatalf("Leave of a group never joined: %v", err)
	}
}

// A node that leaves takes its members with it.
func TestGroupNodeLoss(t *testing.T) {
	a, b, c := trio(t)
	ctx := ctxFor(t)
	var ms []member
	for _, n := range []*cluster.Node{a, b, c, c} {
		dev := backplane.New()
		defer dev.Drop()
		if err := n.Join(ctx, "g", dev); err != nil {
			t.Fatal(err)
		}
		ms = append(ms, member{n, dev})
	}
	waitMembers(t, a, "g", idsOn(a, ms))
	waitMembers(t, b, "g", idsOn(b, ms))
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	waitMembers(t, a, "g", idsOn(a, ms[:2]))
	waitMembers(t, b, "g", idsOn(b, ms[:2]))
}

// A watch tells the members there are, then every change, in order.
func TestGroupWatch(t *testing.T) {
	a, b := pair(t)
	ctx := ctxFor(t)
	d1, d2 := backplane.New(), backplane.New()
	defer d1.Drop()
	defer d2.Drop()
	if err := a.Join(ctx, "g", d1); err != nil {
		t.Fatal(err)
	}
	waitMembers(t, b, "g", []backplane.DeviceID{idOn(b, a, d1)})
	events := make(chan cluster.GroupEvent, 16)
	stop, err := b.WatchGroup(ctx, "g", func(e cluster.GroupEvent) { events <- e })
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if err := a.Join(ctx, "g", d2); err != nil {
		t.Fatal(err)
	}
	if err := a.Leave(ctx, "g", d1); err != nil {
		t.Fatal(err)
	}
	want := []string{
		fmt.Sprintf("%v joined g", idOn(b, a, d1)),
		fmt.Sprintf("%v joined g", idOn(b, a, d2)),
		fmt.Sprintf("%v left g", idOn(b, a, d1)),
	}
	for _, w := range want {
		select {
		case e := <-events:
			if e.String() != w {
				t.Fatalf("event %v, want %s", e, w)
			}
		case <-ctx.Done():
			t.Fatalf("no event %s", w)
		}
	}
	// A member's Line reaches it.
	ls, err := b.Members(ctx, "g")
	if err != nil || len(ls) != 1 {
		t.Fatalf("Members: %v, %v", ls, err)
	}
	w := backplane.New()
	defer w.Drop()
	if err := w.Link(ls[0], backplane.Monitor); err != nil {
		t.Fatal(err)
	}
	settle(t, b, a)
	_ = d2.Disconnect(errors.New("bye"))
	if m := receive(t, w); m.Fault() == nil || m.Fault().Err.Error() != "bye" {
		t.Fatalf("watcher got %v", m)
	}
	if _, err := b.WatchGroup(ctx, "g", nil); !errors.Is(err, backplane.ErrInvalid) {
		t.Fatalf("nil func: %v", err)
	}
	if _, err := b.Members(ctx, "a b"); !errors.Is(err, backplane.ErrInvalid) {
		t.Fatalf("bad group: %v", err)
	}
	if err := b.Leave(ctx, "g", nil); !errors.Is(err, backplane.ErrInvalid) {
		t.Fatalf("nil device: %v", err)
	}
}
