package wire

import (
	"errors"
	"testing"
)

// ReadHeader agrees with Decode on every valid frame, rejects every strict
// prefix that cuts into the header, and never allocates.
func TestReadHeader(t *testing.T) {
	for _, tc := range validFrames() {
		b, err := Append(nil, &tc.f)
		if err != nil {
			t.Fatal(err)
		}
		h, err := ReadHeader(b)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		f := tc.f
		if h.Kind != f.Kind || string(h.From) != f.From.Name || h.FromInc != f.From.Inc || string(h.To) != f.To.Name ||
			h.ToInc != f.To.Inc || h.Epoch != f.Epoch || h.Seq != f.Seq || h.Ack != f.Ack {
			t.Fatalf("%s: header %+v of %+v", tc.name, h, f)
		}
		if n := testing.AllocsPerRun(10, func() { _, _ = ReadHeader(b) }); n != 0 {
			t.Fatalf("ReadHeader allocates %v times", n)
		}
	}
	b, _ := Append(nil, &Frame{Kind: KindHeartbeat, From: Node{"a", 1}, To: Node{"b", 2}, Epoch: 300, Seq: 300, Ack: 300})
	for n := range len(b) {
		if _, err := ReadHeader(b[:n]); !errors.Is(err, ErrMalformed) {
			t.Fatalf("ReadHeader of %d of %d bytes: %v", n, len(b), err)
		}
	}
	bad := append([]byte(nil), b...)
	bad[3] = 99
	if _, err := ReadHeader(bad); !errors.Is(err, ErrMalformed) {
		t.Fatalf("unknown kind: %v", err)
	}
	bad[2] = Version + 1
	if _, err := ReadHeader(bad); !errors.Is(err, ErrVersion) {
		t.Fatalf("other version: %v", err)
	}
}
