package backplane

// disconnect takes the device down with fault f (nil: clean). crash is set
// when the disconnect ends a managed task on its behalf (a shutdown request,
// a cascade, a kill); Manage returns it. It reports false if the device was
// already down.
func (d *device) disconnect(f *Fault, crash *Crash) bool {
	d.mu.Lock()
	if d.state == stateDown {
		d.mu.Unlock()
		return false
	}
	if crash == nil && d.state == stateManaged {
		// Disconnect or Drop called while a task runs: Manage reports it.
		crash = &Crash{Kind: CrashDisconnected, Fault: f}
	}
	d.goDown(f, crash)
	return true
}

// goDown is called with d.mu held and d connected. It unlocks d.mu, then
// tells every watcher.
func (d *device) goDown(f *Fault, crash *Crash) {
	var j downJob
	d.takeDownLocked(&j, f, crash)
	d.mu.Unlock()
	j.run()
}

// downJob is the work left after a device has gone down: cancel its task and
// tell the devices it was linked to.
type downJob struct {
	d     *device
	links linkSet
	fault *Fault
	task  *taskCtx
	cause error
}

// takeDownLocked is the atomic step of a disconnect (rule 8): under d.mu it
// marks the device down, takes its links and closes Done, so that before any
// notification goes out the device is observably gone (rule 11) and every
// later link attempt fails (rule 4). j is a zero downJob, filled here.
//
// j is filled field by field: a composite literal was built in a temporary
// and copied with 16-byte loads over 8-byte stores, which the processor
// cannot forward, and that stall was 6% of a seed benchmark's samples.
func (d *device) takeDownLocked(j *downJob, f *Fault, crash *Crash) {
	d.state = stateDown
	d.fault = f
	d.crash = crash
	j.d, j.links, j.fault = d, d.links, f
	if !d.spare { // else an unused context, not a running task's
		j.task = d.task
	}
	d.links = linkSet{}
	d.task, d.spare = nil, false
	if d.sig != nil && d.sig.done != nil {
		close(d.sig.done)
	}
	d.signalLocked() // wake a Receive waiting on an empty inbox
	d.recycleSignalsLocked()
	switch {
	case crash != nil:
		j.cause = crash
	case f != nil:
		j.cause = f
	default:
		j.cause = ErrDeviceDown
	}
}

// run finishes j and every cascade it sets off. Cascades are kept on an
// explicit stack rather than by recursion, so a chain of any length runs in
// constant goroutine stack, in the goroutine that started it: fault
// propagation never waits on user code (rule 17).
func (j *downJob) run() {
	var more []downJob
	for {
		j.finish(&more)
		if len(more) == 0 {
			return
		}
		*j = more[len(more)-1]
		more = more[:len(more)-1]
	}
}

func (j *downJob) finish(more *[]downJob) {
	if j.task != nil {
		j.task.cancel(j.cause)
	}
	if hk := hooks.Load(); hk != nil {
		emit(hk, EventDisconnected, j.d, DeviceID{}, 0, j.fault)
	}
	if j.links.many != nil {
		j.notifyMany(more)
		return
	}
	for _, p := range j.links.peers {
		if p != nil {
			j.notify(p, more)
		}
	}
}

// notifyMany is finish for a device with many links, kept out of line so
// that its stack space is not paid on the common path: the disconnect path
// runs in tasks' goroutines, whose stacks start small.
//
// Its loop handles inline the common watcher: idle and not waited on,
// which notify would only hand the message; any other goes to notify.
// Calling notify for each of thousands of watchers cost a fifth of the
// fan-out.
//
//go:noinline
func (j *downJob) notifyMany(more *[]downJob) {
	m := Message{src: j.d, fault: j.fault}
	for _, l := range j.links.many.list {
		p := l.peer
		p.mu.Lock()
		if p.state != stateIdle || p.ready {
			p.mu.Unlock()
			j.notify(p, more)
			continue
		}
		if p.links.take(m.src)&Monitor != 0 {
			p.push(m)
		}
		p.mu.Unlock()
	}
}

// notify tells p that j.d has gone down. p forgets j.d either way (rule 7);
// if p still watches j.d, it gets exactly one Disconnected message, or, when
// p is managed and the fault is real, p goes down itself with a cascade.
//
// p's own entry decides: an Unlink that ran after j.d went down removed it,
// and then nothing is delivered (rule 6).
func (j *downJob) notify(p *device, more *[]downJob) {
	from := j.d
	p.mu.Lock()
	if p.state == stateDown {
		p.mu.Unlock()
		return
	}
	if p.links.take(from)&Monitor == 0 {
		p.mu.Unlock()
		return
	}
	if p.state == stateManaged {
		if j.fault == nil { // a clean disconnect is ignored by a managed device
			p.mu.Unlock()
			return
		}
		j.cascadeLocked(p, more)
		return
	}
	p.enqueueLocked(Message{src: from, fault: j.fault})
}

// cascadeLocked takes the managed device p down because it depended on j.d,
// and queues the rest of its disconnect on more. It is called with p.mu held
// and unlocks it. It is kept out of notify to keep notify's frame small.
//
//go:noinline
func (j *downJob) cascadeLocked(p *device, more *[]downJob) {
	crash := cascadeCrash(j.d.id(), j.fault)
	*more = append(*more, downJob{})
	p.takeDownLocked(&(*more)[len(*more)-1], crash.Fault, crash)
	p.mu.Unlock()
}

// enqueueLocked puts m in d's inbox and wakes whoever waits for it. It is
// called with d.mu held and unlocks it. Delivery never blocks and never
// drops (rule 10).
func (d *device) enqueueLocked(m Message) {
	d.push(m)
	d.signalLocked()
	var wake *taskCtx
	if d.state == stateWatching {
		wake = d.task
	}
	d.mu.Unlock()
	if wake != nil {
		wake.cancel(errMessage)
	}
}

// crashed returns the Crash the device recorded when it went down during a
// managed task, or nil, and whether its task's panic is passing through.
func (d *device) crashed() (c *Crash, gone bool) {
	d.mu.Lock()
	c, gone = d.crash, d.gone
	d.mu.Unlock()
	return c, gone
}
