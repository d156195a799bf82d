// Package transport carries wire frames between the nodes of a cluster over
// NATS, in sessions that either deliver every frame in order, exactly once,
// or end and say so.
//
// # Nodes and subjects
//
// A node is one Transport. It has a name, unique in the cluster, and an
// incarnation: a random non-zero number chosen at Start, so that a node
// restarted under the same name is a different peer (wire.Node). Each node
// subscribes to "<cluster>.node.<name>" on one NATS connection, and frames
// to a node are published there. The connection either goes to an external
// NATS server or cluster (Config.URL) or, by default, to a NATS server
// embedded in the Transport; embedded servers of several nodes join into a
// cluster through routes.
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
// live session opens one) or when the first frame of a new stream arrives.
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
// reverse stream. Acknowledgements are used only to open a stream; safety
// rests entirely on the receiver's sequence checks.
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
//   - a gap or an unexpected epoch shows that a frame was lost (ErrGap);
//   - the peer said Bye (ErrPeerBye);
//   - a frame from a newer incarnation of the peer's name arrives, or the
//     node now holding the peer's name rejects a frame addressed to the old
//     incarnation (ErrPeerRestarted);
//   - the NATS connection is lost or a slow consumer drops messages
//     (ErrConnLost, ErrSlowConsumer): there is no way to know which frames
//     were lost, so every session ends at once, without waiting for the
//     timeout;
//   - the Transport is closed (ErrClosed).
//
// The side that ends a session for any reason but a Bye, a restart or a
// lost connection sends a Bye (best effort) naming one of the session's
// stream epochs, so that the peer ends its side promptly rather than after
// its timeout. A Bye ends the live session one of whose streams has that
// epoch, and nothing else, so a late Bye from an old session never ends a
// new one.
//
// After a session ended, its received epoch is remembered as stale: later
// frames of it are counted (Stats.Rejected), dropped, and answered with a
// Bye naming that epoch, so that a peer that missed the end learns of it.
// A new session between the same two incarnations can then start, with new
// epochs, when either side sends again.
//
// # Incarnations
//
// Frames addressed to another incarnation of this node are rejected,
// counted, and answered with a Bye from the current incarnation naming the
// stream's epoch: the sender then knows at once that the incarnation it
// talks to is gone (ErrPeerRestarted), which is how a restarted node's peers
// learn fast. Incarnations are ordered by when they are first heard of: once
// a frame from B@new arrives, every other incarnation of B known so far is
// dead, its session ends, later frames from it are ignored, and Send to it
// fails at once.
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
