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

	// Forged counts frames of live sessions dropped because their sender
	// spoke for a device of another node: a Down about another node's
	// device, a Shutdown, Kill or Watch on behalf of one, a lookup answered
	// by a node that was not asked. See SECURITY.md.
	Forged uint64

	Proxies  int // remote devices with a local proxy now
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
		Forged:         n.forged.Load(),
		Proxies:        len(n.proxies),
		Exported:       len(n.exports),
		Peers:          len(n.peers),
	}
}
