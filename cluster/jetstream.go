package cluster

import (
	"net"
	"net/url"
	"os"
	"strconv"

	"github.com/nats-io/nats-server/v2/server"
)

// jetStream returns the hook that turns JetStream on in a node's embedded
// server, for the registry, before calling user's hook (Config.
// ServerOptions), if any. Streams are kept in memory; dir holds what
// JetStream keeps on disk whatever the streams' storage (a routed
// cluster's state). A server with a route listener runs clustered
// JetStream, under the node's name as server name and Config.Cluster as
// cluster name: NATS requires a clustered server to have routes
// configured, so the server is given a route to itself, which NATS
// ignores, and which lets the first node of a routed cluster, which has no
// Routes, take part.
func jetStream(name, dir string, user func(*server.Options)) func(*server.Options) {
	return func(o *server.Options) {
		o.JetStream = true
		o.StoreDir = dir
		o.ServerName = name
		if o.Cluster.Port != 0 {
			if err := selfRoute(o); err != nil {
				o.JetStream = false // the registry then fails with ErrNoRegistry
			}
		}
		if user != nil {
			user(o)
		}
	}
}

// selfRoute adds to o the route of the server to itself, choosing the
// route port now if it was to be chosen at start.
func selfRoute(o *server.Options) error {
	host := o.Cluster.Host
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	if o.Cluster.Port == server.RANDOM_PORT {
		l, err := net.Listen("tcp", net.JoinHostPort(o.Cluster.Host, "0"))
		if err != nil {
			return err
		}
		o.Cluster.Port = l.Addr().(*net.TCPAddr).Port
		if err := l.Close(); err != nil {
			return err
		}
	}
	u := &url.URL{Scheme: "nats", Host: net.JoinHostPort(host, strconv.Itoa(o.Cluster.Port))}
	if o.Cluster.Username != "" {
		u.User = url.UserPassword(o.Cluster.Username, o.Cluster.Password)
	}
	o.Routes = append(o.Routes, u)
	return nil
}

// storeDir makes the directory of an embedded server's JetStream store,
// which Close removes.
func storeDir(name string) (string, error) {
	dir, err := os.MkdirTemp("", "backplane-"+name+"-")
	if err != nil {
		return "", errorf("cluster: start %q: JetStream store: %w", name, err)
	}
	return dir, nil
}

// removeStore removes the JetStream store, once its server is down.
func (n *Node) removeStore() {
	if n.storeDir != "" {
		_ = os.RemoveAll(n.storeDir)
	}
}
