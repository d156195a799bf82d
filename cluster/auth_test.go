package cluster_test

import (
	"errors"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/cluster"
)

// Authentication passes through to NATS: the embedded server's options and
// the client's.
func TestAuthPassesThrough(t *testing.T) {
	a := start(t, cluster.Config{
		Name: "a",
		ServerOptions: func(o *server.Options) {
			o.Username, o.Password = "node", "s3cret"
		},
		NATSOptions: []nats.Option{nats.UserInfo("node", "s3cret")},
	})
	if _, err := cluster.Start(cluster.Config{Name: "intruder", URL: a.ClientURL()}); err == nil {
		t.Fatal("a node without credentials joined")
	}
	if _, err := cluster.Start(cluster.Config{Name: "wrong", URL: a.ClientURL(),
		NATSOptions: []nats.Option{nats.UserInfo("node", "guess")}}); err == nil {
		t.Fatal("a node with a wrong password joined")
	}
	b := start(t, cluster.Config{Name: "b", URL: a.ClientURL(), NATSOptions: []nats.Option{nats.UserInfo("node", "s3cret")}})
	settle(t, b, a)
}

// Per-node credentials: every embedded server has the same Users, and a
// node that joins through URL presents its own Password.
func TestUsers(t *testing.T) {
	users := map[string]string{"a": "pass-a", "b": "pass-b"}
	a := start(t, cluster.Config{Name: "a", Users: users})
	b := start(t, cluster.Config{Name: "b", URL: a.ClientURL(), Password: "pass-b"})
	dev := backplane.New()
	l := remote(t, b, a, "dev", dev)
	w := backplane.New()
	defer w.Drop()
	if err := w.Link(l, backplane.Monitor); err != nil {
		t.Fatal(err)
	}
	_ = dev.Disconnect(errors.New("over"))
	if m := receive(t, w); m.Fault() == nil || m.Fault().Err.Error() != "over" {
		t.Fatalf("got %v", m)
	}
	noneForged(t, a, b)
}
