package bench

import (
	"context"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/backplane-go/backplane"
	"github.com/thejerf/suture/v4"
)

// BenchmarkTask measures one supervised unit of work end to end.
//
// monitor_error_notify: per iteration, two fresh entities. A watcher (its
// own goroutine, actor or process) starts a task it monitors; the task ends
// with an error; the watcher has received the notification and tells the
// benchmark. suture has no watcher: its row is one failing service noticed
// and restarted by its supervisor.
//
// spawn_exit: the benchmark starts a task that returns at once and waits
// until it has ended (Erlang's spawn_monitor + exit + 'DOWN').
func BenchmarkTask(b *testing.B) {
	b.Run("monitor_error_notify", func(b *testing.B) {
		b.Run("backplane", taskMonitorErrorBackplane)
		b.Run("protoactor", taskMonitorErrorProtoactor)
		b.Run("suture", taskMonitorErrorSuture)
		b.Run("plain", taskMonitorErrorPlain)
	})
	b.Run("spawn_exit", func(b *testing.B) {
		b.Run("backplane", taskSpawnExitBackplane)
		b.Run("protoactor", taskSpawnExitProtoactor)
		b.Run("suture", taskSpawnExitSuture)
		b.Run("plain", taskSpawnExitPlain)
	})
}

func failTask(context.Context) error { return errBench }
func okTask(context.Context) error   { return nil }

func taskMonitorErrorBackplane(b *testing.B) {
	ctx := context.Background()
	var g backplane.Group
	b.ReportAllocs()
	for b.Loop() {
		done := make(chan struct{})
		go func() {
			defer close(done)
			w := backplane.New()
			defer w.Drop()
			if _, err := g.Spawn(ctx, w, backplane.Monitor, failTask); err != nil {
				panic(err)
			}
			m, err := w.Receive(ctx)
			if err != nil || m.Fault() == nil {
				panic("watcher did not get the task's fault")
			}
		}()
		<-done
	}
	g.Wait()
}

func taskMonitorErrorPlain(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		done := make(chan struct{})
		go func() {
			defer close(done)
			var err error
			exited := make(chan struct{})
			go func() {
				err = errBench
				close(exited)
			}()
			<-exited
			if err == nil {
				panic("watcher did not get the task's error")
			}
		}()
		<-done
	}
}

// taskMonitorErrorProtoactor: a watcher actor spawns a task actor, watches
// it, the task stops itself (protoactor has no error exit: a failure goes to
// the parent's supervisor strategy, which restarts by default), and the
// watcher signals once Terminated has arrived, then stops.
func taskMonitorErrorProtoactor(b *testing.B) {
	sys := protoSystem()
	done := make(chan struct{}, 1)
	task := actor.PropsFromFunc(func(c actor.Context) {
		if _, ok := c.Message().(*actor.Started); ok {
			c.Stop(c.Self())
		}
	})
	watcher := actor.PropsFromFunc(func(c actor.Context) {
		switch c.Message().(type) {
		case *actor.Started:
			c.Watch(sys.Root.Spawn(task))
		case *actor.Terminated:
			done <- struct{}{}
			c.Stop(c.Self())
		}
	})
	b.ReportAllocs()
	for b.Loop() {
		sys.Root.Spawn(watcher)
		<-done
	}
}

// taskMonitorErrorSuture: one service that fails at once, under a
// supervisor that restarts it without backoff. One iteration is one run of
// the service: failure seen by the supervisor, restart, service running.
// It is BenchmarkRestart's suture row.
func taskMonitorErrorSuture(b *testing.B) { restartSuture(b) }

// sutureFunc makes a suture.Service of a function.
type sutureFunc func(context.Context) error

func (f sutureFunc) Serve(ctx context.Context) error { return f(ctx) }

func taskSpawnExitBackplane(b *testing.B) {
	ctx := context.Background()
	var g backplane.Group
	parent := backplane.New()
	defer parent.Drop()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := g.Spawn(ctx, parent, backplane.Monitor, okTask); err != nil {
			b.Fatal(err)
		}
		if m, err := parent.Receive(ctx); err != nil || m.Kind() != backplane.Disconnected {
			b.Fatalf("parent got %v, %v; want Disconnected", m, err)
		}
	}
	g.Wait()
}

func taskSpawnExitPlain(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		done := make(chan struct{})
		go func() { close(done) }()
		<-done
	}
}

// taskSpawnExitProtoactor: spawn an actor that stops itself at start; the
// benchmark waits for its Stopped, the last message an actor handles.
func taskSpawnExitProtoactor(b *testing.B) {
	sys := protoSystem()
	done := make(chan struct{}, 1)
	props := actor.PropsFromFunc(func(c actor.Context) {
		switch c.Message().(type) {
		case *actor.Started:
			c.Stop(c.Self())
		case *actor.Stopped:
			done <- struct{}{}
		}
	})
	b.ReportAllocs()
	for b.Loop() {
		sys.Root.Spawn(props)
		<-done
	}
}

// taskSpawnExitSuture: add a service that returns ErrDoNotRestart to a
// running supervisor and wait until its Serve has returned.
func taskSpawnExitSuture(b *testing.B) {
	sup := suture.New("bench", suture.Spec{EventHook: func(suture.Event) {}})
	ctx, cancel := context.WithCancel(context.Background())
	stopped := sup.ServeBackground(ctx)
	done := make(chan struct{}, 1)
	svc := sutureFunc(func(context.Context) error {
		defer func() { done <- struct{}{} }()
		return suture.ErrDoNotRestart
	})
	b.ReportAllocs()
	for b.Loop() {
		sup.Add(svc)
		<-done
	}
	b.StopTimer()
	cancel()
	<-stopped
}
