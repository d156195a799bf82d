package backplane_test

import (
	"context"
	"testing"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/observer"
)

// BenchmarkHook measures what an event hook costs on the hot paths: the same
// operations with no hook (one atomic load and a branch), with a hook that
// does nothing, and with the observer's Recorder installed.
func BenchmarkHook(b *testing.B) {
	hooks := []struct {
		name string
		hook func() backplane.Hook
	}{
		{"none", func() backplane.Hook { return nil }},
		{"noop", func() backplane.Hook { return func(backplane.Event) {} }},
		{"recorder", func() backplane.Hook { return observer.NewRecorder().Record }},
	}
	ops := []struct {
		name string
		run  func(b *testing.B)
	}{
		{"device_monitor_error_notify", func(b *testing.B) { pairNotify(b, viaDevice, backplane.Monitor, true) }},
		{"task_monitor_error_notify", benchTaskMonitorError},
	}
	for _, op := range ops {
		for _, h := range hooks {
			b.Run(op.name+"/"+h.name, func(b *testing.B) {
				defer backplane.AddHook(h.hook())()
				op.run(b)
			})
		}
	}
}

// benchTaskMonitorError: a watcher monitors a new managed task, which
// returns an error; the watcher receives the notification.
func benchTaskMonitorError(b *testing.B) {
	b.ReportAllocs()
	ctx := context.Background()
	w := backplane.New()
	defer w.Drop()
	var g backplane.Group
	defer g.Wait()
	for b.Loop() {
		if _, err := g.Spawn(ctx, w, backplane.Monitor, func(context.Context) error { return errBench }); err != nil {
			b.Fatal(err)
		}
		m, err := w.Receive(ctx)
		if err != nil || m.Kind() != backplane.Disconnected {
			b.Fatalf("watcher got %v, %v", m, err)
		}
	}
}
