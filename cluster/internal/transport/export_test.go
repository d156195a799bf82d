package transport

import "github.com/backplane-go/backplane/cluster/internal/wire"

// crash closes t without Byes, as if the process died.
func (t *Transport) crash() {
	t.closeOnce.Do(func() { t.closeErr = t.shutdown(false) })
}

// epochs returns the epochs of the live session with n.
func (t *Transport) epochs(n wire.Node) (tx, rx, txSeq uint64, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.lookup(n)
	if p == nil || p.sess == nil {
		return 0, 0, 0, false
	}
	s := p.sess
	return s.txEpoch, s.rxEpoch, s.txSeq, true
}
