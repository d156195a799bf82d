package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

var (
	nodeA = Node{Name: "alpha", Inc: 1717171717}
	nodeB = Node{Name: "beta", Inc: 42}
	nodeC = Node{Name: "gamma", Inc: 7}
	devA  = Device{Node: nodeA, Seq: 3}
	devC  = Device{Node: nodeC, Seq: 1 << 40}
)

// header returns a frame of kind k from nodeA to nodeB with transport
// fields set.
func header(k Kind) Frame {
	return Frame{Kind: k, From: nodeA, To: nodeB, Epoch: 9, Seq: 300, Ack: 299}
}

func cascadeFault() *Fault {
	return &Fault{
		Kind:   faultCascade,
		Text:   "cascade: boom",
		Device: devC,
		Root:   Device{Node: nodeB, Seq: 12},
		Cause:  &Fault{Kind: faultPanic, Text: "boom", Stack: []byte("goroutine 7 [running]:\nmain.main()\n")},
	}
}

type frameCase struct {
	name string
	f    Frame
}

// validFrames returns a frame of every kind, with and without each of its
// optional fields.
func validFrames() []frameCase {
	with := func(k Kind, set func(*Frame)) Frame {
		f := header(k)
		if set != nil {
			set(&f)
		}
		return f
	}
	return []frameCase{
		{"hello", with(KindHello, nil)},
		{"hello to unknown incarnation", with(KindHello, func(f *Frame) { f.To.Inc = 0 })},
		{"hello all zero transport fields", Frame{Kind: KindHello, From: nodeA, To: Node{Name: "b"}}},
		{"heartbeat", with(KindHeartbeat, nil)},
		{"heartbeat max varints", with(KindHeartbeat, func(f *Frame) { f.Epoch, f.Seq, f.Ack = ^uint64(0), ^uint64(0), ^uint64(0) })},
		{"bye", with(KindBye, nil)},
		{"bye with reason", with(KindBye, func(f *Frame) { f.Reason = "shutting down" })},
		{"watch", with(KindWatch, func(f *Frame) { f.Target = 5 })},
		{"watch with watcher", with(KindWatch, func(f *Frame) { f.Target = 5; f.Source = devA })},
		{"down clean", with(KindDown, func(f *Frame) { f.Source = devA })},
		{"down no such device", with(KindDown, func(f *Frame) { f.Source = devA; f.Reason = "no such device" })},
		{"down error", with(KindDown, func(f *Frame) { f.Source = devA; f.Fault = &Fault{Kind: faultError, Text: "EOF"} })},
		{"down drop", with(KindDown, func(f *Frame) { f.Source = devA; f.Fault = &Fault{Kind: faultDrop} })},
		{"down killed", with(KindDown, func(f *Frame) { f.Source = devA; f.Fault = &Fault{Kind: faultKilled, Text: "deadline"} })},
		{"down unreachable", with(KindDown, func(f *Frame) { f.Source = devA; f.Fault = &Fault{Kind: faultUnreachable} })},
		{"down panic", with(KindDown, func(f *Frame) {
			f.Source = devA
			f.Fault = &Fault{Kind: faultPanic, Text: "nil map", Stack: []byte("stack")}
		})},
		{"down cascade", with(KindDown, func(f *Frame) { f.Source = devA; f.Fault = cascadeFault() })},
		{"downs one", with(KindDown, func(f *Frame) { f.Downs = []Down{{Seq: 1}} })},
		{"downs mixed", with(KindDown, func(f *Frame) {
			f.Downs = []Down{
				{Seq: 3},
				{Seq: 1 << 40, Fault: &Fault{Kind: faultError, Text: "EOF"}},
				{Seq: 4, Fault: cascadeFault()},
				{Seq: 3, Fault: &Fault{Kind: faultPanic, Text: "nil map", Stack: []byte("stack")}},
				{Seq: 127, Fault: &Fault{Kind: faultDrop}},
			}
		})},
		{"downs max", with(KindDown, func(f *Frame) {
			f.Downs = make([]Down, MaxDowns)
			for i := range f.Downs {
				f.Downs[i] = Down{Seq: uint64(i + 1), Fault: &Fault{Kind: faultError, Text: "bench: device failed"}}
			}
		})},
		{"link", with(KindLink, func(f *Frame) { f.Target = 1; f.Source = devC })},
		{"unlink", with(KindUnlink, func(f *Frame) { f.Target = 1; f.Source = devC })},
		{"down cascade from elsewhere", with(KindDown, func(f *Frame) { f.Source = devC; f.Fault = cascadeFault() })},
		{"down cascade bare", with(KindDown, func(f *Frame) {
			f.Source = devC
			f.Fault = &Fault{Kind: faultCascade, Device: devA, Root: devA, Cause: &Fault{Kind: faultDrop}}
		})},
		{"shutdown", with(KindShutdown, func(f *Frame) { f.Target = 8 })},
		{"shutdown from device", with(KindShutdown, func(f *Frame) { f.Target = 8; f.Source = devA })},
		{"kill", with(KindKill, func(f *Frame) { f.Target = 8 })},
		{"kill with reason", with(KindKill, func(f *Frame) { f.Target = 8; f.Source = devA; f.Reason = "timeout" })},
		{"lookup", with(KindLookup, func(f *Frame) { f.Ref = 77; f.Name = "db" })},
		{"lookup to unknown incarnation", with(KindLookup, func(f *Frame) { f.To.Inc = 0; f.Ref = 1; f.Name = strings.Repeat("n", MaxNameLen) })},
		{"lookup reply found", with(KindLookupReply, func(f *Frame) { f.Ref = 77; f.Source = devA })},
		{"lookup reply not found", with(KindLookupReply, func(f *Frame) { f.Ref = 77 })},
		{"spawn", with(KindSpawn, func(f *Frame) { f.Ref = 5; f.Name = "worker"; f.Source = devA; f.Mode = 1 })},
		{"spawn with arg", with(KindSpawn, func(f *Frame) { f.Ref = 5; f.Name = "worker"; f.Source = devA; f.Mode = 3; f.Arg = []byte("job 7") })},
		{"spawn max arg", with(KindSpawn, func(f *Frame) {
			f.Ref = 5
			f.Name = "w"
			f.Source = devA
			f.Mode = 2
			f.Arg = bytes.Repeat([]byte("a"), MaxArgLen)
		})},
		{"spawn reply started", with(KindSpawnReply, func(f *Frame) { f.Ref = 5; f.Source = devA })},
		{"spawn reply refused", with(KindSpawnReply, func(f *Frame) { f.Ref = 5; f.Reason = "unknown kind" })},
		{"max sizes", with(KindKill, func(f *Frame) {
			f.From.Name = strings.Repeat("f", MaxNameLen)
			f.To.Name = strings.Repeat("t", MaxNameLen)
			f.Target = 1
			f.Reason = strings.Repeat("r", MaxTextLen)
		})},
		{"max fault", with(KindDown, func(f *Frame) {
			f.Source = devA
			f.Fault = cascadeFault()
			f.Fault.Text = strings.Repeat("x", MaxTextLen)
			f.Fault.Cause.Text = strings.Repeat("y", MaxTextLen)
			f.Fault.Cause.Stack = bytes.Repeat([]byte("z"), MaxStackLen)
		})},
	}
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range validFrames() {
		t.Run(tc.name, func(t *testing.T) {
			prefix := []byte("prefix")
			b, err := Append(prefix, &tc.f)
			if err != nil {
				t.Fatalf("Append: %v", err)
			}
			if !bytes.HasPrefix(b, prefix) {
				t.Fatalf("Append did not keep dst")
			}
			b = b[len(prefix):]
			got, err := Decode(b)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(got, &tc.f) {
				t.Fatalf("Decode = %+v, want %+v", got, tc.f)
			}
			again, err := Append(nil, got)
			if err != nil || !bytes.Equal(again, b) {
				t.Fatalf("re-encoding = %x, %v; want %x", again, err, b)
			}
		})
	}
}

// reencode encodes f and decodes it again.
func reencode(t *testing.T, f *Frame) *Frame {
	t.Helper()
	b, err := Append(nil, f)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestEmptyStack: an empty stack is not encoded, so it decodes as nil.
func TestEmptyStack(t *testing.T) {
	f := header(KindDown)
	f.Source = devA
	f.Fault = &Fault{Kind: faultPanic, Stack: []byte{}}
	got := reencode(t, &f)
	if got.Fault.Stack != nil {
		t.Fatalf("Stack = %q, want nil", got.Fault.Stack)
	}
}

// TestDecodeCopies: the decoded frame does not alias its input.
func TestDecodeCopies(t *testing.T) {
	f := header(KindDown)
	f.Source = devA
	f.Fault = &Fault{Kind: faultPanic, Text: "p", Stack: []byte("stack")}
	b, _ := Append(nil, &f)
	got, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = 0
	}
	if !reflect.DeepEqual(got, &f) {
		t.Fatalf("decoded frame changed with its input: %+v", got)
	}
}

type invalidCase struct {
	name string
	want error
	f    Frame
	// encodeOnly: the mistake cannot be expressed in the format, so only
	// Append can be tested.
	encodeOnly bool
}

// invalidFrames breaks each rule once.
func invalidFrames() []invalidCase {
	with := func(k Kind, set func(*Frame)) Frame {
		f := header(k)
		set(&f)
		return f
	}
	down := func(ft *Fault) Frame {
		return with(KindDown, func(f *Frame) { f.Source = devA; f.Fault = ft })
	}
	cascade := func(set func(*Fault)) Frame {
		ft := cascadeFault()
		set(ft)
		return down(ft)
	}
	long := strings.Repeat("l", MaxNameLen+1)
	return []invalidCase{
		{name: "kind 0", want: ErrMalformed, f: with(0, func(*Frame) {})},
		{name: "kind 11", want: ErrMalformed, f: with(KindLookupReply+1, func(*Frame) {})},
		{name: "kind 14", want: ErrMalformed, f: with(KindSpawnReply+1, func(*Frame) {})},
		{name: "spawn without ref", want: ErrMalformed, f: with(KindSpawn, func(f *Frame) { f.Name = "w"; f.Source = devA; f.Mode = 1 })},
		{name: "spawn without name", want: ErrMalformed, f: with(KindSpawn, func(f *Frame) { f.Ref = 1; f.Source = devA; f.Mode = 1 })},
		{name: "spawn without source", want: ErrMalformed, f: with(KindSpawn, func(f *Frame) { f.Ref = 1; f.Name = "w"; f.Mode = 1 })},
		{name: "spawn without mode", want: ErrMalformed, f: with(KindSpawn, func(f *Frame) { f.Ref = 1; f.Name = "w"; f.Source = devA })},
		{name: "spawn mode 4", want: ErrMalformed, f: with(KindSpawn, func(f *Frame) { f.Ref = 1; f.Name = "w"; f.Source = devA; f.Mode = 4 })},
		{name: "spawn arg too long", want: ErrTooLarge, f: with(KindSpawn, func(f *Frame) {
			f.Ref = 1
			f.Name = "w"
			f.Source = devA
			f.Mode = 1
			f.Arg = make([]byte, MaxArgLen+1)
		})},
		{name: "spawn with target", want: ErrMalformed, f: with(KindSpawn, func(f *Frame) { f.Ref = 1; f.Name = "w"; f.Source = devA; f.Mode = 1; f.Target = 1 })},
		{name: "spawn reply empty", want: ErrMalformed, f: with(KindSpawnReply, func(f *Frame) { f.Ref = 1 })},
		{name: "spawn reply both", want: ErrMalformed, f: with(KindSpawnReply, func(f *Frame) { f.Ref = 1; f.Source = devA; f.Reason = "x" })},
		{name: "spawn reply with arg", want: ErrMalformed, f: with(KindSpawnReply, func(f *Frame) { f.Ref = 1; f.Source = devA; f.Arg = []byte("x") })},
		{name: "lookup with mode", want: ErrMalformed, f: with(KindLookup, func(f *Frame) { f.Ref = 1; f.Name = "db"; f.Mode = 1 })},
		{name: "from without name", want: ErrMalformed, f: with(KindHello, func(f *Frame) { f.From.Name = "" })},
		{name: "from without incarnation", want: ErrMalformed, f: with(KindHello, func(f *Frame) { f.From.Inc = 0 })},
		{name: "from name too long", want: ErrTooLarge, f: with(KindHello, func(f *Frame) { f.From.Name = long })},
		{name: "to without name", want: ErrMalformed, f: with(KindHello, func(f *Frame) { f.To = Node{} })},
		{name: "to name too long", want: ErrTooLarge, f: with(KindHello, func(f *Frame) { f.To.Name = long })},
		{name: "to without incarnation", want: ErrMalformed, f: with(KindWatch, func(f *Frame) { f.Target = 1; f.To.Inc = 0 })},
		{name: "heartbeat to without incarnation", want: ErrMalformed, f: with(KindHeartbeat, func(f *Frame) { f.To.Inc = 0 })},
		{name: "hello with target", want: ErrMalformed, f: with(KindHello, func(f *Frame) { f.Target = 1 })},
		{name: "heartbeat with reason", want: ErrMalformed, f: with(KindHeartbeat, func(f *Frame) { f.Reason = "x" })},
		{name: "bye with fault", want: ErrMalformed, f: with(KindBye, func(f *Frame) { f.Fault = &Fault{Kind: faultDrop} })},
		{name: "watch without target", want: ErrMalformed, f: with(KindWatch, func(f *Frame) { f.Source = devA })},
		{name: "watch with fault", want: ErrMalformed, f: with(KindWatch, func(f *Frame) { f.Target = 1; f.Fault = &Fault{Kind: faultDrop} })},
		{name: "down without source", want: ErrMalformed, f: with(KindDown, func(f *Frame) { f.Reason = "x" })},
		{name: "down with target", want: ErrMalformed, f: with(KindDown, func(f *Frame) { f.Source = devA; f.Target = 1 })},
		{name: "link without target", want: ErrMalformed, f: with(KindLink, func(f *Frame) { f.Source = devA })},
		{name: "link without source", want: ErrMalformed, f: with(KindLink, func(f *Frame) { f.Target = 1 })},
		{name: "link with reason", want: ErrMalformed, f: with(KindLink, func(f *Frame) { f.Target = 1; f.Source = devA; f.Reason = "x" })},
		{name: "link with fault", want: ErrMalformed, f: with(KindLink, func(f *Frame) { f.Target = 1; f.Source = devA; f.Fault = cascadeFault() })},
		{name: "unlink without source", want: ErrMalformed, f: with(KindUnlink, func(f *Frame) { f.Target = 1 })},
		{name: "shutdown without target", want: ErrMalformed, f: with(KindShutdown, func(f *Frame) { f.Source = devA })},
		{name: "shutdown with reason", want: ErrMalformed, f: with(KindShutdown, func(f *Frame) { f.Target = 1; f.Reason = "x" })},
		{name: "kill without target", want: ErrMalformed, f: with(KindKill, func(f *Frame) { f.Reason = "x" })},
		{name: "kill with fault", want: ErrMalformed, f: with(KindKill, func(f *Frame) { f.Target = 1; f.Fault = &Fault{Kind: faultKilled} })},
		{name: "lookup without ref", want: ErrMalformed, f: with(KindLookup, func(f *Frame) { f.Name = "db" })},
		{name: "lookup without name", want: ErrMalformed, f: with(KindLookup, func(f *Frame) { f.Ref = 1 })},
		{name: "lookup name too long", want: ErrTooLarge, f: with(KindLookup, func(f *Frame) { f.Ref = 1; f.Name = long })},
		{name: "lookup with source", want: ErrMalformed, f: with(KindLookup, func(f *Frame) { f.Ref = 1; f.Name = "db"; f.Source = devA })},
		{name: "lookup reply without ref", want: ErrMalformed, f: with(KindLookupReply, func(f *Frame) { f.Source = devA })},
		{name: "lookup reply with name", want: ErrMalformed, f: with(KindLookupReply, func(f *Frame) { f.Ref = 1; f.Name = "db" })},
		{name: "source without seq", want: ErrMalformed, f: with(KindDown, func(f *Frame) { f.Source = Device{Node: nodeA} })},
		{name: "source without incarnation", want: ErrMalformed, f: with(KindDown, func(f *Frame) { f.Source = Device{Node: Node{Name: "a"}, Seq: 1} })},
		{name: "source without name", want: ErrMalformed, f: with(KindDown, func(f *Frame) { f.Source = Device{Node: Node{Inc: 1}, Seq: 1} })},
		{name: "source name too long", want: ErrTooLarge, f: with(KindDown, func(f *Frame) { f.Source = Device{Node: Node{Name: long, Inc: 1}, Seq: 1} })},
		{name: "reason too long", want: ErrTooLarge, f: with(KindBye, func(f *Frame) { f.Reason = strings.Repeat("r", MaxTextLen+1) })},
		{name: "fault kind 0", want: ErrMalformed, f: down(&Fault{Kind: 0})},
		{name: "fault kind 7", want: ErrMalformed, f: down(&Fault{Kind: 7})},
		{name: "fault text too long", want: ErrTooLarge, f: down(&Fault{Kind: faultError, Text: strings.Repeat("t", MaxTextLen+1)})},
		{name: "fault stack too long", want: ErrTooLarge, f: down(&Fault{Kind: faultPanic, Stack: make([]byte, MaxStackLen+1)})},
		{name: "error with device", want: ErrMalformed, f: down(&Fault{Kind: faultError, Device: devA}), encodeOnly: true},
		{name: "error with root", want: ErrMalformed, f: down(&Fault{Kind: faultError, Root: devA}), encodeOnly: true},
		{name: "error with cause", want: ErrMalformed, f: down(&Fault{Kind: faultError, Cause: &Fault{Kind: faultDrop}}), encodeOnly: true},
		{name: "cascade without device", want: ErrMalformed, f: cascade(func(ft *Fault) { ft.Device = Device{} })},
		{name: "cascade device without seq", want: ErrMalformed, f: cascade(func(ft *Fault) { ft.Device.Seq = 0 })},
		{name: "cascade without root", want: ErrMalformed, f: cascade(func(ft *Fault) { ft.Root = Device{} })},
		{name: "cascade root without incarnation", want: ErrMalformed, f: cascade(func(ft *Fault) { ft.Root.Node.Inc = 0 })},
		{name: "cascade without cause", want: ErrMalformed, f: cascade(func(ft *Fault) { ft.Cause = nil }), encodeOnly: true},
		{name: "cascade caused by cascade", want: ErrMalformed, f: cascade(func(ft *Fault) { ft.Cause = cascadeFault() })},
		{name: "cascade cause of kind 9", want: ErrMalformed, f: cascade(func(ft *Fault) { ft.Cause.Kind = 9 })},
		{name: "cascade cause stack too long", want: ErrTooLarge, f: cascade(func(ft *Fault) { ft.Cause.Stack = make([]byte, MaxStackLen+1) })},
		{name: "downs with source", want: ErrMalformed, f: with(KindDown, func(f *Frame) { f.Source = devA; f.Downs = []Down{{Seq: 1}} })},
		{name: "downs with fault", want: ErrMalformed, f: with(KindDown, func(f *Frame) { f.Fault = &Fault{Kind: faultDrop}; f.Downs = []Down{{Seq: 1}} })},
		{name: "downs with reason", want: ErrMalformed, f: with(KindDown, func(f *Frame) { f.Reason = "x"; f.Downs = []Down{{Seq: 1}} })},
		{name: "downs on a watch", want: ErrMalformed, f: with(KindWatch, func(f *Frame) { f.Target = 1; f.Downs = []Down{{Seq: 1}} })},
		{name: "downs entry without seq", want: ErrMalformed, f: with(KindDown, func(f *Frame) { f.Downs = []Down{{Seq: 1}, {}} })},
		{name: "downs entry fault kind 0", want: ErrMalformed, f: with(KindDown, func(f *Frame) { f.Downs = []Down{{Seq: 1, Fault: &Fault{}}} }), encodeOnly: true},
		{name: "downs entry bad cascade", want: ErrMalformed, f: with(KindDown, func(f *Frame) {
			ft := cascadeFault()
			ft.Cause = nil
			f.Downs = []Down{{Seq: 1, Fault: ft}}
		}), encodeOnly: true},
		{name: "downs over MaxDowns", want: ErrTooLarge, f: with(KindDown, func(f *Frame) { f.Downs = make([]Down, MaxDowns+1) }), encodeOnly: true},
		{name: "downs over MaxFrameSize", want: ErrTooLarge, f: with(KindDown, func(f *Frame) {
			f.Downs = make([]Down, 20)
			for i := range f.Downs {
				// Each its own text: a fault equal to the one before takes a byte.
				f.Downs[i] = Down{Seq: 1, Fault: &Fault{Kind: faultPanic, Text: fmt.Sprintf("%d%s", i, strings.Repeat("t", MaxTextLen-2)), Stack: make([]byte, MaxStackLen)}}
			}
		}), encodeOnly: true},
	}
}

// TestInvalid checks that Append refuses each invalid frame and that
// Decode refuses its encoding, with the same sentinel.
func TestInvalid(t *testing.T) {
	for _, tc := range invalidFrames() {
		t.Run(tc.name, func(t *testing.T) {
			dst := []byte("dst")
			b, err := Append(dst, &tc.f)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Append error = %v, want %v", err, tc.want)
			}
			if string(b) != "dst" {
				t.Fatalf("Append returned %q, want dst unchanged", b)
			}
			if tc.encodeOnly {
				return
			}
			raw := appendFrame(nil, &tc.f, tc.f.present())
			if f, err := Decode(raw); !errors.Is(err, tc.want) {
				t.Fatalf("Decode(%x) = %+v, %v; want %v", raw, f, err, tc.want)
			}
		})
	}
}

func TestAppendNil(t *testing.T) {
	if _, err := Append(nil, nil); !errors.Is(err, ErrMalformed) {
		t.Fatalf("Append(nil) error = %v, want ErrMalformed", err)
	}
}

// enc builds raw frames by hand.
type enc []byte

func (e enc) u(v uint64) enc    { return binary.AppendUvarint(e, v) }
func (e enc) s(s string) enc    { return append(e.u(uint64(len(s))), s...) }
func (e enc) raw(b ...byte) enc { return append(e, b...) }
func (e enc) node(n Node) enc   { return e.s(n.Name).u(n.Inc) }
func (e enc) dev(d Device) enc  { return e.node(d.Node).u(d.Seq) }
func (e enc) hdr(k Kind, m field) enc {
	return e.raw('B', 'P', Version, byte(k), byte(m), byte(m>>8)).node(nodeA).node(nodeB).u(9).u(300).u(299)
}

func TestDecodeInvalid(t *testing.T) {
	var e enc
	hello := e.hdr(KindHello, 0)
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"magic only", []byte("BP"), ErrMalformed},
		{"bad magic", append([]byte("XP"), hello[2:]...), ErrMalformed},
		{"version 0", append([]byte{'B', 'P', 0}, hello[3:]...), ErrVersion},
		{"version 1", append([]byte{'B', 'P', 1}, hello[3:]...), ErrVersion},
		{"version 1 layout", append([]byte{'B', 'P', 1}, append(hello[3:5:5], hello[6:]...)...), ErrVersion},
		{"version 3", append([]byte{'B', 'P', 3}, hello[3:]...), ErrVersion},
		{"version 3 truncated", []byte{'B', 'P', 3}, ErrVersion},
		{"version 255 junk", []byte{'B', 'P', 255, 0xff, 0xff, 0xff}, ErrVersion},
		{"too large", append(append([]byte(nil), hello...), make([]byte, MaxFrameSize)...), ErrTooLarge},
		{"no kind", []byte{'B', 'P', Version}, ErrMalformed},
		{"unknown kind", e.raw('B', 'P', Version, 200, 0, 0).node(nodeA).node(nodeB).u(0).u(0).u(0), ErrMalformed},
		{"arg bit without arg", e.hdr(KindHello, fieldArg), ErrMalformed},
		{"mode bit without mode", e.hdr(KindHello, fieldMode), ErrMalformed},
		{"hello with a mode", e.hdr(KindHello, fieldMode).raw(1), ErrMalformed},
		{"trailing byte", append(append([]byte(nil), hello...), 0), ErrMalformed},
		{"overlong varint", e.raw('B', 'P', Version, byte(KindHello), 0, 0).node(nodeA).node(nodeB).raw(0x80, 0x00).u(0).u(0), ErrMalformed},
		{"overlong zero-padded varint", e.raw('B', 'P', Version, byte(KindHello), 0, 0).node(nodeA).node(nodeB).raw(0x85, 0x80, 0x00).u(0).u(0), ErrMalformed},
		{"overflowing varint", e.raw('B', 'P', Version, byte(KindHello), 0, 0).node(nodeA).node(nodeB).raw(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02).u(0).u(0), ErrMalformed},
		{"eleven-byte varint", e.raw('B', 'P', Version, byte(KindHello), 0, 0).node(nodeA).node(nodeB).raw(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01).u(0).u(0), ErrMalformed},
		{"overlong name length", e.raw('B', 'P', Version, byte(KindHello), 0, 0).raw(0x81, 0x00, 'a').u(1).node(nodeB).u(0).u(0).u(0), ErrMalformed},
		{"empty from name", e.raw('B', 'P', Version, byte(KindHello), 0, 0).s("").u(1).node(nodeB).u(0).u(0).u(0), ErrMalformed},
		{"hostile name length", e.raw('B', 'P', Version, byte(KindHello), 0, 0).u(1 << 62), ErrTooLarge},
		{"name length past end", e.raw('B', 'P', Version, byte(KindHello), 0, 0).u(200).raw('a'), ErrMalformed},
		{"target present but zero", e.hdr(KindWatch, fieldTarget).u(0), ErrMalformed},
		{"ref present but zero", e.hdr(KindLookupReply, fieldRef).u(0), ErrMalformed},
		{"source present but zero", e.hdr(KindLookupReply, fieldRef|fieldSource).dev(Device{}).u(1), ErrMalformed},
		{"name present but empty", e.hdr(KindLookup, fieldRef|fieldName).u(1).s(""), ErrMalformed},
		{"mode present but zero", e.hdr(KindSpawn, fieldSource|fieldRef|fieldName|fieldMode).dev(devA).u(1).s("w").raw(0), ErrMalformed},
		{"mode 4", e.hdr(KindSpawn, fieldSource|fieldRef|fieldName|fieldMode).dev(devA).u(1).s("w").raw(4), ErrMalformed},
		{"arg present but empty", e.hdr(KindSpawn, fieldSource|fieldRef|fieldName|fieldArg|fieldMode).dev(devA).u(1).s("w").s("").raw(1), ErrMalformed},
		{"hostile arg length", e.hdr(KindSpawn, fieldSource|fieldRef|fieldName|fieldArg|fieldMode).dev(devA).u(1).s("w").u(1 << 40), ErrTooLarge},
		{"arg past end", e.hdr(KindSpawn, fieldSource|fieldRef|fieldName|fieldArg|fieldMode).dev(devA).u(1).s("w").u(10).raw('x'), ErrMalformed},
		{"reason present but empty", e.hdr(KindBye, fieldReason).s(""), ErrMalformed},
		{"hostile reason length", e.hdr(KindBye, fieldReason).u(^uint64(0)), ErrTooLarge},
		{"reason past end", e.hdr(KindBye, fieldReason).u(MaxTextLen).raw('x'), ErrMalformed},
		{"fault truncated", e.hdr(KindDown, fieldSource|fieldFault).dev(devA).raw(faultDrop), ErrMalformed},
		{"fault unknown flag", e.hdr(KindDown, fieldSource|fieldFault).dev(devA).raw(faultDrop, 0x04), ErrMalformed},
		{"fault text present but empty", e.hdr(KindDown, fieldSource|fieldFault).dev(devA).raw(faultError, faultText).s(""), ErrMalformed},
		{"fault stack present but empty", e.hdr(KindDown, fieldSource|fieldFault).dev(devA).raw(faultPanic, faultStack).s(""), ErrMalformed},
		{"fault hostile stack length", e.hdr(KindDown, fieldSource|fieldFault).dev(devA).raw(faultPanic, faultStack).u(1 << 40), ErrTooLarge},
		{"fault stack past end", e.hdr(KindDown, fieldSource|fieldFault).dev(devA).raw(faultPanic, faultStack).u(MaxStackLen).raw(1, 2, 3), ErrMalformed},
		{"cascade truncated after root", e.hdr(KindDown, fieldSource|fieldFault).dev(devA).raw(faultCascade, 0).dev(devA).dev(devA), ErrMalformed},
		{"cascade of cascade", e.hdr(KindDown, fieldSource|fieldFault).dev(devA).raw(faultCascade, 0).dev(devA).dev(devA).raw(faultCascade, 0).dev(devA).dev(devA).raw(faultDrop, 0), ErrMalformed},
		{"fields after fault", e.hdr(KindDown, fieldSource|fieldFault).dev(devA).raw(faultDrop, 0).u(1), ErrMalformed},
		{"unknown extension field", e.hdr(KindHello, fieldDowns<<1), ErrMalformed},
		{"downs bit without downs", e.hdr(KindDown, fieldDowns), ErrMalformed},
		{"downs empty", e.hdr(KindDown, fieldDowns).u(0), ErrMalformed},
		{"downs hostile count", e.hdr(KindDown, fieldDowns).u(1 << 40), ErrTooLarge},
		{"downs over MaxDowns", e.hdr(KindDown, fieldDowns).u(MaxDowns + 1), ErrTooLarge},
		{"downs count past end", e.hdr(KindDown, fieldDowns).u(3).u(1).raw(0), ErrMalformed},
		{"downs entry without seq", e.hdr(KindDown, fieldDowns).u(1).u(0).raw(0), ErrMalformed},
		{"downs entry truncated", e.hdr(KindDown, fieldDowns).u(2).u(1).raw(0).u(2), ErrMalformed},
		{"downs entry fault kind 7", e.hdr(KindDown, fieldDowns).u(1).u(1).raw(7, 0), ErrMalformed},
		{"downs and source", e.hdr(KindDown, fieldSource|fieldDowns).dev(devA).u(1).u(1).raw(0), ErrMalformed},
		{"downs on a kill", e.hdr(KindKill, fieldTarget|fieldDowns).u(1).u(1).u(1).raw(0), ErrMalformed},
		{"fields after downs", e.hdr(KindDown, fieldDowns).u(1).u(1).raw(0, 0), ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Decode(tc.b)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Decode(%x) = %+v, %v; want %v", tc.b, f, err, tc.want)
			}
			if f != nil {
				t.Fatalf("Decode returned a frame with an error")
			}
		})
	}
}

// TestTruncated checks that every strict prefix of every valid frame is
// rejected.
func TestTruncated(t *testing.T) {
	for _, tc := range validFrames() {
		b, err := Append(nil, &tc.f)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if len(b) > 4096 {
			continue // the large frames differ from the small ones only in lengths
		}
		for i := range b {
			if f, err := Decode(b[:i]); err == nil {
				t.Errorf("%s: Decode of %d-byte prefix of %d = %+v, want an error", tc.name, i, len(b), f)
			}
		}
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{
		KindHello: "hello", KindDown: "down", KindLink: "link", KindLookupReply: "lookup-reply", KindUnlink: "unlink", KindSpawn: "spawn", KindSpawnReply: "spawn-reply", 0: "Kind(0)", 14: "Kind(14)",
	} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", uint8(k), got, want)
		}
	}
}

// TestDecodeAllocs bounds Decode's allocations for a small frame.
func TestDecodeAllocs(t *testing.T) {
	f := header(KindDown)
	f.Source, f.Fault = devC, cascadeFault()
	b, _ := Append(nil, &f)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := Decode(b); err != nil {
			t.Fatal(err)
		}
	})
	// The frame, two faults, four distinct names, two texts, one stack.
	if allocs > 10 {
		t.Errorf("Decode allocates %v times, want at most 10", allocs)
	}
	buf := make([]byte, 0, 1024)
	allocs = testing.AllocsPerRun(100, func() {
		if _, err := Append(buf[:0], &f); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Append into a large enough buffer allocates %v times, want 0", allocs)
	}
}

// TestDownLen checks Down.Len against the encoding, after an entry with no
// fault, with another fault and with an equal one.
func TestDownLen(t *testing.T) {
	ds := []Down{
		{Seq: 1},
		{Seq: 1 << 40, Fault: &Fault{Kind: faultError, Text: "EOF"}},
		{Seq: 300, Fault: cascadeFault()},
		{Seq: 5, Fault: &Fault{Kind: faultPanic, Text: strings.Repeat("p", 200), Stack: make([]byte, 1000)}},
	}
	for _, d := range ds {
		for _, prev := range []*Fault{nil, {Kind: faultKilled}, d.Fault, copyFault(d.Fault)} {
			f := header(KindDown)
			f.Downs = []Down{{Seq: 7, Fault: prev}}
			one, err := Append(nil, &f)
			if err != nil {
				t.Fatal(err)
			}
			f.Downs = append(f.Downs, d)
			two, err := Append(nil, &f)
			if err != nil {
				t.Fatal(err)
			}
			if got := len(two) - len(one); got != d.Len(prev) {
				t.Errorf("Down{Seq: %d}.Len(%+v) = %d, encoded in %d bytes", d.Seq, prev, d.Len(prev), got)
			}
		}
	}
}

// copyFault returns a deep copy of ft.
func copyFault(ft *Fault) *Fault {
	if ft == nil {
		return nil
	}
	c := *ft
	c.Stack = append([]byte(nil), ft.Stack...)
	if len(ft.Stack) == 0 {
		c.Stack = nil
	}
	c.Cause = copyFault(ft.Cause)
	return &c
}

// A fault equal to the entry before's takes one byte, and only that way:
// Decode refuses it in full, and refuses the byte where no fault precedes.
func TestDownsRepeatedFaultCanonical(t *testing.T) {
	errA := &Fault{Kind: faultError, Text: "bench: device failed"}
	encode := func(ds ...Down) []byte {
		t.Helper()
		f := header(KindDown)
		f.Downs = ds
		b, err := Append(nil, &f)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	same := encode(Down{Seq: 1, Fault: errA}, Down{Seq: 2, Fault: copyFault(errA)})
	if same[len(same)-1] != downSame || len(same) != len(encode(Down{Seq: 1, Fault: errA}))+2 {
		t.Fatalf("a repeated fault is not one byte: % x", same)
	}
	full := append(same[:len(same)-1:len(same)-1], appendFault(nil, errA)...)
	afterNone := encode(Down{Seq: 1}, Down{Seq: 2})
	afterNone[len(afterNone)-1] = downSame
	first := encode(Down{Seq: 1})
	first[len(first)-1] = downSame
	for name, b := range map[string][]byte{"in full": full, "after none": afterNone, "first": first} {
		if _, err := Decode(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: Decode = %v, want ErrMalformed", name, err)
		}
	}
}

// Entries of Downs whose faults are equal, one after the other, decode to
// one shared Fault: a burst of devices failing alike costs one fault, not
// one per device. Different faults stay apart, and every entry decodes to
// what was sent.
func TestDownsShareRepeatedFaults(t *testing.T) {
	errA := func() *Fault { return &Fault{Kind: faultError, Text: "bench: device failed"} }
	errB := func() *Fault { return &Fault{Kind: faultError, Text: "bench: device failed too"} }
	f := header(KindDown)
	f.Downs = []Down{
		{Seq: 1, Fault: errA()}, {Seq: 2, Fault: errA()}, {Seq: 3}, {Seq: 4, Fault: errA()},
		{Seq: 5, Fault: errB()}, {Seq: 6, Fault: errA()}, {Seq: 7, Fault: cascadeFault()},
		{Seq: 8, Fault: cascadeFault()}, {Seq: 9, Fault: &Fault{Kind: faultDrop}},
	}
	got := reencode(t, &f)
	if !reflect.DeepEqual(got.Downs, f.Downs) {
		t.Fatalf("decoded %+v, want %+v", got.Downs, f.Downs)
	}
	d := got.Downs
	for _, c := range []struct {
		i, j  int
		share bool
	}{{0, 1, true}, {1, 3, false}, {3, 4, false}, {4, 5, false}, {6, 7, true}, {7, 8, false}} {
		if (d[c.i].Fault == d[c.j].Fault) != c.share {
			t.Errorf("entries %d and %d: shared %v, want %v", c.i, c.j, !c.share, c.share)
		}
	}
	// A burst of one fault: the decoding allocates for the frame, not per
	// entry.
	f.Downs = make([]Down, MaxDowns)
	for i := range f.Downs {
		f.Downs[i] = Down{Seq: uint64(i + 1), Fault: errA()}
	}
	b, err := Append(nil, &f)
	if err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(10, func() {
		if _, err := Decode(b); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 10 {
		t.Errorf("decoding %d Downs of one fault: %v allocations, want at most 10", MaxDowns, allocs)
	}
}
