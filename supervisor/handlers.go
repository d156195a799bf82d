package supervisor

import (
	"errors"
	"fmt"
)

// add handles AddChild.
func (r *run) add(spec ChildSpec) (string, error) {
	if err := spec.check(r.cfg); err != nil {
		return "", err
	}
	if spec.ID == "" {
		for {
			r.autoID++
			spec.ID = fmt.Sprintf("child-%d", r.autoID)
			if _, used := r.children[spec.ID]; !used {
				break
			}
		}
	} else if _, used := r.children[spec.ID]; used {
		return "", fmt.Errorf("%w: %q", ErrAlreadyExists, spec.ID)
	}
	c := &child{spec: spec}
	r.push(c)
	err := r.startProc(c)
	if err == ErrIgnore {
		r.ignored(c)
		return spec.ID, nil
	}
	if err != nil {
		r.emitStartFailed(c, err)
		r.remove(c)
		return "", &StartError{Supervisor: r.cfg.name, Child: spec.ID, Err: err}
	}
	r.emitStarted(c, false)
	return spec.ID, nil
}

// terminate handles TerminateChild.
func (r *run) terminate(id string) error {
	c, ok := r.children[id]
	if !ok {
		return fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	stopped := true
	if c.cur != nil {
		stopped = r.stopProc(c.cur)
	}
	if c.spec.Restart == Temporary || r.cfg.strategy == Dynamic {
		r.remove(c)
	} else {
		c.state = ChildStopped
		r.release(c)
	}
	if !stopped {
		return fmt.Errorf("%w: %q", ErrAbandoned, id)
	}
	return nil
}

// restartByAPI handles RestartChild.
func (r *run) restartByAPI(id string) error {
	if r.cfg.strategy == Dynamic {
		return fmt.Errorf("supervisor: restart child: %w by a Dynamic supervisor", errors.ErrUnsupported)
	}
	c, ok := r.children[id]
	switch {
	case !ok:
		return fmt.Errorf("%w: %q", ErrNotFound, id)
	case c.state == ChildRunning:
		return fmt.Errorf("%w: %q", ErrRunning, id)
	case c.state == ChildRestarting:
		return fmt.Errorf("%w: %q", ErrRestarting, id)
	}
	err := r.startProc(c)
	if err == ErrIgnore {
		return nil // still stopped: OTP's {ok, undefined}
	}
	if err != nil {
		r.emitStartFailed(c, err)
		return &StartError{Supervisor: r.cfg.name, Child: id, Err: err}
	}
	r.emitStarted(c, false)
	return nil
}

// delete handles DeleteChild.
func (r *run) delete(id string) error {
	if r.cfg.strategy == Dynamic {
		return fmt.Errorf("supervisor: delete child: %w by a Dynamic supervisor", errors.ErrUnsupported)
	}
	c, ok := r.children[id]
	switch {
	case !ok:
		return fmt.Errorf("%w: %q", ErrNotFound, id)
	case c.state == ChildRestarting:
		return fmt.Errorf("%w: %q", ErrRestarting, id)
	case c.state != ChildStopped:
		return fmt.Errorf("%w: %q", ErrRunning, id)
	}
	r.remove(c)
	return nil
}

// list handles Children.
func (r *run) list() []ChildInfo {
	out := make([]ChildInfo, 0, len(r.children))
	for c := r.head; c != nil; c = c.next {
		ci := ChildInfo{
			ID:          c.spec.ID,
			State:       c.state,
			Generation:  c.gen,
			Restart:     c.spec.Restart,
			Significant: c.spec.Significant,
			Supervisor:  c.spec.isSupervisor(),
		}
		if c.cur != nil {
			ci.Line = c.cur.line
		}
		out = append(out, ci)
	}
	return out
}

// count handles Count.
func (r *run) count() Counts {
	var n Counts
	for c := r.head; c != nil; c = c.next {
		n.Specs++
		if c.state == ChildRunning {
			n.Active++
		}
		if c.spec.isSupervisor() {
			n.Supervisors++
		} else {
			n.Workers++
		}
	}
	return n
}

func (r *run) emitStarted(c *child, restarted bool) {
	if r.cfg.hook == nil {
		return
	}
	if restarted {
		r.emit(ChildRestarted{Source: r.src, Instance: c.cur.instance()})
		return
	}
	r.emit(ChildStarted{Source: r.src, Instance: c.cur.instance()})
}

func (r *run) emitStartFailed(c *child, err error) {
	if r.cfg.hook == nil {
		return
	}
	r.emit(ChildStartFailed{Source: r.src, Instance: Instance{Child: c.spec.ID, Generation: c.gen}, Err: err})
}
