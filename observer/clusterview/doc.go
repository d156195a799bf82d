// Package clusterview puts a whole cluster on one observer page: each node
// publishes its observer.Recorder's snapshot over NATS (Publish), and a
// View, on any node, gathers the others' snapshots and gives them to
// observer.Handler (observer.WithPeers), whose page then shows every
// node's devices and supervision trees, and a list of nodes with their
// incarnations, up or not heard from.
//
// It is a module of its own, so that neither the observer nor the cluster
// package imports the other, and the library's core imports no NATS. It
// needs only a *nats.Conn: the one a cluster node's NATS server serves
// (cluster.Node.ClientURL), with the cluster's credentials, or any other.
//
//	go clusterview.Publish(ctx, nc, node.ID(), rec)
//	view, err := clusterview.NewView(nc, node.ID())
//	defer view.Close()
//	http.ListenAndServe("127.0.0.1:6060", observer.Handler(rec, observer.WithPeers(view)))
//
// # Messages
//
// A node publishes on Subject + its name ("backplane.observer.db") once
// per interval (WithInterval, default one second) a JSON object
// {"name", "incarnation", "interval_ms", "snapshot"}, the snapshot holding
// at most WithMaxDevices devices (default 2000) and no events, fewer if
// the message would exceed the connection's maximum payload. A View deems
// a node up while it has heard from it within three intervals, and
// forgets a run of a node a minute after it last heard from it.
//
// Anyone who can publish on the subjects can show made-up devices on the
// page, and anyone who can subscribe can read every node's model: give the
// observer the same protection as the cluster (see SECURITY.md).
package clusterview
