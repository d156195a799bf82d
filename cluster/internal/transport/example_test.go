package transport_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/backplane-go/backplane/cluster/internal/transport"
	"github.com/backplane-go/backplane/cluster/internal/wire"
)

// handler passes what a transport reports to channels.
type handler struct {
	frames chan *wire.Frame
	downs  chan error
}

func (h handler) Receive(f *wire.Frame)          { h.frames <- f }
func (h handler) Down(_ wire.Node, reason error) { h.downs <- reason }

func newHandler() handler { return handler{make(chan *wire.Frame, 8), make(chan error, 8)} }

// Two nodes: "a" embeds the NATS server, which requires the secret a
// generated; "b" connects to it with that secret. A frame sent by b opens
// a session and reaches a in order; when b leaves, a is told why its
// session ended.
func Example() {
	ha, hb := newHandler(), newHandler()
	a, err := transport.Start(transport.Config{Name: "a", Cluster: "backplane", Listen: "127.0.0.1:0", Heartbeat: 100 * time.Millisecond, Timeout: time.Second}, ha)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer a.Close()
	b, err := transport.Start(transport.Config{Name: "b", Cluster: "backplane", URL: a.ClientURL(), Secret: a.Secret(), Heartbeat: 100 * time.Millisecond, Timeout: time.Second}, hb)
	if err != nil {
		fmt.Println(err)
		return
	}

	if err := b.Send(&wire.Frame{Kind: wire.KindShutdown, To: a.Self(), Target: 7}); err != nil {
		fmt.Println(err)
		return
	}
	f := <-ha.frames
	fmt.Println(f.Kind, "from", f.From.Name, "for device", f.Target, "seq", f.Seq)

	_ = b.Close()
	reason := <-ha.downs
	fmt.Println("session ended; the peer said goodbye:", errors.Is(reason, transport.ErrPeerBye))
	// Output:
	// shutdown from b for device 7 seq 2
	// session ended; the peer said goodbye: true
}
