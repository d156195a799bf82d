package cluster_test

import (
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

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
