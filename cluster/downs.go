package cluster

import (
	"context"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/cluster/internal/wire"
)

// report tells the peer of the disconnections of the local devices it
// watches, until the session ends.
func (n *Node) report(p *peer) {
	defer n.wg.Done()
	n.reportDowns(p.watch, &downBatch{n: n, to: p.node, send: n.send})
}

// reportDowns sends a Down for every disconnection watch receives, until
// watch is disconnected. It waits for one, then takes whatever else is
// already queued, and sends them all in one Down frame (Frame.Downs): a
// burst costs one frame per batch, and a lone disconnection goes out at
// once, since nothing waits for more to come. A failed send means the
// session is over: Down then disconnects watch, which ends the loop.
func (n *Node) reportDowns(watch *backplane.Device, b *downBatch) {
	for {
		m, err := watch.Receive(context.Background())
		if err != nil {
			return
		}
		for {
			if m.Kind() == backplane.Disconnected {
				b.reserve(watch)
				if !b.add(m) {
					// m did not fit: send the batch, then start the next with m.
					b.flush()
					b.reserve(watch)
					b.add(m)
				}
			}
			var ok bool
			if m, ok = watch.TryReceive(); !ok {
				break
			}
		}
		b.flush()
	}
}

// downBudget is the most bytes of Downs entries in one frame: the rest of
// MaxFrameSize leaves room for the frame's header (two node names of at
// most 255 bytes, and varints).
const downBudget = wire.MaxFrameSize - 4096

// downBatch is the Down frame to one peer being filled by reportDowns.
type downBatch struct {
	n    *Node
	to   wire.Node
	send func(*wire.Frame) error

	downs []wire.Down
	size  int // bytes of downs encoded
	// last is the latest fault added and lastW its wire form, which the
	// next entry shares if it encodes alike (downBatch.fault).
	last  *backplane.Fault
	lastW *wire.Fault
	// frame is the frame handed to send, reused: send does not retain
	// it (Transport.Send copies what it queues), and a frame on the
	// stack would escape through the func value.
	frame wire.Frame
}

// reserve makes room in an empty batch for what is queued on watch, up to
// MaxDowns, so that a batch is one allocation rather than a series of
// them as it grows.
func (b *downBatch) reserve(watch *backplane.Device) {
	if len(b.downs) != 0 {
		return
	}
	if n := min(watch.Pending()+1, wire.MaxDowns); cap(b.downs) < n {
		b.downs = make([]wire.Down, 0, n)
	}
}

// add adds m, a Disconnected, to b, and reports false if b is full. A
// device of another node (not expected: a peer watches this node's
// devices) goes alone in a frame of its own, as before batching.
func (b *downBatch) add(m backplane.Message) bool {
	src := b.n.wireID(m.From())
	if src.Node != b.n.self {
		b.flush()
		b.frame = wire.Frame{Kind: wire.KindDown, To: b.to, Source: src, Fault: b.n.wireFault(m.Fault())}
		_ = b.send(&b.frame)
		return true
	}
	var prev *wire.Fault
	if len(b.downs) > 0 {
		prev = b.downs[len(b.downs)-1].Fault
	}
	d := wire.Down{Seq: src.Seq, Fault: b.fault(m.Fault())}
	size := d.Len(prev)
	if len(b.downs) > 0 && (len(b.downs) == wire.MaxDowns || b.size+size > downBudget) {
		return false
	}
	b.downs = append(b.downs, d)
	b.size += size
	return true
}

// fault returns the wire form of f, for an entry of the batch: the
// previous entry's if f is its fault, or an error of the same text (as when
// devices fail alike, each with a Fault of its own). Entries share it: the
// transport only reads a frame.
func (b *downBatch) fault(f *backplane.Fault) *wire.Fault {
	switch {
	case f == nil:
		return nil
	case f == b.last:
		return b.lastW
	}
	var w *wire.Fault
	if l := b.lastW; f.Kind == backplane.FaultError && f.Err != nil && l != nil && l.Kind == uint8(backplane.FaultError) && l.Stack == nil {
		if text := clip(f.Err.Error(), wire.MaxTextLen); text == l.Text {
			w = l
		} else {
			w = &wire.Fault{Kind: uint8(backplane.FaultError), Text: text}
		}
	} else {
		w = b.n.wireFault(f)
	}
	b.last, b.lastW = f, w
	return w
}

// flush sends the batch, if not empty, and empties it: a batch of one as
// a Down frame with Source, a larger one as a frame with Downs. It forgets
// the exports of the batch's devices first (forgetDowns).
func (b *downBatch) flush() {
	if len(b.downs) == 0 {
		return
	}
	// The devices are forgotten before the peer can hear of their end: a
	// peer told may find them gone here.
	b.n.forgetDowns(b.downs)
	switch len(b.downs) {
	case 1:
		d := b.downs[0]
		b.downs[0] = wire.Down{}
		b.downs, b.size = b.downs[:0], 0 // not in the frame: kept for the next batch
		b.frame = wire.Frame{Kind: wire.KindDown, To: b.to, Source: wire.Device{Node: b.n.self, Seq: d.Seq}, Fault: d.Fault}
		_ = b.send(&b.frame)
	default:
		// The transport may queue the frame, so its Downs are not reused.
		downs := b.downs
		b.downs, b.size = nil, 0
		b.frame = wire.Frame{Kind: wire.KindDown, To: b.to, Downs: downs}
		_ = b.send(&b.frame)
	}
	b.frame = wire.Frame{}
	b.last, b.lastW = nil, nil
}
