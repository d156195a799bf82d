package wire

import (
	"encoding/binary"
	"fmt"
)

// Decode parses the frame that occupies all of b. It accepts exactly the
// encodings Append produces, so Append(nil, f) of the result equals b.
// It returns an error wrapping ErrTooLarge if b is over MaxFrameSize or a
// field over its limit, ErrVersion if b is of another Version, and
// ErrMalformed for anything else that is not a valid frame.
//
// Decode never panics, allocates O(len(b)), and does not retain b.
func Decode(b []byte) (*Frame, error) {
	if len(b) > MaxFrameSize {
		return nil, fmt.Errorf("%w: %d bytes, over %d", ErrTooLarge, len(b), MaxFrameSize)
	}
	if len(b) < 3 || b[0] != magic0 || b[1] != magic1 {
		return nil, fmt.Errorf("%w: no magic", ErrMalformed)
	}
	if b[2] != Version {
		return nil, fmt.Errorf("%w: version %d, want %d", ErrVersion, b[2], Version)
	}
	d := decoder{b: b, off: 3}
	f := new(Frame)
	f.Kind = Kind(d.byte())
	m := field(d.byte())
	m |= field(d.byte()) << 8
	if d.err == nil && m&^fieldsKnown != 0 {
		d.fail(fmt.Errorf("%w: unknown fields %#x", ErrMalformed, uint16(m&^fieldsKnown)))
	}
	f.From = d.node()
	f.To = d.node()
	f.Epoch = d.uvarint()
	f.Seq = d.uvarint()
	f.Ack = d.uvarint()
	if m&fieldTarget != 0 {
		f.Target = d.uvarint()
	}
	if m&fieldSource != 0 {
		f.Source = d.device()
	}
	if m&fieldRef != 0 {
		f.Ref = d.uvarint()
	}
	if m&fieldName != 0 {
		f.Name = string(d.bytes(MaxNameLen, "Name"))
	}
	if m&fieldReason != 0 {
		f.Reason = string(d.bytes(MaxTextLen, "Reason"))
	}
	if m&fieldFault != 0 {
		f.Fault = d.fault(true)
	}
	if m&fieldArg != 0 {
		if s := d.bytes(MaxArgLen, "Arg"); s != nil {
			f.Arg = append([]byte(nil), s...)
		}
	}
	if m&fieldMode != 0 {
		f.Mode = d.byte()
	}
	if m&fieldDowns != 0 {
		f.Downs = d.downs()
	}
	if d.err != nil {
		return nil, d.err
	}
	if d.off != len(b) {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrMalformed, len(b)-d.off)
	}
	if p := f.present(); p != m {
		return nil, fmt.Errorf("%w: %v is present but zero", ErrMalformed, m&^p)
	}
	if _, err := validate(f); err != nil {
		return nil, err
	}
	return f, nil
}

// decoder reads fields from b at off. After the first error it reads
// nothing more and returns zero values; err holds that error.
type decoder struct {
	b   []byte
	off int
	err error

	// names holds the node names decoded so far, so that a frame naming
	// the same node more than once allocates its name once.
	names  [5]string
	nnames int
	// text is the last fault text decoded: the entries of Downs often
	// share one.
	text string
}

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

func (d *decoder) truncated(what string) {
	d.fail(fmt.Errorf("%w: truncated %s at offset %d", ErrMalformed, what, d.off))
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if d.off >= len(d.b) {
		d.truncated("byte")
		return 0
	}
	c := d.b[d.off]
	d.off++
	return c
}

// uvarint reads a uvarint in its shortest encoding.
func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:])
	switch {
	case n == 0:
		d.truncated("varint")
		return 0
	case n < 0:
		d.fail(fmt.Errorf("%w: varint overflows at offset %d", ErrMalformed, d.off))
		return 0
	case n > 1 && d.b[d.off+n-1] == 0:
		d.fail(fmt.Errorf("%w: overlong varint at offset %d", ErrMalformed, d.off))
		return 0
	}
	d.off += n
	return v
}

// bytes reads a length-prefixed byte string of 1..limit bytes. The result
// aliases d.b.
func (d *decoder) bytes(limit int, what string) []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	switch {
	case n == 0:
		d.fail(fmt.Errorf("%w: empty %s at offset %d", ErrMalformed, what, d.off))
		return nil
	case n > uint64(limit):
		d.fail(fmt.Errorf("%w: %s is %d bytes, over %d", ErrTooLarge, what, n, limit))
		return nil
	case n > uint64(len(d.b)-d.off):
		d.truncated(what)
		return nil
	}
	s := d.b[d.off : d.off+int(n)]
	d.off += int(n)
	return s
}

func (d *decoder) node() Node {
	name := d.bytes(MaxNameLen, "node name")
	if d.err != nil {
		return Node{}
	}
	return Node{Name: d.intern(name), Inc: d.uvarint()}
}

// intern returns name as a string, reusing an earlier node name if equal.
func (d *decoder) intern(name []byte) string {
	for _, s := range d.names[:d.nnames] {
		if s == string(name) {
			return s
		}
	}
	s := string(name)
	if d.nnames < len(d.names) {
		d.names[d.nnames] = s
		d.nnames++
	}
	return s
}

func (d *decoder) device() Device {
	n := d.node()
	return Device{Node: n, Seq: d.uvarint()}
}

// downs reads Frame.Downs.
func (d *decoder) downs() []Down {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	switch {
	case n == 0:
		d.fail(fmt.Errorf("%w: empty Downs at offset %d", ErrMalformed, d.off))
		return nil
	case n > MaxDowns:
		d.fail(fmt.Errorf("%w: %d Downs, over %d", ErrTooLarge, n, MaxDowns))
		return nil
	case n > uint64(len(d.b)-d.off)/2: // an entry takes 2 bytes at least
		d.truncated("Downs")
		return nil
	}
	ds := make([]Down, n)
	// prev is the encoding of the entry before's fault, nil if it had
	// none. Equal faults have one encoding, so a fault encoded in full
	// with prev's bytes should have been a downSame.
	var prev []byte
	for i := range ds {
		ds[i].Seq = d.uvarint()
		if d.err != nil {
			return nil
		}
		if d.off < len(d.b) {
			switch d.b[d.off] {
			case 0:
				d.off++ // no fault
				prev = nil
				continue
			case downSame:
				if prev == nil {
					d.fail(fmt.Errorf("%w: Downs[%d] repeats a fault, after an entry with none", ErrMalformed, i))
					return nil
				}
				d.off++
				ds[i].Fault = ds[i-1].Fault
				continue
			}
		}
		start := d.off
		ds[i].Fault = d.fault(true)
		if d.err != nil {
			return nil
		}
		if b := d.b[start:d.off]; string(b) != string(prev) {
			prev = b
		} else {
			d.fail(fmt.Errorf("%w: Downs[%d] has the fault of the entry before in full", ErrMalformed, i))
			return nil
		}
	}
	return ds
}

// fault reads a fault; a cascade only if cascade is true, so the recursion
// is at most one level deep.
func (d *decoder) fault(cascade bool) *Fault {
	kind := d.byte()
	flags := d.byte()
	if d.err != nil {
		return nil
	}
	if kind < faultDrop || kind > faultUnreachable {
		d.fail(fmt.Errorf("%w: unknown fault kind %d", ErrMalformed, kind))
		return nil
	}
	if kind == faultCascade && !cascade {
		d.fail(fmt.Errorf("%w: cascade caused by a cascade", ErrMalformed))
		return nil
	}
	if flags&^faultFlagsKnown != 0 {
		d.fail(fmt.Errorf("%w: unknown fault flags %#x", ErrMalformed, flags&^faultFlagsKnown))
		return nil
	}
	ft := &Fault{Kind: kind}
	if flags&faultText != 0 {
		if t := d.bytes(MaxTextLen, "fault text"); string(t) == d.text {
			ft.Text = d.text
		} else {
			ft.Text = string(t)
			d.text = ft.Text
		}
	}
	if flags&faultStack != 0 {
		if s := d.bytes(MaxStackLen, "fault stack"); s != nil {
			ft.Stack = append([]byte(nil), s...)
		}
	}
	if kind == faultCascade {
		ft.Device = d.device()
		ft.Root = d.device()
		ft.Cause = d.fault(false)
	}
	return ft
}
