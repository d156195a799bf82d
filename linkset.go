package backplane

// link is one entry of a linkSet: the other device and the directions that
// are active between the two, seen from the owner of the set (Monitor: the
// owner watches peer; Notify: peer watches the owner).
type link struct {
	peer *device
	mode LinkMode
}

// linkSet holds a device's links. Most devices have one or two, which live
// inline in the device; past that the set moves to a map, so linking and
// unlinking stay O(1) however many edges a device has.
type linkSet struct {
	few  [2]link
	many map[*device]LinkMode
}

func (s *linkSet) get(p *device) LinkMode {
	if s.many != nil {
		return s.many[p]
	}
	for i := range s.few {
		if s.few[i].peer == p {
			return s.few[i].mode
		}
	}
	return 0
}

// set records mode for p; a zero mode removes p.
func (s *linkSet) set(p *device, mode LinkMode) {
	if s.many != nil {
		if mode == 0 {
			delete(s.many, p)
		} else {
			s.many[p] = mode
		}
		return
	}
	free := -1
	for i := range s.few {
		switch s.few[i].peer {
		case p:
			if mode == 0 {
				s.few[i] = link{}
			} else {
				s.few[i].mode = mode
			}
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
		s.few[free] = link{peer: p, mode: mode}
		return
	}
	s.many = make(map[*device]LinkMode, 2*len(s.few))
	for _, l := range s.few {
		s.many[l.peer] = l.mode
	}
	s.few = [len(s.few)]link{}
	s.many[p] = mode
}

func (s *linkSet) len() int {
	if s.many != nil {
		return len(s.many)
	}
	n := 0
	for _, l := range s.few {
		if l.peer != nil {
			n++
		}
	}
	return n
}
