package backplane

import (
	"fmt"
	"testing"
)

// BenchmarkLinkTable/take_N: one watcher link added to and taken from a
// set that already holds N links, as a hub watched by N devices does when
// one more of them comes and goes (the take is what the hub's side of a
// disconnect notification costs). The cost should not grow with N.
func BenchmarkLinkTable(b *testing.B) {
	for _, n := range []int{100, 10_000} {
		b.Run(fmt.Sprintf("take_%d", n), func(b *testing.B) {
			var s linkSet
			for i := range n {
				s.set(&device{n: uint64(i + 1)}, Monitor)
			}
			// Several peers in turn, so that each removal moves another
			// link into the hole, as removals in any order do.
			ps := make([]*device, 64)
			for i := range ps {
				ps[i] = &device{n: uint64(n + i + 1)}
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				p := ps[i%len(ps)]
				i++
				s.set(p, Monitor)
				if s.take(p) != Monitor {
					b.Fatal("take lost the link")
				}
			}
		})
	}
}
