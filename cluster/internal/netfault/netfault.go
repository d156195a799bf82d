// Package netfault provides a TCP forwarder that injects network faults,
// for tests that need partitions between NATS clients and servers, or
// between two servers' routes.
//
// A Forwarder listens on a local address and forwards every accepted
// connection to a fixed target. It runs in one of three modes, switchable
// at any time:
//
//   - Pass: bytes flow both ways unchanged (the initial mode).
//   - Cut: all current connections are closed, and new ones are accepted
//     and closed at once, as if the far side had gone away.
//   - Blackhole: connections stay open but every byte, in both directions,
//     is silently dropped, as in a partition that neither side can see.
//     Leaving Blackhole for Pass does not repair the streams: whatever was
//     dropped is gone, so the protocol on top usually fails and reconnects.
//
// Every goroutine a Forwarder starts is stopped and waited for by Close.
package netfault

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Mode is the fault mode of a Forwarder.
type Mode int32

const (
	// ModePass forwards bytes unchanged.
	ModePass Mode = iota
	// ModeCut closes all connections and refuses new ones.
	ModeCut
	// ModeBlackhole keeps connections open and drops all bytes.
	ModeBlackhole
)

// String returns the mode's name.
func (m Mode) String() string {
	switch m {
	case ModePass:
		return "pass"
	case ModeCut:
		return "cut"
	case ModeBlackhole:
		return "blackhole"
	}
	return "unknown"
}

// ErrClosed is returned by operations on a closed Forwarder.
var ErrClosed = errors.New("netfault: forwarder closed")

// DialTimeout bounds how long a Forwarder waits to connect to its target.
const DialTimeout = 2 * time.Second

// Forwarder is a TCP forwarder with switchable faults. Its methods are safe
// for concurrent use.
type Forwarder struct {
	target string
	ln     net.Listener
	mode   atomic.Int32
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	conns  map[*link]struct{}
	closed bool

	wg sync.WaitGroup
}

// link is one forwarded connection: the accepted client side and the
// dialed target side.
type link struct {
	client net.Conn

	mu     sync.Mutex
	server net.Conn
	closed bool
}

func (l *link) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	l.closed = true
	l.client.Close()
	if l.server != nil {
		l.server.Close()
	}
}

// setServer attaches the dialed target side; it reports false (and closes
// s) if the link was closed meanwhile.
func (l *link) setServer(s net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		s.Close()
		return false
	}
	l.server = s
	return true
}

// Listen starts a Forwarder on a random local port (127.0.0.1) that
// forwards to target ("host:port"). It starts in ModePass.
func Listen(target string) (*Forwarder, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	f := &Forwarder{
		target: target,
		ln:     ln,
		ctx:    ctx,
		cancel: cancel,
		conns:  make(map[*link]struct{}),
	}
	f.wg.Add(1)
	go f.accept()
	return f, nil
}

// Addr returns the forwarder's listening address ("127.0.0.1:port").
func (f *Forwarder) Addr() string { return f.ln.Addr().String() }

// URL returns the forwarder's address as a NATS URL ("nats://127.0.0.1:port").
func (f *Forwarder) URL() string { return "nats://" + f.Addr() }

// Mode returns the current mode.
func (f *Forwarder) Mode() Mode { return Mode(f.mode.Load()) }

// Pass switches to ModePass: bytes flow again, and new connections are
// forwarded.
func (f *Forwarder) Pass() { f.mode.Store(int32(ModePass)) }

// Blackhole switches to ModeBlackhole: connections stay open but all bytes
// are dropped, both ways.
func (f *Forwarder) Blackhole() { f.mode.Store(int32(ModeBlackhole)) }

// Cut switches to ModeCut and closes every current connection. New
// connections are closed as soon as they are accepted, until Pass.
func (f *Forwarder) Cut() {
	f.mode.Store(int32(ModeCut))
	f.mu.Lock()
	for l := range f.conns {
		l.close()
	}
	f.mu.Unlock()
}

// Conns returns the number of connections currently forwarded.
func (f *Forwarder) Conns() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.conns)
}

// Close stops the listener, closes every connection, and waits for all
// goroutines of the Forwarder to end. It is idempotent.
func (f *Forwarder) Close() error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil
	}
	f.closed = true
	f.cancel()
	err := f.ln.Close()
	for l := range f.conns {
		l.close()
	}
	f.mu.Unlock()
	f.wg.Wait()
	return err
}

func (f *Forwarder) accept() {
	defer f.wg.Done()
	for {
		c, err := f.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return // listener closed
		}
		if f.Mode() == ModeCut {
			c.Close()
			continue
		}
		l := &link{client: c}
		f.mu.Lock()
		if f.closed {
			f.mu.Unlock()
			c.Close()
			return
		}
		f.conns[l] = struct{}{}
		f.wg.Add(1)
		f.mu.Unlock()
		go f.serve(l)
	}
}

// serve dials the target for one accepted connection and pumps bytes both
// ways until either side fails or the link is closed.
func (f *Forwarder) serve(l *link) {
	defer f.wg.Done()
	defer f.remove(l)
	ctx, cancel := context.WithTimeout(f.ctx, DialTimeout)
	var d net.Dialer
	s, err := d.DialContext(ctx, "tcp", f.target)
	cancel()
	if err != nil {
		l.close()
		return
	}
	if !l.setServer(s) {
		return
	}
	if f.Mode() == ModeCut {
		l.close()
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.pump(l, s, l.client)
	}()
	f.pump(l, l.client, s)
	<-done
}

func (f *Forwarder) remove(l *link) {
	l.close()
	f.mu.Lock()
	delete(f.conns, l)
	f.mu.Unlock()
}

// pump copies from src to dst, dropping bytes while blackholed. Any error
// closes the whole link, which also ends the pump in the other direction.
func (f *Forwarder) pump(l *link, dst, src net.Conn) {
	defer l.close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			switch f.Mode() {
			case ModePass:
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
			case ModeCut:
				return
			case ModeBlackhole:
				// dropped
			}
		}
		if err != nil {
			return
		}
	}
}
