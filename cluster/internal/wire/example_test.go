package wire_test

import (
	"fmt"

	"github.com/backplane-go/backplane/cluster/internal/wire"
)

func Example() {
	a := wire.Node{Name: "a", Inc: 1}
	b := wire.Node{Name: "b", Inc: 2}
	frame := &wire.Frame{
		Kind:   wire.KindDown,
		From:   a,
		To:     b,
		Epoch:  1,
		Seq:    7,
		Source: wire.Device{Node: a, Seq: 9},
		Fault:  &wire.Fault{Kind: 2, Text: "connection refused"},
	}
	buf, err := wire.Append(nil, frame)
	if err != nil {
		panic(err)
	}
	got, err := wire.Decode(buf)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%d bytes\n", len(buf))
	fmt.Println(got.Kind, got.From, "->", got.To, "seq", got.Seq)
	fmt.Printf("device %v disconnected (%s)\n", got.Source, got.Fault.Text)
	// Output:
	// 40 bytes
	// down a/1 -> b/2 seq 7
	// device a/1#9 disconnected (connection refused)
}

func ExampleReadHeader() {
	buf, err := wire.Append(nil, &wire.Frame{
		Kind: wire.KindHeartbeat, From: wire.Node{Name: "a", Inc: 1}, To: wire.Node{Name: "b", Inc: 2}, Epoch: 5, Seq: 8,
	})
	if err != nil {
		panic(err)
	}
	h, err := wire.ReadHeader(buf)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%v from %s/%d, epoch %d seq %d\n", h.Kind, h.From, h.FromInc, h.Epoch, h.Seq)
	// Output:
	// heartbeat from a/1, epoch 5 seq 8
}
