package cluster_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/cluster"
)

// SIGKILL a node, with a timeout far beyond the test's patience (wait):
// every edge to its devices fires once, unreachable, with the closed
// connection as cause, whether the node was a client of this node's server
// or embedded a server of its own, joined to this one by a route.
func TestProcessKillSeenAtOnce(t *testing.T) {
	for _, topo := range []string{"client", "route"} {
		t.Run(topo, func(t *testing.T) {
			p := start(t, cluster.Config{Name: "p", RouteListen: "127.0.0.1:0", Heartbeat: procTimeout / 10, Timeout: time.Minute})
			url := p.ClientURL()
			if topo == "route" {
				url = "route:" + p.RouteURL()
			}
			c := spawn(t, "c1", url, p.Secret())
			c.do("dev x")
			c.do("dev y")
			ls := []backplane.Line{lookup(t, p, "c1", "x"), lookup(t, p, "c1", "y")}
			ws := watchersOf(t, 3, ls)
			ping(t, p, ls[0])
			if err := c.cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			for _, w := range ws {
				seen := map[backplane.DeviceID]bool{}
				for range ls {
					m := receive(t, w)
					f := m.Fault()
					var ue *cluster.UnreachableError
					if f == nil || f.Kind != backplane.FaultUnreachable || !errors.As(f, &ue) {
						t.Fatalf("got %v, want unreachable", m)
					}
					if !strings.HasSuffix(ue.Error(), "unreachable: transport: peer's NATS connection closed") {
						t.Fatalf("cause %q, want the closed connection", ue)
					}
					if ue.Node != ls[0].ID().Node() || seen[m.From()] {
						t.Fatalf("%v: node %v, seen before %v", m, ue.Node, seen[m.From()])
					}
					seen[m.From()] = true
				}
				if m, ok := w.TryReceive(); ok {
					t.Fatalf("extra message %v", m)
				}
			}
		})
	}
}

// SIGKILL a node connected to another node's server, watched by a node
// connected there too, whose timeout is far beyond the test's patience:
// the watcher, which embeds no server, learns from the server's answer to
// its next frame, a heartbeat at the latest.
func TestProcessKillSeenByClient(t *testing.T) {
	p := procNode(t)
	w := spawn(t, "w", p.ClientURL(), p.Secret(), envTimeout+"=1m")
	c := spawn(t, "c1", p.ClientURL(), p.Secret())
	c.do("dev x")
	lx := lookup(t, p, "c1", "x")
	w.do("watch ww c1 x")
	w.do("ping c1")
	if err := c.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	w.expect(fmt.Sprintf("msg ww disconnected %v unreachable", lx.ID()))
	w.none("msg ww")
}
