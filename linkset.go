package backplane

// link is one entry of a linkSet: the other device and the directions that
// are active between the two, seen from the owner of the set (Monitor: the
// owner watches peer; Notify: peer watches the owner).
type link struct {
	peer *device
	mode LinkMode
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
type linkTable struct {
	index map[*device]int32 // position of each peer in list
	list  []link
}

func (s *linkSet) get(p *device) LinkMode {
	if t := s.many; t != nil {
		if i, ok := t.index[p]; ok {
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
		i, ok := t.index[p]
		if !ok {
			if add != 0 {
				t.index[p] = int32(len(t.list))
				t.list = append(t.list, link{peer: p, mode: add})
			}
			return 0
		}
		old := t.list[i].mode
		if m := old&^clear | add; m != 0 {
			t.list[i].mode = m
		} else {
			t.removeAt(i)
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
	t := &linkTable{index: make(map[*device]int32, 2*len(s.peers)), list: make([]link, 0, 2*len(s.peers))}
	for i, q := range s.peers {
		t.set(q, s.modes[i])
	}
	t.set(p, mode)
	*s = linkSet{many: t}
}

func (t *linkTable) set(p *device, mode LinkMode) {
	i, ok := t.index[p]
	switch {
	case ok && mode != 0:
		t.list[i].mode = mode
	case ok:
		t.removeAt(i)
	case mode != 0:
		t.index[p] = int32(len(t.list))
		t.list = append(t.list, link{peer: p, mode: mode})
	}
}

// take is linkSet.take for a table: one lookup, then the removal at the
// position found. It is a function of its own so that the inline path of
// linkSet.take, which every seed benchmark's notification takes, stays as
// small as it was.
func (t *linkTable) take(p *device) LinkMode {
	i, ok := t.index[p]
	if !ok {
		return 0
	}
	m := t.list[i].mode
	t.removeAt(i)
	return m
}

// removeAt removes the link at position i, found by the caller's lookup,
// so that a removal probes the index no more than it must: the last link
// moves into the hole (one index update) and the peer leaves the index.
func (t *linkTable) removeAt(i int32) {
	p := t.list[i].peer
	last := int32(len(t.list) - 1)
	if i != last {
		t.list[i] = t.list[last]
		t.index[t.list[i].peer] = i
	}
	t.list[last] = link{}
	t.list = t.list[:last]
	delete(t.index, p)
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
