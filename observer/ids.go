package observer

import (
	"cmp"
	"errors"
	"strconv"
	"strings"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/internal/bridge"
)

// idText is the ID of a device as the observer's JSON gives it: the
// backplane's own text ("#7"), and for a device on another node the node
// and its incarnation in hexadecimal, as backplane.NodeID prints them
// ("#7@db/5f3a9c"), so that two runs of a node never share an ID. The
// zero ID is "".
func idText(id backplane.DeviceID) string {
	if id.IsZero() {
		return ""
	}
	if !isRemote(id) {
		return id.String()
	}
	return "#" + strconv.FormatUint(id.Seq(), 10) + "@" + id.Node().String()
}

// errBadID is what ParseID returns for text that is not a device ID.
var errBadID = errors.New(`observer: bad device ID: want "#7", "7" or "#7@node/incarnation"`)

// ParseID parses a device ID as the observer's JSON gives it (see
// DeviceInfo.ID): "#7" or "7" for a device of this process, and
// "#7@db/5f3a9c" for device 7 of node db, incarnation 0x5f3a9c. It is the
// inverse of the IDs in a Snapshot.
func ParseID(s string) (backplane.DeviceID, error) {
	s = strings.TrimPrefix(s, "#")
	seqText, node, remote := strings.Cut(s, "@")
	seq, err := parseUint(seqText)
	if err != nil || seq == 0 {
		return backplane.DeviceID{}, errBadID
	}
	if !remote {
		return bridge.LocalID(seq), nil
	}
	i := strings.LastIndexByte(node, '/')
	if i <= 0 || i == len(node)-1 || len(node)-i-1 > 16 {
		return backplane.DeviceID{}, errBadID
	}
	inc, err := strconv.ParseUint(node[i+1:], 16, 64)
	if err != nil || strings.ContainsAny(node[i+1:], "+-_") {
		return backplane.DeviceID{}, errBadID
	}
	return bridge.RemoteID(backplane.NodeID{Name: node[:i], Incarnation: inc}, seq), nil
}

// compareIDs orders this process's devices first, by sequence number, then
// other nodes' devices by node name, incarnation and sequence number.
func compareIDs(a, b backplane.DeviceID) int {
	if isRemote(a) != isRemote(b) {
		if isRemote(a) {
			return 1
		}
		return -1
	}
	if isRemote(a) {
		na, nb := a.Node(), b.Node()
		if c := cmp.Compare(na.Name, nb.Name); c != 0 {
			return c
		}
		if c := cmp.Compare(na.Incarnation, nb.Incarnation); c != 0 {
			return c
		}
	}
	return cmp.Compare(a.Seq(), b.Seq())
}

// isRemote reports whether id names a device on another node.
func isRemote(id backplane.DeviceID) bool { return !id.Node().IsZero() }
