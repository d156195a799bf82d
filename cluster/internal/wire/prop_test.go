package wire

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

// gen makes random valid frames.
type gen struct{ r *rand.Rand }

// u64 returns a non-zero integer whose size varies over all varint lengths.
func (g gen) u64() uint64 {
	v := g.r.Uint64() >> g.r.IntN(64)
	if v == 0 {
		v = 1
	}
	return v
}

// maybe returns g.u64() or 0.
func (g gen) maybe() uint64 {
	if g.r.IntN(3) == 0 {
		return 0
	}
	return g.u64()
}

func (g gen) bytes(maxLen int) []byte {
	n := 1 + g.r.IntN(maxLen)
	if g.r.IntN(20) == 0 {
		n = maxLen
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(g.r.Uint32())
	}
	return b
}

func (g gen) node() Node {
	names := []string{"alpha", "beta", "gamma"}
	if g.r.IntN(2) == 0 {
		return Node{Name: names[g.r.IntN(len(names))], Inc: g.u64()}
	}
	return Node{Name: string(g.bytes(MaxNameLen)), Inc: g.u64()}
}

func (g gen) device() Device { return Device{Node: g.node(), Seq: g.u64()} }

func (g gen) text(maxLen int) string {
	if g.r.IntN(2) == 0 {
		return ""
	}
	return string(g.bytes(1 + g.r.IntN(maxLen)))
}

func (g gen) fault(cascade bool) *Fault {
	ft := &Fault{Kind: uint8(1 + g.r.IntN(6))}
	for !cascade && ft.Kind == faultCascade {
		ft.Kind = uint8(1 + g.r.IntN(6))
	}
	ft.Text = g.text(200)
	if g.r.IntN(2) == 0 {
		ft.Stack = g.bytes(500)
	}
	if ft.Kind == faultCascade {
		ft.Device, ft.Root, ft.Cause = g.device(), g.device(), g.fault(false)
	}
	return ft
}

func (g gen) frame() *Frame {
	k := Kind(1 + g.r.IntN(int(KindSpawnReply)))
	r := rules[k]
	f := &Frame{Kind: k, From: g.node(), To: g.node(), Epoch: g.maybe(), Seq: g.maybe(), Ack: g.maybe()}
	if r.anyInc && g.r.IntN(2) == 0 {
		f.To.Inc = 0
	}
	want := func(m field) bool {
		return r.required&m != 0 || r.allowed&m != 0 && g.r.IntN(2) == 0
	}
	if want(fieldTarget) {
		f.Target = g.u64()
	}
	if want(fieldSource) {
		f.Source = g.device()
	}
	if want(fieldRef) {
		f.Ref = g.u64()
	}
	if want(fieldName) {
		f.Name = string(g.bytes(MaxNameLen))
	}
	if want(fieldReason) {
		f.Reason = string(g.bytes(300))
	}
	if want(fieldFault) {
		f.Fault = g.fault(true)
	}
	if want(fieldArg) {
		f.Arg = g.bytes(500)
	}
	if want(fieldMode) {
		f.Mode = uint8(1 + g.r.IntN(3))
	}
	if k == KindDown && g.r.IntN(3) == 0 {
		// A Down of several devices instead.
		f.Source, f.Fault, f.Reason = Device{}, nil, ""
		f.Downs = make([]Down, 1+g.r.IntN(20))
		for i := range f.Downs {
			f.Downs[i].Seq = g.u64()
			switch r := g.r.IntN(4); {
			case r < 2:
				f.Downs[i].Fault = g.fault(true)
			case r == 2 && i > 0:
				// Devices failing alike: the fault of the entry before.
				f.Downs[i].Fault = f.Downs[i-1].Fault
			}
		}
	}
	if k == KindSpawnReply {
		// Exactly one of Source and Reason.
		if f.Source.IsZero() && f.Reason == "" {
			f.Reason = "refused"
		} else if !f.Source.IsZero() && f.Reason != "" {
			f.Reason = ""
		}
	}
	return f
}

// TestProperty checks that random valid frames round-trip and re-encode to
// the same bytes, and that every strict prefix is rejected.
func TestProperty(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	g := gen{rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	n := 5000
	if testing.Short() {
		n = 500
	}
	var buf []byte
	for i := range n {
		f := g.frame()
		b, err := Append(buf[:0], f)
		if err != nil {
			t.Fatalf("seed %d frame %d: Append(%+v): %v", seed, i, f, err)
		}
		buf = b
		got, err := Decode(b)
		if err != nil {
			t.Fatalf("seed %d frame %d: Decode: %v", seed, i, err)
		}
		if !reflect.DeepEqual(got, f) {
			t.Fatalf("seed %d frame %d: Decode = %+v, want %+v", seed, i, got, f)
		}
		again, err := Append(nil, got)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("seed %d frame %d: re-encoding differs (%v)", seed, i, err)
		}
		if i%50 == 0 {
			for j := range b {
				if _, err := Decode(b[:j]); err == nil {
					t.Fatalf("seed %d frame %d: %d-byte prefix accepted", seed, i, j)
				}
			}
		}
	}
}
