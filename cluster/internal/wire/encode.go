package wire

import (
	"encoding/binary"
	"fmt"
)

// Append appends the encoding of f to dst and returns the extended slice.
// It validates f first, by the same rules Decode enforces, and returns dst
// unextended and an error if f is invalid or its encoding would exceed
// MaxFrameSize. It does not allocate if dst has room for the frame.
func Append(dst []byte, f *Frame) ([]byte, error) {
	if f == nil {
		return dst, fmt.Errorf("%w: nil frame", ErrMalformed)
	}
	m, err := validate(f)
	if err != nil {
		return dst, err
	}
	b := appendFrame(dst, f, m)
	if n := len(b) - len(dst); n > MaxFrameSize {
		return dst, fmt.Errorf("%w: %d bytes, over %d", ErrTooLarge, n, MaxFrameSize)
	}
	return b, nil
}

// appendFrame appends the encoding of f, whose presence mask is m, without
// checking it.
func appendFrame(b []byte, f *Frame, m field) []byte {
	b = append(b, magic0, magic1, Version, byte(f.Kind), byte(m), byte(m>>8))
	b = appendNode(b, f.From)
	b = appendNode(b, f.To)
	b = binary.AppendUvarint(b, f.Epoch)
	b = binary.AppendUvarint(b, f.Seq)
	b = binary.AppendUvarint(b, f.Ack)
	if m&fieldTarget != 0 {
		b = binary.AppendUvarint(b, f.Target)
	}
	if m&fieldSource != 0 {
		b = appendDevice(b, f.Source)
	}
	if m&fieldRef != 0 {
		b = binary.AppendUvarint(b, f.Ref)
	}
	if m&fieldName != 0 {
		b = appendString(b, f.Name)
	}
	if m&fieldReason != 0 {
		b = appendString(b, f.Reason)
	}
	if m&fieldFault != 0 {
		b = appendFault(b, f.Fault)
	}
	if m&fieldArg != 0 {
		b = binary.AppendUvarint(b, uint64(len(f.Arg)))
		b = append(b, f.Arg...)
	}
	if m&fieldMode != 0 {
		b = append(b, f.Mode)
	}
	if m&fieldDowns != 0 {
		b = binary.AppendUvarint(b, uint64(len(f.Downs)))
		var prev *Fault
		for i := range f.Downs {
			b = binary.AppendUvarint(b, f.Downs[i].Seq)
			switch ft := f.Downs[i].Fault; {
			case ft == nil:
				b = append(b, 0)
			case sameFault(ft, prev):
				b = append(b, downSame)
			default:
				b = appendFault(b, ft)
			}
			prev = f.Downs[i].Fault
		}
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendNode(b []byte, n Node) []byte {
	b = appendString(b, n.Name)
	return binary.AppendUvarint(b, n.Inc)
}

func appendDevice(b []byte, d Device) []byte {
	b = appendNode(b, d.Node)
	return binary.AppendUvarint(b, d.Seq)
}

// appendFault appends a validated fault.
func appendFault(b []byte, ft *Fault) []byte {
	var flags byte
	if ft.Text != "" {
		flags |= faultText
	}
	if len(ft.Stack) != 0 {
		flags |= faultStack
	}
	b = append(b, ft.Kind, flags)
	if flags&faultText != 0 {
		b = appendString(b, ft.Text)
	}
	if flags&faultStack != 0 {
		b = binary.AppendUvarint(b, uint64(len(ft.Stack)))
		b = append(b, ft.Stack...)
	}
	if ft.Kind == faultCascade {
		b = appendDevice(b, ft.Device)
		b = appendDevice(b, ft.Root)
		b = appendFault(b, ft.Cause)
	}
	return b
}

// Len returns the number of bytes d takes in the encoding of Frame.Downs
// after an entry whose fault is prev (nil for the first entry, or after
// one without a fault), so that a sender can bound a frame's size before
// encoding it. It does not validate d.
func (d *Down) Len(prev *Fault) int {
	if d.Fault == nil || sameFault(d.Fault, prev) {
		return uvarintLen(d.Seq) + 1
	}
	return uvarintLen(d.Seq) + faultLen(d.Fault)
}

// downSame stands for an entry's fault in Frame.Downs that is equal to the
// entry before's: a burst of devices failing alike takes a byte a device.
const downSame = 0xff

// sameFault reports whether a and b, both not nil, are equal faults, which
// have one encoding.
func sameFault(a, b *Fault) bool {
	if a == b {
		return a != nil
	}
	if a == nil || b == nil || a.Kind != b.Kind || a.Text != b.Text || string(a.Stack) != string(b.Stack) {
		return false
	}
	if a.Kind != faultCascade {
		return true
	}
	return a.Device == b.Device && a.Root == b.Root && (a.Cause == b.Cause || sameFault(a.Cause, b.Cause))
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

func stringLen(n int) int { return uvarintLen(uint64(n)) + n }

func deviceLen(d Device) int {
	return stringLen(len(d.Node.Name)) + uvarintLen(d.Node.Inc) + uvarintLen(d.Seq)
}

// faultLen is the size of appendFault's output for ft.
func faultLen(ft *Fault) int {
	n := 2
	if ft.Text != "" {
		n += stringLen(len(ft.Text))
	}
	if len(ft.Stack) != 0 {
		n += stringLen(len(ft.Stack))
	}
	if ft.Kind == faultCascade {
		n += deviceLen(ft.Device) + deviceLen(ft.Root)
		if ft.Cause != nil {
			n += faultLen(ft.Cause)
		}
	}
	return n
}
