package supervisor_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/supervisor"
)

var errBoom = errors.New("boom")

// recorder collects a supervisor's events.
type recorder struct {
	mu     sync.Mutex
	events []supervisor.Event
}

func (r *recorder) hook(e supervisor.Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

func (r *recorder) option() supervisor.Option { return supervisor.WithEventHook(r.hook) }

// log returns the events as "type child" lines (device IDs left out, so
// that they compare across runs).
func (r *recorder) log() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.events))
	for _, e := range r.events {
		out = append(out, short(e))
	}
	return out
}

// all returns a copy of the events.
func (r *recorder) all() []supervisor.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]supervisor.Event(nil), r.events...)
}

func (r *recorder) reset() {
	r.mu.Lock()
	r.events = nil
	r.mu.Unlock()
}

func (r *recorder) count(t supervisor.EventType) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.events {
		if e.Type() == t {
			n++
		}
	}
	return n
}

// short renders an event without device IDs.
func short(e supervisor.Event) string {
	switch e := e.(type) {
	case supervisor.ChildStarted:
		return "started " + e.Child
	case supervisor.ChildRestarted:
		return "restarted " + e.Child
	case supervisor.ChildExited:
		how := "exited"
		if e.Stopped {
			how = "stopped"
		}
		return how + " " + e.Child
	case supervisor.ChildStartFailed:
		return "startfailed " + e.Child
	case supervisor.ChildAbandoned:
		return "abandoned " + e.Child
	case supervisor.RestartLimitReached:
		return "limit " + e.Err.Child
	case supervisor.AutoShutdownTriggered:
		return "autoshutdown " + e.Child
	}
	return fmt.Sprint(e)
}

// worker is a child whose end the test decides: each value sent on ends is
// run by the current generation and its result returned. It returns nil
// when its context is cancelled.
type worker struct {
	ends chan func() error
}

func newWorker() *worker { return &worker{ends: make(chan func() error)} }

func (w *worker) Serve(ctx context.Context) error {
	select {
	case f := <-w.ends:
		return f()
	case <-ctx.Done():
		return nil
	}
}

// end makes the running generation return f().
func (w *worker) end(f func() error) { w.ends <- f }

func (w *worker) fail()  { w.end(func() error { return errBoom }) }
func (w *worker) clean() { w.end(func() error { return nil }) }
func (w *worker) panic() { w.end(func() error { panic("kaboom") }) }

// served runs sup.Serve in a goroutine; wait returns its result.
type served struct {
	done chan struct{}
	err  error
}

// serve serves sup in a goroutine and returns once it serves (Ready) or
// Serve has returned (a failed start).
func serve(sup *supervisor.Supervisor) *served {
	s := serveAsync(sup)
	select {
	case <-sup.Ready():
	case <-s.done:
	}
	return s
}

// serveAsync serves sup in a goroutine and returns at once.
func serveAsync(sup *supervisor.Supervisor) *served {
	s := &served{done: make(chan struct{})}
	go func() {
		defer close(s.done)
		s.err = sup.Serve(context.Background())
	}()
	return s
}

func (s *served) wait() error {
	<-s.done
	return s.err
}

func (s *served) isDone() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

func mustNew(t testing.TB, opts ...supervisor.Option) *supervisor.Supervisor {
	t.Helper()
	s, err := supervisor.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// states renders the children as "id:state:gen" joined by spaces.
func states(t testing.TB, sup *supervisor.Supervisor) string {
	t.Helper()
	cs, err := sup.Children(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	parts := make([]string, 0, len(cs))
	for _, c := range cs {
		parts = append(parts, fmt.Sprintf("%s:%s:%d", c.ID, c.State, c.Generation))
	}
	return strings.Join(parts, " ")
}

func lineOf(t testing.TB, sup *supervisor.Supervisor, id string) backplane.Line {
	t.Helper()
	cs, err := sup.Children(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if c.ID == id {
			return c.Line
		}
	}
	t.Fatalf("no child %q", id)
	return backplane.Line{}
}

func stop(t testing.TB, sup *supervisor.Supervisor, s *served) error {
	t.Helper()
	if err := sup.Line().Shutdown(backplane.DeviceID{}); err != nil {
		t.Fatal(err)
	}
	return s.wait()
}

func equal(t testing.TB, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("%s:\n got  %q\n want %q", what, got, want)
	}
}
