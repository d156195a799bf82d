package backplane

import (
	"math/rand/v2"
	"testing"
)

// TestLinkSetModel drives a linkSet through random sets, updates and
// removals across the switch from inline entries to the table, and checks
// it against a map after every step: same modes, same length, no duplicate
// or stale entry, and a table index that names each link's position.
func TestLinkSetModel(t *testing.T) {
	for seed := range uint64(200) {
		rng := rand.New(rand.NewPCG(seed, 0))
		// Half the seeds use consecutive numbers, as devices have; the
		// others random numbers and more peers, whose hashes collide in
		// the table's index, so that removals shift entries back.
		peers := make([]*device, 1+rng.IntN(12))
		if seed%2 == 1 {
			peers = make([]*device, 1+rng.IntN(40))
		}
		for i := range peers {
			peers[i] = &device{n: uint64(i + 1)}
			if seed%2 == 1 {
				peers[i].n = rng.Uint64()
			}
		}
		var s linkSet
		want := map[*device]LinkMode{}
		for step := range 200 {
			p := peers[rng.IntN(len(peers))]
			m := LinkMode(rng.IntN(4)) // 0 removes
			if rng.IntN(4) == 0 {
				// take: what a notification does on the watcher
				if got := s.take(p); got != want[p] {
					t.Fatalf("seed %d step %d: take(%v) = %v, want %v", seed, step, p.id(), got, want[p])
				}
				delete(want, p)
			} else if rng.IntN(3) == 0 {
				// update: what Link and Unlink do
				add, clear := LinkMode(rng.IntN(4)), LinkMode(rng.IntN(4))
				if got := s.update(p, add, clear); got != want[p] {
					t.Fatalf("seed %d step %d: update(%v) = %v, want %v", seed, step, p.id(), got, want[p])
				}
				if m := want[p]&^clear | add; m != 0 {
					want[p] = m
				} else {
					delete(want, p)
				}
			} else {
				s.set(p, m)
				if m == 0 {
					delete(want, p)
				} else {
					want[p] = m
				}
			}
			if s.len() != len(want) {
				t.Fatalf("seed %d step %d: len %d, want %d", seed, step, s.len(), len(want))
			}
			seen := map[*device]bool{}
			for _, l := range s.links() {
				if seen[l.peer] || want[l.peer] != l.mode {
					t.Fatalf("seed %d step %d: entry %v/%v, want %v (seen before: %v)", seed, step, l.peer.id(), l.mode, want[l.peer], seen[l.peer])
				}
				seen[l.peer] = true
			}
			if t2 := s.many; t2 != nil {
				// The index must name each link's own position, once,
				// at a slot its probe reaches, and be at most half full.
				used := 0
				for _, v := range t2.index {
					if v != 0 {
						used++
					}
				}
				if used != len(t2.list) || 2*used > len(t2.index) {
					t.Fatalf("seed %d step %d: index of %d slots, %d used, for %d links", seed, step, len(t2.index), used, len(t2.list))
				}
				for i, l := range t2.list {
					if l.hash != hashPeer(l.peer) {
						t.Fatalf("seed %d step %d: link %d (%v) has hash %#x, want %#x", seed, step, i, l.peer.id(), l.hash, hashPeer(l.peer))
					}
					if _, j := t2.find(l.peer); int(j) != i {
						t.Fatalf("seed %d step %d: link %d (%v) indexed at %d", seed, step, i, l.peer.id(), j)
					}
				}
			}
			for _, q := range peers {
				if got := s.get(q); got != want[q] {
					t.Fatalf("seed %d step %d: get(%v) = %v, want %v", seed, step, q.id(), got, want[q])
				}
			}
		}
	}
}
