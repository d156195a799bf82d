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
// delete the registry.
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
	for _, n := range nodes {
		if _, err := n.Names(ctx); err != nil {
			t.Fatal(err)
		}
	}
}
