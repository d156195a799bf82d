package demo

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/backplane-go/backplane/supervisor"
)

// command is what the fault rounds send to a running worker.
type command struct {
	fault  FaultKind // the fault to act out; zero for a resize
	resize int       // the autoscaler only: +1 grows the pool, -1 shrinks it
}

// worker is a supervised worker of the tree: it links itself to the
// workers it depends on, registers itself so that faults can reach it,
// then idles until it is stopped or told to fail.
type worker struct {
	svc  *Service
	name string
	deps []string // workers it monitors: their faults cascade to it
}

// Serve runs one generation of the worker.
func (w *worker) Serve(ctx context.Context) error {
	self, _ := supervisor.Self(ctx)
	for _, dep := range w.deps {
		if err := w.svc.reg.link(ctx, self, dep); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
	e := w.svc.reg.add(w.name, self)
	defer w.svc.reg.remove(e)
	for {
		select {
		case <-ctx.Done():
			return nil
		case c := <-e.cmds:
			if c.resize != 0 {
				w.svc.resize(ctx, c.resize)
				continue
			}
			return w.fail(c.fault)
		}
	}
}

// fail acts out a fault.
func (w *worker) fail(kind FaultKind) error {
	switch kind {
	case FaultPanic:
		crash(w.name)
	case FaultStuck:
		// Ignore the context, as a task blocked in a call that takes none
		// would: the supervisor gives up on us after our grace.
		t := time.NewTimer(w.svc.cfg.StuckFor)
		defer t.Stop()
		select {
		case <-t.C:
		case <-w.svc.release:
		}
		return nil
	}
	return errors.New(trouble(w.name))
}

// trouble returns what goes wrong with the named worker.
func trouble(name string) string {
	switch name {
	case "db":
		return "connection refused"
	case "cache":
		return "out of memory"
	case "router":
		return "route table corrupted"
	case "sessions":
		return "session store timed out"
	case "scheduler":
		return "clock skew detected"
	case "mailer":
		return "smtp: 421 service not available"
	case scalerName:
		return "quota exceeded"
	}
	return "connection reset by peer"
}

// crash panics with a genuine runtime error, as a buggy worker would.
func crash(name string) {
	if len(name)%2 == 0 {
		var seen map[string]int
		//lint:ignore SA5000 the genuine runtime error this worker exists to show
		seen[name]++ // assignment to entry in nil map
	}
	parts := strings.Split(name, "-")
	_ = parts[len(parts)] // index out of range
}
