package backplane

import "fmt"

// LinkMode is the direction of a link, seen from the device that makes it.
//
// For a.Link(b, mode):
//   - Monitor: a watches b; a is told when b disconnects.
//   - Notify: b watches a; b is told when a disconnects.
//   - Peer: both.
//
// Modes add up: linking with Monitor and then with Notify gives Peer, and
// unlinking one mode removes just that direction.
type LinkMode uint8

// The link modes.
const (
	Monitor LinkMode = 1 << iota
	Notify
	Peer = Monitor | Notify
)

// String returns "monitor", "notify" or "peer".
func (m LinkMode) String() string {
	switch m {
	case Monitor:
		return "monitor"
	case Notify:
		return "notify"
	case Peer:
		return "peer"
	}
	return fmt.Sprintf("LinkMode(%d)", uint8(m))
}

// valid reports whether m is one of Monitor, Notify and Peer.
func (m LinkMode) valid() bool { return m != 0 && m&^Peer == 0 }

// flip returns m seen from the other end of the link.
func (m LinkMode) flip() LinkMode { return m&Monitor<<1 | m&Notify>>1 }
