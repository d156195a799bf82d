package bench

import (
	"fmt"
	"sync"
	"testing"

	"github.com/backplane-go/backplane"
)

// BenchmarkLinkScale/edges_N: one link plus one unlink on a device that
// already has N edges (N other devices watch it). The cost should not grow
// with N. plain is the floor for any set-based link table: both ends keep
// a mutex-guarded map (the hub's holding N entries) and both are updated. protoactor is left out: its Watch and Unwatch are
// asynchronous messages, so there is no completed operation to time.
func BenchmarkLinkScale(b *testing.B) {
	for _, n := range []int{10, 1_000, 100_000} {
		b.Run(fmt.Sprintf("edges_%d", n), func(b *testing.B) {
			b.Run("backplane", func(b *testing.B) { linkScaleBackplane(b, n) })
			b.Run("plain", func(b *testing.B) { linkScalePlain(b, n) })
		})
	}
}

func linkScaleBackplane(b *testing.B, n int) {
	if n > 1_000 {
		skipLarge(b)
	}
	hub := backplane.New()
	defer hub.Drop()
	others := make([]*backplane.Device, n)
	for i := range others {
		others[i] = backplane.New()
		if err := others[i].Link(hub, backplane.Monitor); err != nil {
			b.Fatal(err)
		}
	}
	defer func() {
		for _, o := range others {
			o.Drop()
		}
	}()
	x := backplane.New()
	defer x.Drop()
	b.ReportAllocs()
	for b.Loop() {
		if err := x.Link(hub, backplane.Monitor); err != nil {
			b.Fatal(err)
		}
		if _, err := x.Unlink(hub, backplane.Monitor); err != nil {
			b.Fatal(err)
		}
	}
}

type plainNode struct{ id int }

func linkScalePlain(b *testing.B, n int) {
	if n > 1_000 {
		skipLarge(b)
	}
	type end struct {
		mu    sync.Mutex
		edges map[*plainNode]uint8
	}
	hubNode, xNode := &plainNode{id: 0}, &plainNode{id: -1}
	hub := &end{edges: make(map[*plainNode]uint8)}
	x := &end{edges: make(map[*plainNode]uint8)}
	for i := range n {
		hub.edges[&plainNode{id: i + 1}] = 1
	}
	set := func(e *end, p *plainNode, mode uint8) {
		e.mu.Lock()
		if mode == 0 {
			delete(e.edges, p)
		} else {
			e.edges[p] = mode
		}
		e.mu.Unlock()
	}
	b.ReportAllocs()
	for b.Loop() {
		set(x, hubNode, 1)
		set(hub, xNode, 2)
		set(x, hubNode, 0)
		set(hub, xNode, 0)
	}
}
