package demo

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"

	"github.com/backplane-go/backplane"
)

// registry knows the running workers by name, so that faults can reach
// them and workers can find the devices they depend on.
type registry struct {
	mu      sync.Mutex
	workers map[string]*entry
	changed chan struct{} // closed and replaced on every change
}

// entry is one running worker.
type entry struct {
	name string
	line backplane.Line
	cmds chan command // unbuffered: read by the worker's loop
}

func (r *registry) init() {
	r.workers = make(map[string]*entry)
	r.changed = make(chan struct{})
}

// notifyLocked wakes everyone waiting for a change.
func (r *registry) notifyLocked() {
	close(r.changed)
	r.changed = make(chan struct{})
}

// add registers a running worker, replacing an older generation.
func (r *registry) add(name string, line backplane.Line) *entry {
	e := &entry{name: name, line: line, cmds: make(chan command)}
	r.mu.Lock()
	r.workers[name] = e
	r.notifyLocked()
	r.mu.Unlock()
	return e
}

// remove forgets e, unless a newer generation has replaced it.
func (r *registry) remove(e *entry) {
	r.mu.Lock()
	if r.workers[e.name] == e {
		delete(r.workers, e.name)
		r.notifyLocked()
	}
	r.mu.Unlock()
}

// get returns the running worker called name.
func (r *registry) get(name string) (*entry, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.workers[name]
	return e, ok
}

// running reports whether every worker in names and at least conns
// connections are running; if not, the channel is closed at the next change.
func (r *registry) running(names []string, conns int) (<-chan struct{}, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, name := range names {
		if r.workers[name] == nil {
			return r.changed, false
		}
	}
	for name := range r.workers {
		if strings.HasPrefix(name, connPrefix) {
			conns--
		}
	}
	return r.changed, conns <= 0
}

// conns returns the names of the running connections, oldest first.
func (r *registry) conns() []string {
	r.mu.Lock()
	var names []string
	for name := range r.workers {
		if strings.HasPrefix(name, connPrefix) {
			names = append(names, name)
		}
	}
	r.mu.Unlock()
	slices.SortFunc(names, func(a, b string) int {
		return cmp.Or(cmp.Compare(len(a), len(b)), strings.Compare(a, b))
	})
	return names
}

// link makes self monitor the worker called dep, waiting for it to be
// running. It returns context.Cause(ctx) if ctx is done first.
func (r *registry) link(ctx context.Context, self backplane.Line, dep string) error {
	for {
		r.mu.Lock()
		e, changed := r.workers[dep], r.changed
		r.mu.Unlock()
		if e != nil {
			err := self.Link(e.line, backplane.Monitor)
			if err == nil || !errors.Is(err, backplane.ErrLinkDown) {
				return err
			}
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
}
