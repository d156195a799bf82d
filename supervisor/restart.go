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
// order. A child whose Start returns ErrIgnore stays stopped. If one, Ck,
// fails to start, a retry is queued, as OTP's try_again: under
// RestForOne it retries from Ck, the children before it staying up
// (those after it were stopped by the group restart and wait for it);
// under OneForAll those it started are stopped again, in reverse order,
// and the whole group is retried. The loop handles the retry after
// whatever else is waiting, and counts it against the intensity, so a
// child that keeps failing to start ends in the restart limit, never in a
// blocked loop.
func (r *run) startGroup(g []*child, reason string, fault *backplane.Fault) {
	for i, x := range g {
		if x.removed || x.state != ChildRestarting {
			continue
		}
		err := r.startProc(x)
		if err == ErrIgnore {
			r.ignored(x)
			continue
		}
		if err != nil {
			r.emitStartFailed(x, err)
			retry := g[i:]
			if r.cfg.strategy == OneForAll {
				retry = g
				for j := i - 1; j >= 0; j-- {
					if y := g[j]; !y.removed && y.cur != nil {
						r.stopProc(y.cur)
						y.state = ChildRestarting
					}
				}
			}
			r.later.add(deadline{at: time.Now(), group: retry, retry: true, reason: reason, fault: fault})
			return
		}
		r.emitStarted(x, true)
	}
}

// allowRestart records a restart at now and reports whether it is within
// the intensity: at most maxRestarts in any period.
func (r *run) allowRestart(now time.Time) bool {
	at := now.Sub(r.epoch)
	r.pruneRestarts(at)
	r.restarts = append(r.restarts, at)
	return len(r.restarts) <= r.cfg.maxRestarts
}

// pruneRestarts forgets the restarts older than the period before at (a
// time since the run's epoch), and returns at.
func (r *run) pruneRestarts(at time.Duration) time.Duration {
	cut := at - r.cfg.period
	i := 0
	for i < len(r.restarts) && r.restarts[i] <= cut {
		i++
	}
	if i > 0 {
		r.restarts = r.restarts[:copy(r.restarts, r.restarts[i:])]
	}
	return at
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

// inPlaceOff switches the in-place restart off: every restart then goes
// through the loop. It is set only by the tests, before any supervisor
// runs, and never changes while one does.
var inPlaceOff bool

// inPlace reports whether p, once its task has returned, may be restarted
// in place by its runner: a worker with no start step, which a restart
// replaces alone (OneForOne, Dynamic), at once (no backoff), under a
// supervisor that allows restarts at all. Whether it is, restartInPlace
// decides when the time comes.
//
// The whole test suite also runs with the in-place path switched off
// (inPlaceOff, set by the tests from BACKPLANE_SUPERVISOR_INPLACE=off; see
// .ci/run), so that both paths are held to the same tests.
func (r *run) inPlace(p *proc) bool {
	c := p.c
	return !inPlaceOff && (r.cfg.strategy == OneForOne || r.cfg.strategy == Dynamic) &&
		r.cfg.backoffMax <= 0 && r.cfg.maxRestarts > 0 &&
		c.spec.Restart != Temporary && p.started == nil
}

// restartInPlace is the fast path of a restart: the runner of a child
// whose task has just returned res restarts it itself, in its own
// goroutine, when the loop is idle and nothing is waiting for it. It does
// under r.mu what the loop would do with p's exit (handleExit, then
// attempt and startProc for the child alone): the same checks, the same
// intensity accounting, the same events in the same order, and the next
// generation's new device. It reports false, having changed nothing,
// whenever the loop must decide: the loop is busy, the run is finishing,
// other exits, messages or deadlines are waiting (they come first), the
// child is not to be restarted, or not at once, or not by itself, the
// restart would exceed the intensity, the child is being stopped or its
// device went down under it, or the new device cannot be linked. The
// runner then reports p's exit as usual.
func (r *run) restartInPlace(p *proc, dev *backplane.Device, res error) (*proc, *backplane.Device, bool) {
	c := p.c
	if !p.unlinked {
		// Not eligible, or its device went down under it (a cascade, a
		// shutdown request, a kill): its Disconnected is on its way to the
		// loop, which handles the whole of it.
		return nil, nil, false
	}
	var fault *backplane.Fault
	if c.spec.Restart == Transient || r.cfg.hook != nil {
		fault = faultOf(dev)
		if c.spec.Restart == Transient && fault == nil {
			return nil, nil, false // a clean end: it stays stopped
		}
	}
	if !r.mu.TryLock() {
		return nil, nil, false // the loop is busy: never wait for it
	}
	defer r.mu.Unlock()
	if !r.idleFor(p) {
		return nil, nil, false
	}
	at := r.pruneRestarts(time.Since(r.epoch))
	if len(r.restarts) >= r.cfg.maxRestarts {
		return nil, nil, false // the loop gives up
	}
	next, err := r.newDevice(c)
	if err != nil {
		return nil, nil, false // the loop reports the failed start
	}
	// Committed: from here on, exactly what the loop does.
	listed := p.unmapped // p is in r.unmapped already
	r.forget(p)          // unlinked: no Disconnected comes for it
	c.cur = nil
	if r.cfg.hook != nil {
		r.emit(ChildExited{Source: r.src, Instance: p.instance(), Fault: fault, Err: res})
	}
	r.restarts = append(r.restarts, at)
	// The next generation takes over p's memory: nothing refers to p any
	// more (its exit is taken here, no Disconnected comes for it, it is in
	// no heap and no list, it was never abandoned, so nobody waits for its
	// end, and its task's context is its own), and identity is the
	// device's, never the proc's.
	rn := p.rn
	r.initProc(p, c, next)
	p.rn = rn
	p.unmapped = true
	if !listed {
		r.unmapped = append(r.unmapped, p)
	}
	c.cur = p
	c.state = ChildRunning
	r.emitStarted(c, true)
	return p, next, true
}

// idleFor reports, under r.mu, whether the loop has nothing to do that
// must come before the restart of p's child, and p is still its current,
// undisturbed generation.
func (r *run) idleFor(p *proc) bool {
	c := p.c
	if r.finished || c.removed || c.cur != p || c.idle != nil || p.stopping || p.down ||
		r.pendingAt < len(r.pending) || len(r.graces) > 0 || len(r.later.h) > 0 {
		return false
	}
	select {
	case <-r.done:
		return false // the loop shuts down
	default:
	}
	if r.dev.Pending() > 0 {
		return false // a shutdown request, or a child's or dependency's end
	}
	return r.exits.n.Load() == 0
}
