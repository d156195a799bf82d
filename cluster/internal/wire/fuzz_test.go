package wire

import (
	"bytes"
	"testing"
)

func FuzzDecode(f *testing.F) {
	for _, tc := range validFrames() {
		b, err := Append(nil, &tc.f)
		if err != nil {
			f.Fatal(err)
		}
		if len(b) <= 4096 {
			f.Add(b)
		}
	}
	f.Add([]byte{})
	f.Add([]byte("BP"))
	f.Add([]byte{'B', 'P', 1, 1, 0})
	f.Add([]byte{'B', 'P', 3, 1, 0, 0})
	f.Add([]byte{'B', 'P', Version, byte(KindHello), 0xff, 0xff})
	f.Add([]byte{'B', 'P', Version, byte(KindSpawn), 0xc0, 0})
	f.Add([]byte{'B', 'P', Version, byte(KindSpawnReply), 0x16, 0})
	f.Add([]byte{'B', 'P', Version, byte(KindDown), 0, 0x01})
	f.Add([]byte{'B', 'P', Version, byte(KindBye), byte(fieldReason), 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := Decode(b)
		if err != nil {
			if fr != nil {
				t.Fatalf("Decode returned a frame and %v", err)
			}
			return
		}
		h, err := ReadHeader(b)
		if err != nil {
			t.Fatalf("ReadHeader of a frame Decode accepts: %v", err)
		}
		if h.Kind != fr.Kind || string(h.From) != fr.From.Name || h.FromInc != fr.From.Inc ||
			string(h.To) != fr.To.Name || h.ToInc != fr.To.Inc || h.Epoch != fr.Epoch || h.Seq != fr.Seq || h.Ack != fr.Ack {
			t.Fatalf("ReadHeader %+v disagrees with Decode %+v", h, fr)
		}
		again, err := Append(nil, fr)
		if err != nil {
			t.Fatalf("Append of decoded frame %+v: %v", fr, err)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("re-encoding differs:\n in  %x\n out %x", b, again)
		}
	})
}

// FuzzRoundTrip builds a frame from primitive values; whenever Append
// accepts it, Decode must give it back.
func FuzzRoundTrip(f *testing.F) {
	f.Add(uint8(KindDown), "a", uint64(1), "b", uint64(2), uint64(3), uint64(4), "reason", uint8(faultPanic), "text", []byte("stack"))
	f.Add(uint8(KindLookup), "a", uint64(1), "b", uint64(0), uint64(9), uint64(0), "name", uint8(0), "", []byte(nil))
	f.Add(uint8(KindDown), "a", uint64(1), "b", uint64(2), uint64(0), uint64(4), "", uint8(faultError), "text", []byte(nil))
	f.Fuzz(func(t *testing.T, kind uint8, from string, fromInc uint64, to string, toInc, target, ref uint64, s string, fk uint8, text string, stack []byte) {
		fr := &Frame{
			Kind: Kind(kind), From: Node{from, fromInc}, To: Node{to, toInc},
			Epoch: ref ^ target, Seq: target + 1, Ack: ref,
			Target: target, Ref: ref,
		}
		if target != 0 {
			fr.Source = Device{Node: fr.From, Seq: target}
		}
		switch fr.Kind {
		case KindLookup:
			fr.Name = s
		case KindBye, KindKill, KindDown:
			fr.Reason = s
		}
		if fk != 0 {
			fr.Fault = &Fault{Kind: fk, Text: text, Stack: stack}
			if fk == faultCascade {
				fr.Fault.Device, fr.Fault.Root = fr.Source, fr.Source
				fr.Fault.Cause = &Fault{Kind: faultError, Text: text}
			}
		}
		if fr.Kind == KindDown && fk != 0 && s == "" && target == 0 {
			// A Down of several devices, the second and third with the
			// fault (the third's is encoded as the second's).
			fr.Downs = []Down{{Seq: ref + 1}, {Seq: fromInc, Fault: fr.Fault}, {Seq: ref + 2, Fault: fr.Fault}}
			fr.Fault = nil
		}
		b, err := Append(nil, fr)
		if err != nil {
			return
		}
		got, err := Decode(b)
		if err != nil {
			t.Fatalf("Decode of Append(%+v): %v", fr, err)
		}
		again, err := Append(nil, got)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("re-encoding differs (%v)", err)
		}
	})
}
