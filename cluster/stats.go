package cluster

// Stats are a node's counters, for monitoring. A frame dropped for any of
// the reasons counted here is also logged at level Debug (Config.Logger).
type Stats struct {
	FramesSent     uint64 // frames published, heartbeats included
	FramesReceived uint64 // frames accepted in sequence
	Malformed      uint64 // messages that could not be decoded, or too large
	Rejected       uint64 // frames dropped: stale sessions, dead incarnations, duplicates
	SessionsUp     uint64 // sessions started
	SessionsDown   uint64 // sessions ended

	// Forged counts frames dropped because their sender spoke for another
	// node: a From that is not the node that published the frame, a Down
	// about another node's device, a Shutdown, Kill or Watch on behalf of
	// one, a lookup answered by a node that was not asked. See SECURITY.md.
	Forged uint64
	// Unknown counts frames from a sender with no session that cannot open
	// one (anything but a proper Hello): dropped unanswered, leaving no
	// record.
	Unknown uint64
	// Dropped counts frames dropped under load: messages the NATS client
	// discarded because the node did not keep up, and Hellos refused while
	// too many sessions were half-open.
	Dropped uint64
	// Throttled counts frames outside any session (a session-less Lookup,
	// an answer to a stale stream) dropped because their budget was spent.
	Throttled uint64

	Proxies  int // remote devices (and node lines) with a local proxy now
	Exported int // local devices other nodes may name now
	Peers    int // peers watching local devices now
}

// Stats returns the node's counters. It is safe for concurrent use and
// cheap: it copies counters under the node's lock.
func (n *Node) Stats() Stats {
	ts := n.tr.Stats()
	n.mu.Lock()
	defer n.mu.Unlock()
	return Stats{
		FramesSent:     ts.FramesSent,
		FramesReceived: ts.FramesReceived,
		Malformed:      ts.Malformed,
		Rejected:       ts.Rejected,
		SessionsUp:     ts.SessionsUp,
		SessionsDown:   ts.SessionsDown,
		Forged:         ts.Forged + n.forged.Load(),
		Unknown:        ts.Unknown,
		Dropped:        ts.Dropped,
		Throttled:      ts.Throttled,
		Proxies:        n.proxies.len(),
		Exported:       len(n.exports),
		Peers:          len(n.peers),
	}
}
