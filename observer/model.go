package observer

import "github.com/backplane-go/backplane"

// devLocked returns the model of id, creating it (alive) if unknown. It
// returns nil for the zero ID and for a device recently forgotten: events
// from different goroutines can arrive out of order (a link, or a
// supervisor's report of a start, after the device's disconnect), and must
// not bring a forgotten device back to life.
func (r *Recorder) devLocked(id backplane.DeviceID, now int64) *devRec {
	if id.IsZero() {
		return nil
	}
	d := r.devs[id]
	if d == nil {
		if _, gone := r.gone[id]; gone {
			return nil
		}
		d = &devRec{id: id, since: now}
		r.devs[id] = d
		r.st.alive++
	}
	return d
}

// setLinkLocked changes the link between d and p from old to m, seen from d.
func (r *Recorder) setLinkLocked(d, p *devRec, old, m backplane.LinkMode) {
	if old == m {
		return
	}
	switch {
	case m == 0:
		delete(d.links, p.id)
		delete(p.links, d.id)
		r.st.links--
		return
	case old == 0:
		r.st.links++
	}
	if d.links == nil {
		d.links = make(map[backplane.DeviceID]backplane.LinkMode, 2)
	}
	if p.links == nil {
		p.links = make(map[backplane.DeviceID]backplane.LinkMode, 2)
	}
	d.links[p.id] = m
	p.links[d.id] = flip(m)
}

// downLocked marks d disconnected with f: its links go, as they do in the
// backplane, and so does its Line.
func (r *Recorder) downLocked(d *devRec, f *backplane.Fault, now int64) {
	d.down, d.fault, d.downAt = true, f, now
	d.line = backplane.Line{}
	for p := range d.links {
		if pd := r.devs[p]; pd != nil {
			delete(pd.links, d.id)
		}
		r.st.links--
	}
	d.links = nil
	r.st.alive--
	r.downQ = append(r.downQ, downEntry{id: d.id, at: now})
}

// adoptLocked makes c a child of s.
func (r *Recorder) adoptLocked(s, c *devRec) {
	if c.parent == s.id || c == s {
		return
	}
	if old := r.devs[c.parent]; old != nil {
		delete(old.children, c.id)
	}
	c.parent = s.id
	if s.children == nil {
		s.children = make(map[backplane.DeviceID]struct{}, 4)
	}
	s.children[c.id] = struct{}{}
}

// pruneLocked forgets disconnected devices past the retention or the cap.
func (r *Recorder) pruneLocked(now int64) {
	for r.downHd < len(r.downQ) {
		e := r.downQ[r.downHd]
		if len(r.downQ)-r.downHd <= r.cfg.maxDown && now-e.at < int64(r.cfg.retention) {
			break
		}
		r.downQ[r.downHd] = downEntry{}
		r.downHd++
		r.forgetLocked(e.id)
	}
	// Reuse the queue's space once its dead head dominates it.
	if r.downHd > 0 && r.downHd >= len(r.downQ)/2 {
		n := copy(r.downQ, r.downQ[r.downHd:])
		r.downQ, r.downHd = r.downQ[:n], 0
	}
}

func (r *Recorder) forgetLocked(id backplane.DeviceID) {
	d := r.devs[id]
	if d == nil {
		return
	}
	delete(r.devs, id)
	if p := r.devs[d.parent]; p != nil {
		delete(p.children, id)
	}
	// Remember the ID for a while, in a ring of fixed size.
	if old := r.goneQ[r.goneHd]; !old.IsZero() {
		delete(r.gone, old)
	}
	r.goneQ[r.goneHd] = id
	r.goneHd = (r.goneHd + 1) % len(r.goneQ)
	r.gone[id] = struct{}{}
}

// pushLocked appends e to the event ring (and to the fault ring if fault)
// and wakes the subscribers.
func (r *Recorder) pushLocked(e entry, fault bool) {
	r.seq++
	e.seq = r.seq
	r.ring[(r.seq-1)%uint64(len(r.ring))] = e
	if fault {
		r.nfault++
		r.faults[(r.nfault-1)%uint64(len(r.faults))] = e
	}
	for _, c := range r.subs {
		select {
		case c <- struct{}{}:
		default:
		}
	}
}

// subscribe returns a channel that receives a value (drops when full)
// after events are recorded, and a function to stop.
func (r *Recorder) subscribe() (<-chan struct{}, func()) {
	c := make(chan struct{}, 1)
	r.mu.Lock()
	r.initLocked()
	r.subs = append(r.subs, c)
	r.mu.Unlock()
	return c, func() {
		r.mu.Lock()
		for i, s := range r.subs {
			if s == c {
				r.subs = append(r.subs[:i], r.subs[i+1:]...)
				break
			}
		}
		r.mu.Unlock()
	}
}

// flip returns m seen from the other end of the link.
func flip(m backplane.LinkMode) backplane.LinkMode {
	return m&backplane.Monitor<<1 | m&backplane.Notify>>1
}

func faultIndex(f *backplane.Fault) int {
	if f == nil {
		return 0
	}
	if int(f.Kind) < len(counters{}.disconnects) {
		return int(f.Kind)
	}
	return len(counters{}.disconnects) - 1
}
