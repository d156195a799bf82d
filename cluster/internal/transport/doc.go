// Package transport carries wire frames between the nodes of a cluster over
// NATS, in sessions that either deliver every frame in order, exactly once,
// or end and say so.
//
// # Nodes and subjects
//
// A node is one Transport. It has a name, unique in the cluster, and an
// incarnation: a random non-zero number chosen at Start, so that a node
// restarted under the same name is a different peer (wire.Node). Frames
// from node F to node T are published on "<cluster>.node.<T>.<F>", and
// each node subscribes to "<cluster>.node.<self>.*": the subject names the
// sender. Names are written in subjects as one token each, '.' replaced by
// '~' (which no name holds), so that no two pairs of names share a
// subject. A frame whose From names another node than its subject's sender
// token is dropped and counted (Stats.Forged). The connection either goes
// to an external NATS server or cluster (Config.URL) or, by default, to a
// NATS server embedded in the Transport; embedded servers of several nodes
// join into a cluster through routes.
//
// # Trust
//
// Who may publish is NATS's to decide, and the Transport configures it:
//
//   - By default the embedded server admits only clients that present the
//     cluster's secret (Config.Secret, generated when empty) as their
//     token, and only routes that present it as the password of RouteUser.
//     Every holder of the secret is trusted with every subject, as every
//     node holding the cookie is in Erlang's distribution: it can read all
//     frames and publish as any node.
//   - With per-node credentials (Config.Users), each node logs in as
//     itself and may publish only on "<cluster>.node.*.<self>" and
//     subscribe only to "<cluster>.node.<self>.*" (Permissions): it cannot
//     read other nodes' frames, and with the sender check above it cannot
//     speak for another node. Routes still authenticate with the secret, so
//     a node whose embedded server routes to others (and therefore holds
//     the secret) is trusted as under the shared secret; for full isolation
//     run NATS apart and give the nodes URL and their own passwords.
//   - Config.TLS encrypts and authenticates client and route links
//     between machines.
//   - Config.Insecure runs without credentials: anyone who reaches the
//     server is a node.
//
// Whoever may publish, a frame is acted on only within the rules below: a
// stranger who does not know a live session's epochs cannot end it, inject
// into it, or make the node remember more than the bounds of records.go,
// nor get answers beyond SessionlessRate, one reply per frame to a Hello,
// and the heartbeats of the sessions it opens itself. FuzzSession checks
// these rules with forged frames.
//
// Core NATS delivers at most once: a published message may be lost, for
// instance when the subscriber's interest has not yet propagated over the
// routes, when a connection breaks, or when a subscriber is slow. The
// transport never assumes delivery, and the reconnect buffer of the NATS
// client is disabled, so a frame published while disconnected fails at once
// instead of being sent later out of context.
//
// # Sessions and streams
//
// A session joins two incarnations, A@ia and B@ib. It consists of two
// streams, one per direction. A stream has an epoch, a random non-zero
// number chosen by its sender when the session starts, and numbers its
// frames 1, 2, 3, ... (Seq). Every sequenced frame also carries Ack, the
// highest Seq its sender has accepted on the reverse stream.
//
// A stream always opens with a Hello at Seq 1. The receiver accepts a stream
// it has never seen only if the frame is Seq 1, and then accepts only the
// exact next Seq of that epoch. A frame at or below the last accepted Seq is
// a duplicate and is dropped. Everything else — a missing Seq (a gap), a new
// epoch in the middle of a stream, a frame addressed to another incarnation —
// is doubt, and doubt ends the session: the receiver never delivers a frame
// out of order or twice, and never lets the sender believe that a frame it
// lost was delivered.
//
// A session starts when either side first sends (Send to a peer without a
// live session opens one) or when the Hello of a new stream arrives.
// Interest in a subject propagates between NATS servers asynchronously, so
// the first Hello may be published before the peer's subscription is known
// to the sender's server, and be lost. Therefore a Hello is retransmitted on
// every heartbeat tick, with the same epoch and Seq 1, until the peer
// acknowledges it (a frame on the reverse stream with Ack >= 1); duplicates
// are harmless because the receiver drops Seq 1 once accepted. Until then,
// the frames that Send accepts for the session are queued in order behind
// the Hello and carry Seq 2, 3, ...; they are published once the Hello is
// acknowledged. A node that accepts a new stream answers at once with its own
// Hello (carrying Ack 1), which acknowledges the peer's Hello and opens the
// reverse stream; it resends that Hello only when the peer resends its own
// (at most every half heartbeat), so that a stranger's Hello is answered
// once. At most MaxHalfOpen sessions opened by a peer's Hello may wait for
// their Hello to be acknowledged, each at most Config.Timeout; more Hellos
// are dropped (Stats.Dropped). Acknowledgements are used only to open a
// stream, and an Ack beyond what was sent is ignored; safety rests entirely
// on the receiver's sequence checks.
//
// A stream of a live session is never replaced by another: a Hello with a
// new epoch from the peer is dropped while the session lives. The peer
// that opens a new stream has ended its side, so it answers the next frame
// of ours with a Bye naming our epoch (below), which ends our side; its
// Hello, resent, then opens the new session.
//
// # Heartbeats and the end of a session
//
// On every live session each side sends a Heartbeat every Config.Heartbeat
// (when it has sent nothing else meanwhile). Heartbeats are sequenced like
// any other frame, so a lost heartbeat shows up as a gap at the next frame.
// A session ends, and Handler.Down reports it exactly once with a reason
// that errors.Is can tell apart, when:
//
//   - no frame of the session was heard for Config.Timeout (ErrTimeout);
//   - a gap in the sequence numbers shows that a frame was lost (ErrGap);
//   - the peer said Bye naming one of the session's epochs (ErrPeerBye);
//   - the node now holding the peer's name rejects a frame addressed to
//     the old incarnation (ErrPeerRestarted);
//   - the NATS connection is lost (ErrConnLost): frames published while
//     disconnected failed, and there is no way to know which frames were
//     lost, so every session ends at once, without waiting for the
//     timeout;
//   - a NATS server found no subscriber of the peer (ErrPeerGone): its
//     connection closed, because its process died or for any other
//     reason, or the route to its server did (below);
//   - the Transport is closed (ErrClosed).
//
// The side that ends a session for any reason but a Bye, a restart or a
// lost connection sends a Bye (best effort) naming one of the session's
// stream epochs, so that the peer ends its side promptly rather than after
// its timeout. A Bye ends the live session one of whose streams has that
// epoch, and nothing else, so a late Bye from an old session never ends a
// new one.
//
// After a session ended, its received epoch is remembered as stale (while
// the peer's record lasts, records.go): later frames of it are counted
// (Stats.Rejected), dropped, and answered with a Bye naming that epoch,
// within SessionlessRate, so that a peer that missed the end learns of it.
// A new session between the same two incarnations can then start, with new
// epochs, when either side sends again.
//
// # When a peer leaves NATS
//
// A peer's process that dies says no Bye, but its NATS connection closes
// (and with it, if the peer embedded the server it used, that server's
// routes), and the servers it was reachable through see it at once: they
// forget its subscription to its frames. Every node subscribes before it
// sends anything, and a server learns of a subscription before it passes
// on the frames published after it (they travel the same connection, or
// the same route), so a server that passed on the peer's Hello knows the
// peer's subscription until the peer's connection, or the route to the
// peer's server, closes: then the peer is dead, or cut off from this
// node's server and frames between them may have been lost, and either
// way the session must end.
//
// Every frame is published with this node's own subject
// ("<cluster>.node.<self>.<self>") as its reply subject, and a NATS server
// that finds no subscriber for a frame answers there at once with a "no
// responders" status naming the frame's subject. The answer is queued on
// this node's connection behind every frame the server had passed on from
// the peer, and when it comes out of the subscription, the session with
// that peer, if its Hello was accepted, ends with ErrPeerGone, without a
// Bye (nobody is there to read it), after every frame the peer sent
// before. So a node learns that a peer left at the next frame it sends it,
// a heartbeat at the latest; a Transport with an embedded server also
// looks every WatchInterval whether its server still knows the
// subscription of each live session's peer ("<cluster>.node.<peer>.<self>"),
// and sends a heartbeat at once to a peer it does not know: a dead peer is
// then found within milliseconds. Sessions whose Hello is not yet
// acknowledged are not ended this way, since the first Hello may go out
// before the peer's subscription has reached this node's server.
//
// The servers hold a subscription for the connection that made it, so
// nobody can take a peer's away; a client that adds one of its own to the
// peer's subject (a subscriber to '>', say) only delays the detection to
// the timeout. Under per-node credentials, only the node itself may
// publish on its own subject, so every "no responders" there is a
// server's. With the shared secret a member may publish a false one (as it
// may forge frames, see Trust); a Transport with an embedded server
// believes one only while its server knows no subscriber of the peer,
// and counts and drops the others (Stats.Rejected), and anything else on
// that subject is counted as malformed. A peer restarted under its name
// subscribes to the same subject again: a frame to the old incarnation
// then reaches the new one, which answers with a Bye (Incarnations,
// below); a "no responders" about its name ends only a live session,
// which is the old incarnation's, since a Hello from the new one is
// believed only once it has ended. A peer that hangs (SIGSTOP) or is cut
// off beyond the servers keeps its connection open: the timeout finds it.
//
// # Slow consumers
//
// The subscription has explicit pending limits (PendingMsgs,
// PendingBytes). When the Transport falls behind them, the NATS client
// drops incoming messages (Stats.Dropped) and no session is ended for it:
// every frame of a session is sequenced, heartbeats included, and a live
// session sends one at least every Config.Heartbeat, so a session that lost
// a frame sees the gap at its next frame and ends alone (ErrGap), or times
// out; sessions that lost nothing go on. Delivery stays exactly-once
// because the receiver accepts only the next Seq of a stream. Frames from
// senders without a session are dropped from their header alone, before
// decoding (Stats.Unknown), so that a flood from strangers costs little.
//
// # Incarnations
//
// Frames addressed to another incarnation of this node are rejected,
// counted, and answered (within SessionlessRate) with a Bye from the
// current incarnation naming the stream's epoch: the sender then knows at
// once that the incarnation it talks to is gone (ErrPeerRestarted), which
// is how a restarted node's peers learn fast. Any other frame from an
// incarnation without a session is dropped unanswered (Stats.Unknown), and
// a Hello from an incarnation is believed only while no other incarnation
// of its name has a live session: then every other incarnation of the name
// is dead, later frames from them are ignored, and Send to them fails at
// once. A live session with the old incarnation therefore ends by its own
// means: the node now holding the name answers our next frame to the old
// incarnation with a Bye, or the session times out. A session-less Lookup
// (To.Inc 0) is delivered within SessionlessRate.
//
// # Callbacks
//
// Handler callbacks are made from one goroutine per Transport, never
// concurrently and never while the Transport holds its locks, in the order
// the events were decided: every frame of a session is passed to Receive
// before the Down that ends it, and no frame of a session is passed to
// Receive after its Down. Callbacks may call Send, but not Close. A callback
// that blocks delays the processing of incoming frames; blocking longer than
// Config.Timeout ends sessions.
package transport
