package supervisor

import (
	"container/heap"
	"math/rand/v2"
	"time"

	"github.com/backplane-go/backplane"
)

// restart restarts c, which ended with fault and must be restarted, with
// the siblings its strategy names.
func (r *run) restart(c *child, fault *backplane.Fault) {
	r.attempt(r.group(c), c.spec.ID, fault)
}

// group returns the children to restart with c, in start order, after
// stopping those of them that run, in reverse start order, one at a time.
// Temporary siblings stopped this way are removed, as in OTP; siblings
// that are stopped stay stopped.
func (r *run) group(c *child) []*child {
	var first *child
	switch r.cfg.strategy {
	case OneForAll:
		first = r.head
	case RestForOne:
		first = c
	default:
		c.state = ChildRestarting
		return []*child{c}
	}
	var g []*child
	for x := first; x != nil; x = x.next {
		if x == c || x.state != ChildStopped {
			g = append(g, x)
		}
	}
	for i := len(g) - 1; i >= 0; i-- {
		if x := g[i]; x.cur != nil {
			r.stopProc(x.cur)
		}
	}
	out := g[:0]
	for _, x := range g {
		if x != c && x.spec.Restart == Temporary {
			r.remove(x)
			continue
		}
		x.state = ChildRestarting
		out = append(out, x)
	}
	return out
}

// attempt counts one restart of group against the intensity, and starts
// it now or after the backoff; past the limit, the supervisor gives up.
// reason and fault name the child whose end caused it.
func (r *run) attempt(g []*child, reason string, fault *backplane.Fault) {
	if !pendingAny(g) {
		return // superseded: started meanwhile, terminated or removed
	}
	now := time.Now()
	if !r.allowRestart(now) {
		r.giveUp(reason, fault)
		return
	}
	if d := r.backoff(); d > 0 {
		r.later.add(deadline{at: now.Add(d), group: g, reason: reason, fault: fault})
		return
	}
	r.startGroup(g, reason, fault)
}

func pendingAny(g []*child) bool {
	for _, x := range g {
		if !x.removed && x.state == ChildRestarting {
			return true
		}
	}
	return false
}

// startGroup starts the children of g still waiting for a restart, in
// order. If one fails, those it started are stopped again, in reverse
// order, and a retry is queued: the loop handles it after whatever else is
// waiting, and counts it against the intensity, so a child that keeps
// failing to start ends in the restart limit, never in a blocked loop.
func (r *run) startGroup(g []*child, reason string, fault *backplane.Fault) {
	for i, x := range g {
		if x.removed || x.state != ChildRestarting {
			continue
		}
		if err := r.startProc(x); err != nil {
			r.emitStartFailed(x, err)
			for j := i - 1; j >= 0; j-- {
				if y := g[j]; !y.removed && y.cur != nil {
					r.stopProc(y.cur)
					y.state = ChildRestarting
				}
			}
			r.later.add(deadline{at: time.Now(), group: g, retry: true, reason: reason, fault: fault})
			return
		}
		r.emitStarted(x, true)
	}
}

// allowRestart records a restart at now and reports whether it is within
// the intensity: at most maxRestarts in any period.
func (r *run) allowRestart(now time.Time) bool {
	cut := now.Add(-r.cfg.period)
	kept := r.restarts[:0]
	for _, t := range r.restarts {
		if t.After(cut) {
			kept = append(kept, t)
		}
	}
	r.restarts = append(kept, now)
	return len(r.restarts) <= r.cfg.maxRestarts
}

// backoff returns the delay before the restart just counted: min·2^(k-1)
// for the k-th restart in the window, at most max, plus jitter.
func (r *run) backoff() time.Duration {
	if r.cfg.backoffMax <= 0 {
		return 0
	}
	d := r.cfg.backoffMin
	for k := 1; k < len(r.restarts) && d < r.cfg.backoffMax; k++ {
		d *= 2
	}
	d = min(d, r.cfg.backoffMax)
	if r.cfg.jitter > 0 && d > 0 {
		d += time.Duration(rand.Int64N(int64(float64(d)*r.cfg.jitter) + 1))
	}
	return d
}

// giveUp ends the run because the restart intensity was exceeded: every
// child is stopped in reverse start order, then the supervisor disconnects
// with a *RestartLimitError, which its parent sees as a fault.
func (r *run) giveUp(child string, fault *backplane.Fault) {
	err := &RestartLimitError{Supervisor: r.cfg.name, MaxRestarts: r.cfg.maxRestarts, Period: r.cfg.period, Child: child, Fault: fault}
	r.emit(RestartLimitReached{Source: r.src, Err: err})
	r.stopAll()
	_ = r.dev.Disconnect(err)
	r.finish(err)
}

// deadline is a restart the loop must make at a given time: start a group
// after its backoff, or retry a group whose start failed.
type deadline struct {
	at     time.Time
	group  []*child
	retry  bool // count against the intensity again before starting
	reason string
	fault  *backplane.Fault
	seq    uint64
}

// deadlineHeap is a min-heap of deadlines, earliest first, ties in the
// order they were added. Stale entries are skipped when they come due.
type deadlineHeap struct {
	h   dheap
	seq uint64
}

func (d *deadlineHeap) add(x deadline) {
	d.seq++
	x.seq = d.seq
	heap.Push(&d.h, x)
}

func (d *deadlineHeap) next() (time.Time, bool) {
	if len(d.h) == 0 {
		return time.Time{}, false
	}
	return d.h[0].at, true
}

func (d *deadlineHeap) popDue(now time.Time) (deadline, bool) {
	if len(d.h) == 0 || d.h[0].at.After(now) {
		return deadline{}, false
	}
	return heap.Pop(&d.h).(deadline), true
}

type dheap []deadline

func (h dheap) Len() int { return len(h) }
func (h dheap) Less(i, j int) bool {
	if h[i].at.Equal(h[j].at) {
		return h[i].seq < h[j].seq
	}
	return h[i].at.Before(h[j].at)
}
func (h dheap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *dheap) Push(x any)   { *h = append(*h, x.(deadline)) }
func (h *dheap) Pop() any {
	old := *h
	x := old[len(old)-1]
	old[len(old)-1] = deadline{}
	*h = old[:len(old)-1]
	return x
}

// graceHeap holds the children whose device went down while their task
// still ran, earliest grace deadline first. A child leaves it as soon as
// its task returns, so it stays as small as the number of such children.
type graceHeap []*proc

func (h *graceHeap) add(p *proc) { heap.Push(h, p) }

// drop removes p if it is in the heap.
func (h *graceHeap) drop(p *proc) {
	if p.graceIdx >= 0 && p.graceIdx < len(*h) && (*h)[p.graceIdx] == p {
		heap.Remove(h, p.graceIdx)
	}
}

func (h graceHeap) next() (time.Time, bool) {
	if len(h) == 0 {
		return time.Time{}, false
	}
	return h[0].graceAt, true
}

func (h *graceHeap) popDue(now time.Time) (*proc, bool) {
	if len(*h) == 0 || (*h)[0].graceAt.After(now) {
		return nil, false
	}
	return heap.Pop(h).(*proc), true
}

func (h graceHeap) Len() int           { return len(h) }
func (h graceHeap) Less(i, j int) bool { return h[i].graceAt.Before(h[j].graceAt) }
func (h graceHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].graceIdx, h[j].graceIdx = i, j
}
func (h *graceHeap) Push(x any) {
	p := x.(*proc)
	p.graceIdx = len(*h)
	*h = append(*h, p)
}
func (h *graceHeap) Pop() any {
	old := *h
	p := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	p.graceIdx = -1
	return p
}
