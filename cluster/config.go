package cluster

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/backplane-go/backplane/cluster/internal/transport"
)

// Config configures a Node. Only Name is required: by default a node embeds
// a NATS server on 127.0.0.1, generates the cluster's secret and admits
// only clients that present it, which is all a single machine needs. Nodes
// that join it (through URL or Routes) are given its secret (Node.Secret).
//
// The defaults are listed on each field, and applied in one place: a
// zero field means its default, nothing else.
type Config struct {
	// Name is the node's name, unique in its cluster: letters, digits, '.',
	// '_' and '-', at most 64 bytes. A node restarted under the same name is
	// a new incarnation of it. Required.
	Name string

	// Cluster prefixes every NATS subject the node uses, so that several
	// clusters can share one NATS system; it is also the embedded server's
	// route cluster name. Default "backplane".
	Cluster string

	// URL connects the node to an external NATS server or cluster (for
	// example "nats://10.0.0.5:4222"; several URLs separated by commas),
	// instead of embedding a server. It needs credentials (Secret, Users,
	// or NATSOptions that carry them), or Insecure. Default: embed a server.
	URL string

	// Listen is the embedded server's client address. Default
	// "127.0.0.1:0" (a free port; see Node.ClientURL).
	Listen string

	// RouteListen is the embedded server's cluster (route) address, which
	// other nodes' embedded servers join through their Routes. Default: no
	// route listener, unless Routes is set, in which case "127.0.0.1:0"
	// (see Node.RouteURL).
	RouteListen string

	// Routes are the route URLs ("nats://host:port") of other nodes'
	// embedded servers, to form one NATS cluster with them. Every node
	// joined this way must hold the same Secret (or Users).
	Routes []string

	// Secret is the cluster's shared secret, as Erlang's cookie: the
	// embedded server requires it from every client (as a NATS token) and
	// every route, and the node presents it when it connects. Every node
	// that holds it is fully trusted (see SECURITY.md). Default: a node
	// with an embedded server, unless Insecure, generates a random one (32
	// bytes), which Node.Secret returns for the nodes that join it; a node
	// that joins through URL or Routes must be given the secret of the
	// cluster it joins. Keep it out of command lines and logs: hand it
	// over through the environment, a file only the service's user can
	// read, or a secret store.
	Secret string

	// Users, if set, turns on per-node credentials on the embedded server:
	// node name -> its password, or better a bcrypt hash of it ("$2a$...").
	// The server then admits a client only as one of these users, and NATS
	// permissions let user N publish only frames from N and subscribe only
	// to frames to N, so that a member cannot impersonate another node even
	// though it holds valid credentials. The Secret then authenticates
	// routes only. Every node's embedded server must have the same Users,
	// with an entry for itself. Default nil: the shared Secret alone.
	Users map[string]string

	// Password is this node's own password, presented as user Name, under
	// per-node credentials: Users on the embedded servers, or users of an
	// external NATS server (URL). Default: for a node with an embedded
	// server, its entry in Users, if that is a password rather than a
	// hash (with a hash, Password is required).
	Password string

	// Insecure allows running without credentials: an embedded server that
	// admits every client and route (no Secret is generated), or a server
	// at URL reached with none. Without it, connecting to URL without
	// credentials (Secret, Password, or credentials in the URL or in
	// NATSOptions) fails with ErrInsecure. A warning is logged when it is
	// used, to Logger or else to slog.Default(). Default false.
	Insecure bool

	// TLS, if set, secures the links between machines: the embedded
	// server's client and route listeners require TLS with this
	// configuration (its Certificates are the server's; set ClientCAs and
	// ClientAuth to verify clients), routes are made with it, and the
	// connection to a server at URL uses it (RootCAs to verify the
	// server). Default nil: no TLS, and frames travel in clear (fine on
	// loopback).
	TLS *tls.Config

	// ServerOptions, if set, may change the embedded server's options
	// after the node has set its own (listeners, authorization, TLS), just
	// before it starts: limits, monitoring. If it sets client
	// authentication of its own (users, nkeys, operators, callouts), the
	// node's token is withdrawn, and clients, this node included,
	// authenticate as it says (give the node its credentials in
	// NATSOptions).
	ServerOptions func(*server.Options)

	// NATSOptions are passed to the NATS client connection: credentials
	// (for an external NATS), TLS, names. Credentials given here replace
	// the ones the node would present (Secret, Password). The node
	// disables the client's reconnect buffer whatever they say: a
	// notification is either delivered in its session or the session ends.
	NATSOptions []nats.Option

	// Heartbeat is how often a node tells each peer it is alive. Default
	// 100ms.
	Heartbeat time.Duration

	// Timeout is the detection time of a silent peer: a peer not heard
	// from for this long (it hangs, or is cut off beyond the NATS
	// servers) is unreachable, and every edge to its devices fires with a
	// Fault of kind FaultUnreachable. A peer whose process dies is found
	// sooner, as its NATS connection closes: at the next frame sent to
	// it, a heartbeat at the latest, and within milliseconds by a node
	// with an embedded server (see "When a node cannot be reached" in the
	// package documentation). It must exceed Heartbeat. Default 1s.
	Timeout time.Duration

	// Logger, if set, is told when a session with a peer ends (at level
	// Warn, with the reason and how many edges fired), when the node runs
	// without credentials (Warn), and at level Debug of the details:
	// sessions opening, frames rejected, malformed or forged (see Stats),
	// NATS connection events. Default nil: no logging but the warning of
	// running without credentials, which goes to slog.Default().
	Logger *slog.Logger

	// Replicas is how many NATS servers keep a copy of the registry of
	// cluster-wide names and groups (a JetStream key-value bucket), if
	// this node is the one that creates it: the first node of the cluster
	// to use names or groups. A registry with 3 copies survives the loss
	// of one server; with 1, it is lost with its server. Default 3, or as
	// many JetStream servers as the NATS cluster has when the registry is
	// created, if fewer: start the nodes of a routed cluster before using
	// names or groups.
	Replicas int

	// OnNode, if set, is told when a session with another node incarnation
	// comes up and when it ends (Erlang's net_kernel:monitor_nodes): see
	// NodeEvent. It is called with the events in order, one at a time, on
	// a goroutine the node owns, never under the node's locks, so it may
	// call the node's methods, but not Close, which waits for it. Events
	// wait in an unbounded queue while it runs: it should return soon.
	// Close reports the end of every live session and waits until OnNode
	// has been told. Default nil: nobody is told.
	OnNode func(NodeEvent)
}

// Defaults of Config, as documented on its fields. They are declared
// here only: the transport takes a Config with them applied, and has none
// of its own.
const (
	defaultCluster     = "backplane"
	defaultListen      = "127.0.0.1:0"
	defaultRouteListen = "127.0.0.1:0"
	defaultHeartbeat   = 100 * time.Millisecond
	defaultTimeout     = time.Second
)

// withDefaults returns c with every zero field that has a default set to
// it. It is the one place where defaults are applied; the secret is
// generated by the transport, which knows whether it embeds a server.
func (c Config) withDefaults() Config {
	if c.Cluster == "" {
		c.Cluster = defaultCluster
	}
	if c.Listen == "" {
		c.Listen = defaultListen
	}
	if c.RouteListen == "" && len(c.Routes) > 0 && c.URL == "" {
		c.RouteListen = defaultRouteListen
	}
	if c.Heartbeat == 0 {
		c.Heartbeat = defaultHeartbeat
	}
	if c.Timeout == 0 {
		c.Timeout = defaultTimeout
	}
	if c.Replicas <= 0 {
		c.Replicas = defaultReplicas
	}
	return c
}

// transport returns the transport's configuration for c, defaults applied.
func (c Config) transport() transport.Config {
	return transport.Config{
		Name:          c.Name,
		Cluster:       c.Cluster,
		URL:           c.URL,
		Listen:        c.Listen,
		RouteListen:   c.RouteListen,
		Routes:        c.Routes,
		Secret:        c.Secret,
		Users:         c.Users,
		Password:      c.Password,
		Insecure:      c.Insecure,
		TLS:           c.TLS,
		ServerOptions: c.ServerOptions,
		NATSOptions:   c.NATSOptions,
		Heartbeat:     c.Heartbeat,
		Timeout:       c.Timeout,
		Logf:          debugf(c.Logger),
		Warnf:         warnf(c.Logger),
	}
}

// debugf returns the transport's debug log function for l: nil for a nil
// l.
func debugf(l *slog.Logger) func(string, ...any) {
	if l == nil {
		return nil
	}
	return func(format string, args ...any) {
		if l.Enabled(context.Background(), slog.LevelDebug) {
			l.Debug("cluster: " + fmt.Sprintf(format, args...))
		}
	}
}

// warnf returns the transport's warning function for l, or for
// slog.Default() if l is nil: a node running without credentials says so.
func warnf(l *slog.Logger) func(string, ...any) {
	return func(format string, args ...any) {
		if l == nil {
			l = slog.Default()
		}
		l.Warn("cluster: " + fmt.Sprintf(format, args...))
	}
}
