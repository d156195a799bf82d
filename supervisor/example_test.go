package supervisor_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/supervisor"
)

// logEvent prints an event as "supervisor: type child", adding how the
// child ended for an exit.
func logEvent(e supervisor.Event) {
	m := e.Map()
	line := fmt.Sprintf("%s: %s %s", m["supervisor"], e.Type(), m["child"])
	if e.Type() == supervisor.EventChildExited {
		if m["stopped"] == true {
			line += " (stopped)"
		} else {
			line += " (" + m["fault"].(string) + ")"
		}
	}
	fmt.Println(line)
}

// waitForCancel is a worker that runs until it is asked to stop.
var waitForCancel = supervisor.Func(func(ctx context.Context) error {
	<-ctx.Done()
	return nil
})

// A small tree: a root with a database worker and a nested "web"
// supervisor of two workers. Once the tree is up, the handler fails and is
// restarted by its own supervisor; then the whole tree is shut down, in
// reverse start order, each child stopped before the next.
func ExampleSupervisor() {
	up, restarted := make(chan struct{}), make(chan struct{})
	hook := func(e supervisor.Event) {
		logEvent(e)
		switch m := e.Map(); {
		case e.Type() == supervisor.EventChildStarted && m["child"] == "web":
			close(up)
		case e.Type() == supervisor.EventChildRestarted:
			close(restarted)
		}
	}
	generation := 0
	handler := supervisor.Func(func(ctx context.Context) error {
		if generation++; generation == 1 {
			<-up
			return errors.New("bad request")
		}
		<-ctx.Done()
		return nil
	})

	web, _ := supervisor.New(supervisor.WithName("web"), supervisor.WithEventHook(hook),
		supervisor.WithStrategy(supervisor.RestForOne),
		supervisor.WithChildren(
			supervisor.ChildSpec{ID: "listener", Service: waitForCancel},
			supervisor.ChildSpec{ID: "handler", Service: handler},
		))
	root, _ := supervisor.New(supervisor.WithName("root"), supervisor.WithEventHook(hook),
		supervisor.WithChildren(
			supervisor.ChildSpec{ID: "db", Service: waitForCancel},
			supervisor.ChildSpec{ID: "web", Service: web},
		))

	done := make(chan error)
	go func() { done <- root.Serve(context.Background()) }()
	<-restarted
	_ = root.Line().Shutdown(backplane.DeviceID{})
	var crash *backplane.Crash
	if err := <-done; errors.As(err, &crash) {
		fmt.Println("root:", crash.Kind)
	}
	// Output:
	// root: child started db
	// web: child started listener
	// web: child started handler
	// root: child started web
	// web: child exited handler (backplane: task error: bad request)
	// web: child restarted handler
	// web: child exited handler (stopped)
	// web: child exited listener (stopped)
	// root: child exited web (stopped)
	// root: child exited db (stopped)
	// root: power off
}

// A Dynamic supervisor runs children added at run time.
func ExampleSupervisor_AddChild() {
	sup, _ := supervisor.New(supervisor.WithStrategy(supervisor.Dynamic))
	done := make(chan error)
	go func() { done <- sup.Serve(context.Background()) }()
	<-sup.Ready() // the run-time API answers once the supervisor serves

	ctx := context.Background()
	for range 3 {
		id, err := sup.AddChild(ctx, supervisor.ChildSpec{Service: waitForCancel})
		fmt.Println("added", id, err)
	}
	_ = sup.TerminateChild(ctx, "child-2")
	children, _ := sup.Children(ctx)
	for _, c := range children {
		fmt.Println(c.ID, c.State)
	}
	_ = sup.Line().Shutdown(backplane.DeviceID{})
	<-done
	// Output:
	// added child-1 <nil>
	// added child-2 <nil>
	// added child-3 <nil>
	// child-1 running
	// child-3 running
}

// A child that fails too often makes its supervisor give up, stopping its
// other children first; the error says why.
func ExampleRestartLimitError() {
	flaky := supervisor.Func(func(ctx context.Context) error {
		return errors.New("no database")
	})
	sup, _ := supervisor.New(supervisor.WithName("app"),
		supervisor.WithIntensity(2, time.Minute),
		supervisor.WithEventHook(func(e supervisor.Event) {
			if e.Type() == supervisor.EventRestartLimit || e.Type() == supervisor.EventChildRestarted {
				fmt.Println(e.Type(), e.Map()["child"])
			}
		}),
		supervisor.WithChildren(supervisor.ChildSpec{ID: "repo", Service: flaky}))
	err := sup.Serve(context.Background())
	var rl *supervisor.RestartLimitError
	if errors.As(err, &rl) {
		fmt.Println("gave up on", rl.Child)
	}
	// Output:
	// child restarted repo
	// child restarted repo
	// restart limit reached repo
	// gave up on repo
}

// Supervisors are configured with options; New rejects what OTP rejects.
func ExampleNew() {
	_, err := supervisor.New(supervisor.WithChildren(supervisor.ChildSpec{
		ID: "job", Service: waitForCancel, Restart: supervisor.Permanent, Significant: true,
	}), supervisor.WithAutoShutdown(supervisor.AnySignificant))
	fmt.Println(err)
	// Output:
	// supervisor: invalid child "job": a significant child cannot be permanent
}

// A Transient, significant child that finishes its work shuts its
// supervisor down cleanly.
func ExampleWithAutoShutdown() {
	job := supervisor.Func(func(ctx context.Context) error {
		fmt.Println("job done")
		return nil
	})
	sup, _ := supervisor.New(supervisor.WithAutoShutdown(supervisor.AnySignificant),
		supervisor.WithChildren(
			supervisor.ChildSpec{ID: "server", Service: waitForCancel},
			supervisor.ChildSpec{ID: "job", Service: job, Restart: supervisor.Transient, Significant: true},
		))
	fmt.Println("Serve returned", sup.Serve(context.Background()))
	// Output:
	// job done
	// Serve returned <nil>
}

// Ready says when a supervisor serves: its children have started and its
// run-time API answers. Before that, and after Serve returns, a call fails
// at once with ErrNotServing.
func ExampleSupervisor_Ready() {
	sup, _ := supervisor.New(supervisor.WithChildren(
		supervisor.ChildSpec{ID: "worker", Service: waitForCancel}))
	ctx := context.Background()
	_, err := sup.Children(ctx)
	fmt.Println("before Serve:", err)

	errc := make(chan error, 1)
	go func() { errc <- sup.Serve(ctx) }()
	select {
	case <-sup.Ready():
		n, _ := sup.Count(ctx)
		fmt.Println("serving, active children:", n.Active)
	case err := <-errc:
		fmt.Println("failed to start:", err)
		return
	}
	_ = sup.Line().Shutdown(backplane.DeviceID{})
	<-errc
	_, err = sup.Children(ctx)
	fmt.Println("after Serve:", err)
	// Output:
	// before Serve: supervisor: supervisor is not serving
	// serving, active children: 1
	// after Serve: supervisor: supervisor is not serving
}

// optional is a child with nothing to do unless it is configured: its
// Start returns ErrIgnore, as an OTP start function returns ignore.
type optional struct{ enabled bool }

func (o *optional) Start(ctx context.Context) error {
	if !o.enabled {
		return supervisor.ErrIgnore
	}
	return nil
}

func (o *optional) Serve(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

// A child whose Start returns ErrIgnore stays in the list, stopped, and is
// not restarted; RestartChild can start it later.
func ExampleErrIgnore() {
	metrics := &optional{}
	sup, _ := supervisor.New(supervisor.WithChildren(
		supervisor.ChildSpec{ID: "worker", Service: waitForCancel},
		supervisor.ChildSpec{ID: "metrics", Service: metrics}))
	errc := make(chan error, 1)
	go func() { errc <- sup.Serve(context.Background()) }()
	<-sup.Ready()

	ctx := context.Background()
	list := func() {
		children, _ := sup.Children(ctx)
		for _, c := range children {
			fmt.Println(c.ID, c.State, c.Line.IsZero())
		}
	}
	list()
	metrics.enabled = true
	_ = sup.RestartChild(ctx, "metrics")
	list()
	_ = sup.Line().Shutdown(backplane.DeviceID{})
	<-errc
	// Output:
	// worker running false
	// metrics stopped true
	// worker running false
	// metrics running false
}
