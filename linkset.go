package backplane

// link is one entry of a linkSet: the other device and the directions that
// are active between the two, seen from the owner of the set (Monitor: the
// owner watches peer; Notify: peer watches the owner). In a linkTable it
// also carries the peer's hash (hashPeer), in what would be padding.
type link struct {
	peer *device
	mode LinkMode
	hash uint32
}

// linkSet holds a device's links. Most devices have one or two, which live
// inline in the device (peers and modes in separate arrays, which packs the
// set into four words); past that the set moves to a linkTable, so linking
// and unlinking stay O(1) however many edges a device has.
type linkSet struct {
	peers [2]*device
	many  *linkTable
	modes [2]LinkMode
}

// linkTable is a dense list of links with an index by peer. The list keeps
// a disconnect's walk over thousands of watchers sequential in memory (in
// link order, which is mostly allocation order), where walking a map would
// jump around the heap; the index keeps lookups and removals O(1).
//
// The index is an open-addressing hash table of positions in list, with
// linear probing, at most half full, and deletion by shifting back the
// entries that follow (so it never holds tombstones): a slot holds 1 + the
// position of a link, or 0 when empty, and a link's home slot is the top
// bits of its hash. A peer's hash is its sequence number times the golden
// ratio, which spreads consecutive numbers evenly. A Go map in its place
// cost a hub of 10,000 links more than the rest of a removal: its
// deletions leave tombstones that lengthen later probes, and it hashes a
// pointer through the runtime's generic path.
type linkTable struct {
	list  []link
	index []int32
	shift uint8 // 32 - log2(len(index)): a hash's home slot is hash >> shift
}

// hashPeer is p's hash in a linkTable.
func hashPeer(p *device) uint32 { return uint32((p.n * 0x9E3779B97F4A7C15) >> 32) }

// newLinkTable returns a table with room for n links before it grows.
func newLinkTable(n int) *linkTable {
	t := &linkTable{list: make([]link, 0, n)}
	t.rehash(n)
	return t
}

// find returns the slot of p's entry and p's position in the list, or the
// empty slot where p's entry would go and -1.
func (t *linkTable) find(p *device) (slot uint32, pos int32) {
	h := hashPeer(p)
	mask := uint32(len(t.index) - 1)
	for s := h >> t.shift; ; s = (s + 1) & mask {
		v := t.index[s]
		if v == 0 {
			return s, -1
		}
		if l := &t.list[v-1]; l.hash == h && l.peer == p {
			return s, v - 1
		}
	}
}

// rehash makes an index with room for n links (at most half full) and
// fills it from the list.
func (t *linkTable) rehash(n int) {
	bits := uint8(3)
	for 1<<bits < 2*n {
		bits++
	}
	t.index = make([]int32, 1<<bits)
	t.shift = 32 - bits
	mask := uint32(len(t.index) - 1)
	for i := range t.list {
		s := t.list[i].hash >> t.shift
		for t.index[s] != 0 {
			s = (s + 1) & mask
		}
		t.index[s] = int32(i + 1)
	}
}

// add appends p with mode at slot, the empty slot find returned for p.
func (t *linkTable) add(slot uint32, p *device, mode LinkMode) {
	n := len(t.list)
	t.list = append(t.list, link{peer: p, mode: mode, hash: hashPeer(p)})
	if 2*(n+1) > len(t.index) {
		t.rehash(2 * (n + 1)) // the slot found is of the old index
		return
	}
	t.index[slot] = int32(n + 1)
}

func (s *linkSet) get(p *device) LinkMode {
	if t := s.many; t != nil {
		if _, i := t.find(p); i >= 0 {
			return t.list[i].mode
		}
		return 0
	}
	for i, q := range s.peers {
		if q == p {
			return s.modes[i]
		}
	}
	return 0
}

// take removes p and returns the mode it had (0 if none), in one pass:
// it is the step every notification of a disconnect takes on the watcher.
func (s *linkSet) take(p *device) LinkMode {
	if t := s.many; t != nil {
		return t.take(p)
	}
	for i, q := range s.peers {
		if q == p {
			m := s.modes[i]
			s.peers[i], s.modes[i] = nil, 0
			return m
		}
	}
	return 0
}

// update gives p the mode old&^clear|add, where old is the mode p had (0 if
// none), and returns old: the read and the write of Link and Unlink with one
// lookup. A resulting zero mode removes p.
func (s *linkSet) update(p *device, add, clear LinkMode) LinkMode {
	if t := s.many; t != nil {
		slot, i := t.find(p)
		if i < 0 {
			if add != 0 {
				t.add(slot, p, add)
			}
			return 0
		}
		old := t.list[i].mode
		if m := old&^clear | add; m != 0 {
			t.list[i].mode = m
		} else {
			t.removeAt(slot, i)
		}
		return old
	}
	for i, q := range s.peers {
		if q == p {
			old := s.modes[i]
			m := old&^clear | add
			if m == 0 {
				s.peers[i] = nil
			}
			s.modes[i] = m
			return old
		}
	}
	if add != 0 {
		s.set(p, add)
	}
	return 0
}

// set records mode for p; a zero mode removes p.
func (s *linkSet) set(p *device, mode LinkMode) {
	if t := s.many; t != nil {
		t.set(p, mode)
		return
	}
	free := -1
	for i, q := range s.peers {
		switch q {
		case p:
			if mode == 0 {
				s.peers[i] = nil
			}
			s.modes[i] = mode
			return
		case nil:
			if free < 0 {
				free = i
			}
		}
	}
	if mode == 0 {
		return
	}
	if free >= 0 {
		s.peers[free], s.modes[free] = p, mode
		return
	}
	t := newLinkTable(2 * len(s.peers))
	for i, q := range s.peers {
		t.set(q, s.modes[i])
	}
	t.set(p, mode)
	*s = linkSet{many: t}
}

func (t *linkTable) set(p *device, mode LinkMode) {
	slot, i := t.find(p)
	switch {
	case i >= 0 && mode != 0:
		t.list[i].mode = mode
	case i >= 0:
		t.removeAt(slot, i)
	case mode != 0:
		t.add(slot, p, mode)
	}
}

// take is linkSet.take for a table: one lookup, then the removal at the
// position found. It is a function of its own so that the inline path of
// linkSet.take, which every seed benchmark's notification takes, stays as
// small as it was.
func (t *linkTable) take(p *device) LinkMode {
	slot, i := t.find(p)
	if i < 0 {
		return 0
	}
	m := t.list[i].mode
	t.removeAt(slot, i)
	return m
}

// removeAt removes the link at position i, whose index entry is at slot,
// both found by the caller's lookup. The entries after slot in its run
// shift back to fill the hole where their probe allows; then the last link
// moves into the list's hole, and its entry is found (one short probe, no
// comparison of peers) and pointed at its new position.
func (t *linkTable) removeAt(slot uint32, i int32) {
	mask := uint32(len(t.index) - 1)
	hole := slot
	for s := (slot + 1) & mask; ; s = (s + 1) & mask {
		v := t.index[s]
		if v == 0 {
			break
		}
		// The entry at s may fill the hole unless its home slot lies
		// cyclically in (hole, s]: then a probe from home would not pass
		// the hole.
		home := t.list[v-1].hash >> t.shift
		if (s-home)&mask >= (s-hole)&mask {
			t.index[hole] = v
			hole = s
		}
	}
	t.index[hole] = 0
	last := int32(len(t.list) - 1)
	if i != last {
		moved := t.list[last]
		s := moved.hash >> t.shift
		for t.index[s] != last+1 {
			s = (s + 1) & mask
		}
		t.index[s] = i + 1
		t.list[i] = moved
	}
	t.list[last] = link{}
	t.list = t.list[:last]
}

func (s *linkSet) len() int {
	if s.many != nil {
		return len(s.many.list)
	}
	n := 0
	for _, q := range s.peers {
		if q != nil {
			n++
		}
	}
	return n
}

// links returns the links in the set; a copy, for inspection (tests).
func (s *linkSet) links() []link {
	if s.many != nil {
		return append([]link(nil), s.many.list...)
	}
	var out []link
	for i, q := range s.peers {
		if q != nil {
			out = append(out, link{peer: q, mode: s.modes[i]})
		}
	}
	return out
}
