package wire

import "testing"

func benchFrame() *Frame {
	f := header(KindDown)
	f.Source, f.Fault = devC, cascadeFault()
	return &f
}

func BenchmarkAppend(b *testing.B) {
	f := benchFrame()
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = Append(buf[:0], f); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkDecode(b *testing.B) {
	buf, err := Append(nil, benchFrame())
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(buf); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadHeader(b *testing.B) {
	buf, err := Append(nil, benchFrame())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ReadHeader(buf); err != nil {
			b.Fatal(err)
		}
	}
}
