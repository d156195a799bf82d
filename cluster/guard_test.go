package cluster

import (
	"testing"

	"github.com/backplane-go/backplane/cluster/internal/wire"
)

// The rules of forgery, kind by kind: what a peer may say about which
// devices in its own session.
func TestForgery(t *testing.T) {
	from := wire.Node{Name: "b", Inc: 2}
	own := wire.Device{Node: from, Seq: 5}
	other := wire.Device{Node: wire.Node{Name: "c", Inc: 3}, Seq: 5}
	oldSelf := wire.Device{Node: wire.Node{Name: "b", Inc: 1}, Seq: 5} // the sender's previous incarnation
	receiver := wire.Device{Node: wire.Node{Name: "a", Inc: 4}, Seq: 5}
	tests := []struct {
		kind   wire.Kind
		source wire.Device
		forged bool
	}{
		{wire.KindDown, own, false},
		{wire.KindDown, other, true},
		{wire.KindDown, oldSelf, true},
		{wire.KindDown, receiver, true},
		{wire.KindShutdown, wire.Device{}, false},
		{wire.KindShutdown, own, false},
		{wire.KindShutdown, other, true},
		{wire.KindShutdown, receiver, true},
		{wire.KindKill, wire.Device{}, false},
		{wire.KindKill, own, false},
		{wire.KindKill, other, true},
		{wire.KindKill, oldSelf, true},
		{wire.KindWatch, wire.Device{}, false},
		{wire.KindWatch, own, false},
		{wire.KindWatch, other, true},
		{wire.KindLookupReply, wire.Device{}, false},
		{wire.KindLookupReply, own, false},
		{wire.KindLookupReply, other, true},
		// A link between two remote devices names a third node's device.
		{wire.KindLink, own, false},
		{wire.KindLink, other, false},
		{wire.KindLink, receiver, false},
		{wire.KindUnlink, other, false},
		{wire.KindLookup, wire.Device{}, false},
		{wire.KindDown, wire.Device{Node: from, Seq: nodeSeq}, true}, // the node itself
		{wire.KindSpawn, own, false},
		{wire.KindSpawn, other, true},
		{wire.KindSpawn, receiver, true},
		{wire.KindSpawn, oldSelf, true},
		{wire.KindSpawnReply, wire.Device{}, false},
		{wire.KindSpawnReply, own, false},
		{wire.KindSpawnReply, other, true},
		{wire.KindSpawnReply, receiver, true},
	}
	for _, tt := range tests {
		f := &wire.Frame{Kind: tt.kind, From: from, To: receiver.Node, Target: 1, Source: tt.source}
		if why := forgery(f); (why != "") != tt.forged {
			t.Errorf("%v about %v from %v: forgery %q, want forged %v", tt.kind, tt.source, from, why, tt.forged)
		}
	}
}

// A Down of several devices names them by seq, on the sender: it is
// forged only if one of them is the sender's node line.
func TestForgeryDowns(t *testing.T) {
	from := wire.Node{Name: "b", Inc: 2}
	to := wire.Node{Name: "a", Inc: 4}
	for _, tt := range []struct {
		downs  []wire.Down
		forged bool
	}{
		{[]wire.Down{{Seq: 5}, {Seq: 6}}, false},
		{[]wire.Down{{Seq: 5}, {Seq: nodeSeq}}, true},
		{[]wire.Down{{Seq: nodeSeq}}, true},
	} {
		f := &wire.Frame{Kind: wire.KindDown, From: from, To: to, Downs: tt.downs}
		if why := forgery(f); (why != "") != tt.forged {
			t.Errorf("Down of %v from %v: forgery %q, want forged %v", tt.downs, from, why, tt.forged)
		}
	}
}

func TestAnswers(t *testing.T) {
	b1, b2 := wire.Node{Name: "b", Inc: 1}, wire.Node{Name: "b", Inc: 2}
	tests := []struct {
		asked, from wire.Node
		want        bool
	}{
		{wire.Node{Name: "b"}, b1, true}, // a Lookup: any incarnation
		{b1, b1, true},                   // a Ping: that incarnation
		{b1, b2, false},
		{wire.Node{Name: "b"}, wire.Node{Name: "c", Inc: 1}, false},
	}
	for _, tt := range tests {
		if got := answers(tt.asked, tt.from); got != tt.want {
			t.Errorf("answers(%v, %v) = %v, want %v", tt.asked, tt.from, got, tt.want)
		}
	}
}
