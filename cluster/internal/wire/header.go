package wire

import "fmt"

// Header is the part of a frame that comes before its optional fields: what
// a receiver needs to decide whether the frame concerns it at all. From and
// To alias the bytes it was read from.
type Header struct {
	Kind    Kind
	From    []byte // From.Name
	FromInc uint64
	To      []byte // To.Name
	ToInc   uint64
	Epoch   uint64
	Seq     uint64
	Ack     uint64
}

// ReadHeader reads the header of the frame encoded in b without decoding
// the rest and without allocating. It checks the magic, the version, the
// kind and the encoding of the header fields, but not the rest of the
// frame: a frame whose header reads may still fail Decode. For every b
// that Decode accepts, ReadHeader succeeds and agrees with Decode.
func ReadHeader(b []byte) (Header, error) {
	var h Header
	if len(b) > MaxFrameSize {
		return h, fmt.Errorf("%w: %d bytes, over %d", ErrTooLarge, len(b), MaxFrameSize)
	}
	if len(b) < 3 || b[0] != magic0 || b[1] != magic1 {
		return h, fmt.Errorf("%w: no magic", ErrMalformed)
	}
	if b[2] != Version {
		return h, fmt.Errorf("%w: version %d, want %d", ErrVersion, b[2], Version)
	}
	d := decoder{b: b, off: 3}
	h.Kind = Kind(d.byte())
	d.byte() // the presence mask
	d.byte() // the extension mask
	h.From = d.bytes(MaxNameLen, "node name")
	h.FromInc = d.uvarint()
	h.To = d.bytes(MaxNameLen, "node name")
	h.ToInc = d.uvarint()
	h.Epoch = d.uvarint()
	h.Seq = d.uvarint()
	h.Ack = d.uvarint()
	if d.err != nil {
		return Header{}, d.err
	}
	if !h.Kind.valid() {
		return Header{}, fmt.Errorf("%w: unknown kind %d", ErrMalformed, uint8(h.Kind))
	}
	return h, nil
}
