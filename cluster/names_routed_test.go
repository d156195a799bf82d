package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/cluster"
)

// Three nodes with embedded servers joined by routes run clustered
// JetStream, under per-node credentials: names and groups work with the
// permissions each node has, and those permissions do not let a member
// delete the registry. A node that leaves takes its names and members
// with it, and comes back under the same name.
func TestNamesRoutedWithUsers(t *testing.T) {
	users := map[string]string{"a": "pa", "b": "pb", "c": "pc"}
	a := start(t, cluster.Config{Name: "a", Users: users, RouteListen: "127.0.0.1:0"})
	b := start(t, cluster.Config{Name: "b", Users: users, Routes: []string{a.RouteURL()}, Secret: a.Secret()})
	c := start(t, cluster.Config{Name: "c", Users: users, Routes: []string{a.RouteURL()}, Secret: a.Secret()})
	nodes := []*cluster.Node{a, b, c}
	ctx := ctxFor(t)
	var (
		mu   sync.Mutex
		wins = map[string]member{}
		all  []member
		wg   sync.WaitGroup
	)
	for _, n := range nodes {
		for i := range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				dev := backplane.New()
				t.Cleanup(dev.Drop)
				name := fmt.Sprintf("r%d", i)
				err := n.RegisterName(ctx, name, dev)
				switch {
				case err == nil:
					mu.Lock()
					if w, ok := wins[name]; ok {
						t.Errorf("%s won twice: %v and %v", name, w.dev.ID(), dev.ID())
					}
					wins[name] = member{n, dev}
					mu.Unlock()
				case !errors.Is(err, cluster.ErrNameTaken):
					t.Error(err)
				}
				if err := n.Join(ctx, "g", dev); err != nil {
					t.Error(err)
				}
				mu.Lock()
				all = append(all, member{n, dev})
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	for _, n := range nodes {
		for name, w := range wins {
			waitHolder(t, n, name, idOn(n, w.node, w.dev))
		}
		waitMembers(t, n, "g", idsOn(n, all))
	}
	// A member may use the registry, but not delete it.
	violation := make(chan error, 16)
	nc, err := nats.Connect(a.ClientURL(), nats.UserInfo("b", "pb"),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { violation <- err }))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	dctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- js.DeleteKeyValue(dctx, "backplane_registry") }()
	select {
	case err := <-violation:
		if !strings.Contains(strings.ToLower(err.Error()), "permissions violation") {
			t.Fatalf("error %v, want a permissions violation", err)
		}
	case err := <-done:
		t.Fatalf("DeleteKeyValue returned %v, want a permissions violation first", err)
	case <-ctx.Done():
		t.Fatal("no permissions violation")
	}
	cancel()
	<-done

	// c leaves: its names and members go. Restarted under its name (its
	// embedded server a JetStream peer of the same name, with an empty
	// store), it takes part in the registry again.
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	var still []member
	for _, m := range all {
		if m.node != c {
			still = append(still, m)
		}
	}
	for _, n := range []*cluster.Node{a, b} {
		for name, w := range wins {
			if w.node == c {
				waitHolder(t, n, name, backplane.DeviceID{})
			}
		}
		waitMembers(t, n, "g", idsOn(n, still))
	}
	c2 := start(t, cluster.Config{Name: "c", Users: users, Routes: []string{a.RouteURL()}, Secret: a.Secret()})
	d2 := backplane.New()
	defer d2.Drop()
	if err := c2.RegisterName(ctxFor(t), "c2", d2); err != nil {
		t.Fatal(err)
	}
	if err := c2.Join(ctxFor(t), "g", d2); err != nil {
		t.Fatal(err)
	}
	still = append(still, member{c2, d2})
	for _, n := range []*cluster.Node{a, b, c2} {
		waitHolder(t, n, "c2", idOn(n, c2, d2))
		waitMembers(t, n, "g", idsOn(n, still))
	}
}
