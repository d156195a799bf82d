// Package cluster links devices across processes and machines, over NATS.
//
// A Node joins a process to a backplane cluster. By default it embeds a
// NATS server bound to 127.0.0.1 that admits only clients presenting the
// cluster's secret, which the node generates (Node.Secret): that is all one
// machine needs. Nodes join it with the secret (Config.URL and
// Config.Secret), join each other's embedded servers through NATS routes
// (Config.RouteListen, Config.Routes), or connect to an external NATS
// cluster with its own credentials; Config.TLS secures links between
// machines.
//
// # Remote devices
//
// A device on another node is named by a DeviceID that carries the node's
// name and incarnation (DeviceID.Node). Node.Line gives
// a Line to it, and Node.Lookup finds one by the name it was registered
// under (Node.Register). That Line is used like any other: local devices
// link to it in any mode, it is linked to local devices, and it is asked to
// shut down or killed. The rules of SEMANTICS.md hold across nodes: every
// edge fires exactly once, with the remote device's own fault (its error
// text, its panic value and stack, or a cascade with its root), and a
// managed task that depends on a remote device cascades when it faults.
//
// Behind the Line is a proxy device, a local stand-in that this package
// makes through the core's internal bridge. An edge whose
// watcher is local is an ordinary local edge to the proxy, which the node
// disconnects when the remote device disconnects. An edge whose watcher is
// remote is made on the watcher's node, whichever node's code asked for
// it: so a link made from both ends is one edge, and each node can tell its
// own watchers when it loses touch with the other.
//
// # When a node cannot be reached
//
// Nodes talk in sessions: per pair of node incarnations, every frame is
// numbered, heartbeats flow both ways, and a session ends at the first
// doubt: a peer that left NATS (its connection closed: it died), a peer
// silent for Config.Timeout (it hangs or is cut off), a missing frame
// (core NATS delivers at most once), a lost connection, or a peer
// restarted under the same name. The session's end fires every edge
// to the peer's devices once, with a Fault of kind FaultUnreachable
// wrapping an *UnreachableError (Erlang's noconnection): the device may
// still be alive, but nothing it does can be reported any more, and this
// package never claims a delivery that did not happen. A node that comes
// back is a new incarnation; frames of the old one are ignored.
//
// A node that dies is found out without waiting for the timeout: its NATS
// connection closes (or, if it embedded its server, that server's routes),
// and the servers forget its subscription to its frames. Every frame is
// sent asking for the server's "no responders" answer, which a frame to a
// node no server knows any more draws at once, so a node learns of a dead
// peer at the next frame it sends it, a heartbeat (Config.Heartbeat) at
// the latest; a node with an embedded server (the default) also looks at
// its server's subscriptions every few milliseconds, and learns within
// milliseconds. The edges fire after every frame the dead node sent
// before, with an *UnreachableError whose reason says that its NATS
// connection closed. Nobody can take a node's subscription away, so no
// stranger can make a live node look dead, and no member either under
// per-node credentials; with the shared secret, a member that forges such
// an answer is believed only by nodes without an embedded server (it can
// forge frames anyway, see Security), and a member's subscription to '>'
// delays the detection to the timeout. A node that hangs (SIGSTOP) keeps
// its connection open, and is found out by the timeout.
//
// A device that its node does not know, because it has disconnected or
// because its ID was never made known to other nodes, is reported the same
// way, with ErrNoDevice. Devices are known to other nodes once registered,
// or once their ID has been sent in a link.
//
// # Ordering
//
// What one node asks of another (links, unlinks, shutdowns, kills) is
// handled there in the order it was asked, and before any later
// notification from the asking node. Links across nodes are asynchronous:
// Link returns once the request is on its way, so a remote device that
// disconnects before the link is made on its node is reported with
// ErrNoDevice rather than its own fault. Node.Ping waits until a node has
// handled everything sent to it before.
//
// # Node monitors
//
// Node.NodeLine gives a Line whose device stands for one incarnation of
// another node (Erlang's monitor_node): linked to, it fires exactly once,
// with FaultUnreachable, when the session with that incarnation ends, for
// any of the reasons above or this node's Close. Its ID is the node's,
// with a sequence number no device has (IsNodeLine); it runs no task and
// cannot be asked to shut down or be killed (ErrNodeLine). Config.OnNode is
// told of every session coming up and going down (NodeEvent), in order,
// on a goroutine of the node's (Erlang's net_kernel:monitor_nodes). Nodes
// connect lazily: a session opens when one node first sends another
// something, and closes at the first doubt; a node is up in between.
//
// # Remote start
//
// A node offers kinds of task by name (Node.RegisterKind); another node
// starts one there with Node.Spawn (Erlang's spawn_link on another node),
// with an argument of up to MaxArgLen bytes, and gets the Line of the
// device the task runs under. The task is linked to a device of the
// caller's in any mode before it runs: the node asked makes the device,
// tells the caller of its end whatever the mode, makes the half of the
// link in which the task watches the caller's device (Notify) on its own
// side, answers, and only then starts the task under Manage; the caller
// makes the half in which its device watches the task (Monitor) when the
// answer arrives, before it handles anything the node sent after. A task
// that ends at once is therefore still reported, with its own fault.
// Spawn fails with ErrUnknownKind, ErrUnknownNode (beside ctx's cause),
// ErrArgTooLarge, or ErrUnreachable if the node is closing or lost before
// it answers. The tasks a node started this way are its own: Close kills
// them and waits for them.
//
// # Supervision across nodes
//
// Node.RemoteChild makes a supervisor.ChildSpec whose task runs on another
// node (OTP's distributed applications, failover without takeover). At
// every start and restart a Placement chooses the node: Fixed for one
// node, RoundRobin for any of several in turn, InGroup for the nodes
// that have members in a group (Join), in turn, LeastLoaded for the one
// with the lowest Load (PlacedChildren, the children this node placed
// there, or a figure of your own); RoundRobin, InGroup and LeastLoaded
// pass by the nodes known down. The task is started there with Spawn, linked both
// ways to the child's device, which then stands for it: when the task's
// node dies, the child ends at once with a FaultCascade whose root is the
// task's FaultUnreachable, and the supervisor restarts it, by its strategy
// and intensity, on the node the Placement chooses then. A Placement that
// finds no node (ErrNoNode), like any failed Spawn, is a failed start. A
// supervisor that stops the child asks the task to shut down, and kills it
// on its node after the spec's grace. The supervisor runs in this process,
// and so does its restart intensity: if this node dies, so does the
// supervision (there is no takeover by another node).
//
// # Cluster-wide names
//
// Node.RegisterName gives a name to a device for the whole cluster
// (Erlang's global): the first registration of a name wins, on whichever
// node it is made, and the others fail with a *NameTakenError
// (ErrNameTaken) that names the holder. Node.WhereIs finds the holder
// without naming its node and returns a Line to it; Node.Names lists every
// name; Node.WatchName follows a name as its holder changes. A name is
// freed when its device disconnects, when its node becomes unreachable from
// any other node, or by Node.UnregisterName. Node.Register and Node.Lookup
// remain: a name per node, found by asking that node.
//
// # Groups
//
// Node.Join makes a device a member of a group (Erlang's pg), Node.Leave
// takes it out, Node.Members lists a group's members across the cluster as
// Lines, Node.Groups lists every group with its members' IDs, and
// Node.WatchGroup tells of members as they come and go. A device may be in
// many groups; joining a group twice is one membership. A member leaves
// when its device disconnects, and with its node when the node becomes
// unreachable from any other node.
//
// # The registry
//
// Names and groups live in one JetStream key-value bucket, the registry
// ("<cluster>_registry", a '.' of Config.Cluster written '_'), which NATS
// replicates and orders: consensus is JetStream's, not this package's. A
// registration or a join is a create-only write, so that of two nodes
// racing for a name exactly one succeeds; every delete is conditional on
// the revision read, so that two nodes freeing the names of the same dead
// node, or a node freeing a name re-registered meanwhile, undo nothing.
// Every node watches the whole bucket into a copy of its own, which
// answers WhereIs, Names, Members and Groups at once and feeds the
// watches; nodes agree once the bucket's updates have reached them all
// (normally within a round trip). A node opens a session with every node
// incarnation that holds a name or a membership, so that it sees that
// incarnation become unreachable, and then frees its entries.
//
// Groups use the registry too, rather than pg's broadcast of joins between
// nodes, on purpose. pg relies on Erlang's full mesh: every node connected
// to every other. Nodes here connect lazily and have no list of members to
// broadcast to; building one would take the discovery the registry already
// gives. One ordered log for names and groups gives one way to free the
// entries of a dead node, convergence by construction (every copy replays
// the same log), and one state to read (Groups) to check it; and it needs
// no new frame kinds in the wire format. The price: a join or a leave is a
// replicated write, which needs the bucket's quorum, where pg would accept
// it locally.
//
// Every embedded server runs JetStream for the registry, with streams in
// memory (a temporary directory holds JetStream's own state; Close removes
// it). A server with a route listener runs clustered JetStream, under the
// node's name as server name and Config.Cluster as cluster name; NATS
// elects a clustered JetStream leader only among two servers or more, so
// the registry of a routed cluster works once a second node has joined.
// The node that first uses the registry creates it with Config.Replicas
// copies (default 3, fewer if there are fewer JetStream servers then). An
// external NATS system (Config.URL) must have JetStream enabled for the
// node's account; without it, names and groups fail at first use with
// ErrNoRegistry.
//
// # Names and groups under partition
//
// On the side of a partition that holds a quorum of the registry's copies
// (and of JetStream's leaders), names and groups keep working, and the
// nodes there see the others' sessions end after Config.Timeout and free
// their names and members. On the other side, writes (RegisterName,
// UnregisterName, Join, Leave) fail with ErrNoRegistry when their ctx ends
// (every call on the registry whose ctx has no deadline is given one of 5
// seconds), while reads (WhereIs, Names, Members, Groups) answer from the
// node's copy: the last values it knew, which may name holders the other
// side has freed since, and miss what the other side registered since.
// The frees that side attempts fail;
// such a free is tried again only once the holder's incarnation is found
// unreachable anew: the node pings it every Config.Timeout, and a holder
// that answers, once the partition heals, keeps its entries. When the
// partition heals, every copy catches up with the registry: the nodes of
// the minority side learn that their names and memberships were freed
// (their watches are told), and nothing gives them back: register again,
// from a WatchName callback for instance.
//
// # Security
//
// Nobody outside the cluster gets in: a node admits only clients and
// routes that present the cluster's secret (Config.Secret), or per-node
// credentials (Config.Users, Config.Password); running without any takes
// Config.Insecure, and logs a warning. Every member is trusted as Erlang
// trusts a node that knows the cookie: it may look up, link to, shut down
// and kill any device other nodes may name, and start any task kind they
// registered. But no node speaks for another: a frame about a device is
// acted on only when it comes from that device's node, in its session; a
// Down about another node's device (or about a node itself), a Shutdown,
// Kill, Watch or Spawn in the name of one, or an answer to a lookup or a
// spawn sent to another node is dropped and counted (Stats.Forged). A shutdown or kill
// asked here on behalf of a device of a third node therefore reaches its
// target as a request from no device. SECURITY.md, at the root of the
// repository, states the threat model, the rules per frame, how to deploy
// across machines, and what is not protected.
package cluster
