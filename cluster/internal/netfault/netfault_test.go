package netfault

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const wait = 10 * time.Second

// echo starts an echo server and returns its address.
func echo(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() { io.Copy(c, c) })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

func dial(t *testing.T, f *Forwarder) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", f.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func roundTrip(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	c.SetDeadline(time.Now().Add(wait))
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf, []byte(msg)) {
		t.Fatalf("got %q", buf)
	}
}

// closed waits until c is closed by the far side.
func closed(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(wait))
	_, err := c.Read(make([]byte, 1))
	if err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read: %v, want connection closed", err)
	}
}

func TestPassCutBlackhole(t *testing.T) {
	f, err := Listen(echo(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c1 := dial(t, f)
	roundTrip(t, c1, "hello")
	if f.Mode() != ModePass || f.Conns() != 1 {
		t.Fatalf("mode %v conns %d", f.Mode(), f.Conns())
	}

	// Blackhole: the connection stays open, nothing comes back. The short
	// read deadline can only make the test pass late, never wrongly.
	f.Blackhole()
	c1.Write([]byte("lost"))
	c1.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if n, err := c1.Read(make([]byte, 8)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read during blackhole: %d, %v", n, err)
	}
	c2 := dial(t, f)
	c2.Write([]byte("lost too"))
	c2.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if n, err := c2.Read(make([]byte, 8)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read during blackhole: %d, %v", n, err)
	}

	// Pass again: bytes flow on the same connection.
	f.Pass()
	roundTrip(t, c1, "again")

	// Cut: current connections close, new ones are closed at once.
	f.Cut()
	closed(t, c1)
	closed(t, c2)
	closed(t, dial(t, f))

	f.Pass()
	roundTrip(t, dial(t, f), "back")
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close() // idempotent
	if _, err := net.Dial("tcp", f.Addr()); err == nil {
		t.Fatal("dial after Close succeeded")
	}
}

func TestCloseWithOpenConns(t *testing.T) {
	f, err := Listen(echo(t))
	if err != nil {
		t.Fatal(err)
	}
	var cs []net.Conn
	for range 5 {
		c := dial(t, f)
		roundTrip(t, c, "x")
		cs = append(cs, c)
	}
	f.Blackhole()
	f.Close()
	for _, c := range cs {
		closed(t, c)
	}
}

func TestUnreachableTarget(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	f, err := Listen(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	closed(t, dial(t, f))
}
