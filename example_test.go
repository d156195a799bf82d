package backplane_test

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/backplane-go/backplane"
)

// Monitor a device: the watcher finds one Disconnected message in its inbox,
// carrying the fault the other device ended with.
func ExampleDevice_Link() {
	watcher, worker := backplane.New(), backplane.New()
	defer watcher.Drop()

	if err := watcher.Link(worker, backplane.Monitor); err != nil {
		fmt.Println("link:", err)
		return
	}
	_ = worker.Disconnect(errors.New("out of memory"))

	m, _ := watcher.TryReceive()
	fmt.Println(m.Kind(), "from the worker:", m.From() == worker.ID())
	fmt.Println("fault:", m.Fault().Kind, "-", m.Fault().Err)
	// Output:
	// disconnected from the worker: true
	// fault: error - out of memory
}

// Monitor a task: Manage runs it under a device, which disconnects with the
// task's outcome, and the watcher is told.
func ExampleDevice_Manage() {
	ctx := context.Background()
	watcher, worker := backplane.New(), backplane.New()
	defer watcher.Drop()
	if err := watcher.Link(worker, backplane.Monitor); err != nil {
		fmt.Println("link:", err)
		return
	}

	err := worker.Manage(ctx, func(ctx context.Context) error {
		return errors.New("disk full")
	})

	var crash *backplane.Crash
	if errors.As(err, &crash) {
		fmt.Println("Manage:", crash.Kind, "-", crash.Fault.Err)
	}
	m, _ := watcher.Receive(ctx)
	fmt.Println("watcher:", m.Kind(), m.Fault().Kind, "-", m.Fault().Err)
	// Output:
	// Manage: error - disk full
	// watcher: disconnected error - disk full
}

// A failure cascades down a chain of managed devices, api -> cache -> db,
// without waiting for any task to notice; everyone along the way can tell
// where it started.
func Example_cascade() {
	ctx := context.Background()
	db := backplane.New()
	cache, api := backplane.New(), backplane.New()
	observer := backplane.New()
	defer observer.Drop()

	for _, l := range []struct{ from, to *backplane.Device }{{cache, db}, {api, cache}, {observer, api}} {
		if err := l.from.Link(l.to, backplane.Monitor); err != nil {
			fmt.Println("link:", err)
			return
		}
	}

	// cache and api run until something they depend on fails.
	var wg sync.WaitGroup
	crashes := make([]error, 2)
	for i, d := range []*backplane.Device{cache, api} {
		wg.Go(func() {
			crashes[i] = d.Manage(ctx, func(ctx context.Context) error {
				<-ctx.Done()
				return nil
			})
		})
	}

	_ = db.Disconnect(errors.New("connection refused"))
	wg.Wait()

	for i, name := range []string{"cache", "api"} {
		var c *backplane.Crash
		errors.As(crashes[i], &c)
		root, rf := c.Fault.Root()
		fmt.Printf("%s: %v, root is db: %v (%v)\n", name, c.Kind, root == db.ID(), rf.Err)
	}
	m, _ := observer.Receive(ctx)
	root, _ := m.Fault().Root()
	fmt.Println("observer:", m.Kind(), "api:", m.From() == api.ID(), "root is db:", root == db.ID())
	// Output:
	// cache: cascade, root is db: true (connection refused)
	// api: cascade, root is db: true (connection refused)
	// observer: disconnected api: true root is db: true
}

// The "never stop" supervisor: run a task under a fresh device, and run it
// again each time it fails. A real one would back off between attempts and
// give up at some point; this one stops after five.
func Example_restart() {
	ctx := context.Background()
	attempt := 0
	task := func(ctx context.Context) error {
		attempt++
		if attempt < 3 {
			return fmt.Errorf("attempt %d failed", attempt)
		}
		return nil
	}

	for range 5 {
		d := backplane.New(backplane.WithName("worker"))
		err := d.Manage(ctx, task)
		if err == nil {
			fmt.Println("done after", attempt, "attempts")
			break
		}
		var crash *backplane.Crash
		if !errors.As(err, &crash) {
			fmt.Println("giving up:", err)
			return
		}
		fmt.Println("restarting:", crash.Fault.Err)
	}
	// Output:
	// restarting: attempt 1 failed
	// restarting: attempt 2 failed
	// done after 3 attempts
}

// Ready lets a loop wait for its own channels and for its inbox in one
// select.
func ExampleDevice_Ready() {
	d, upstream := backplane.New(), backplane.New()
	defer d.Drop()
	if err := d.Link(upstream, backplane.Monitor); err != nil {
		fmt.Println("link:", err)
		return
	}

	jobs := make(chan string, 1)
	jobs <- "resize image"
	for {
		select {
		case job := <-jobs:
			fmt.Println("job:", job)
			upstream.Drop() // in real life, some other goroutine's doing
		case <-d.Ready():
			for {
				m, ok := d.TryReceive()
				if !ok {
					break
				}
				fmt.Println("message:", m.Kind(), m.Fault().Kind, "from upstream:", m.From() == upstream.ID())
			}
			return
		}
	}
	// Output:
	// job: resize image
	// message: disconnected drop from upstream: true
}

// Spawn starts a task under a new device already linked to its parent, so
// no outcome of the task can be missed, and Wait waits for it.
func ExampleGroup_Spawn() {
	ctx := context.Background()
	var g backplane.Group
	parent := backplane.New()
	defer parent.Drop()

	child, err := g.Spawn(ctx, parent, backplane.Monitor, func(ctx context.Context) error {
		return errors.New("no route to host")
	}, backplane.WithName("dialer"))
	if err != nil {
		fmt.Println("spawn:", err)
		return
	}

	m, _ := parent.Receive(ctx)
	fmt.Println(m.Kind(), "child:", m.From() == child.ID(), "-", m.Fault().Err)
	fmt.Println("wait:", g.Wait())
	// Output:
	// disconnected child: true - no route to host
	// wait: backplane: crash: task error: no route to host
}

// Wait reports the first task that failed, even when nobody watched it:
// here the parent only notifies its tasks (mode Notify), and the tasks'
// failures would otherwise reach no one.
func ExampleGroup_Wait() {
	ctx := context.Background()
	var g backplane.Group
	parent := backplane.New()
	defer parent.Drop()

	failed := make(chan struct{})
	_, _ = g.Spawn(ctx, parent, backplane.Notify, func(context.Context) error {
		defer close(failed)
		return errors.New("disk full")
	})
	<-failed
	_, _ = g.Spawn(ctx, parent, backplane.Notify, func(context.Context) error { return nil })

	err := g.Wait()
	var c *backplane.Crash
	fmt.Println(errors.As(err, &c), c.Kind, "-", c.Fault.Err)
	// Output:
	// true error - disk full
}

// Two hooks subscribe independently: each event reaches them in the order
// they were added, and removing one leaves the other.
func ExampleAddHook() {
	var d backplane.DeviceID
	show := func(name string) backplane.Hook {
		return func(e backplane.Event) {
			if e.Device == d && e.Kind == backplane.EventDisconnected {
				fmt.Println(name, "saw", e.Kind)
			}
		}
	}
	removeLog := backplane.AddHook(show("log"))
	removeMetrics := backplane.AddHook(show("metrics"))
	defer removeMetrics()

	dev := backplane.New()
	d = dev.ID()
	_ = dev.Disconnect(nil)

	removeLog()
	removeLog() // a second call does nothing
	dev = backplane.New()
	d = dev.ID()
	dev.Drop()
	// Output:
	// log saw disconnected
	// metrics saw disconnected
	// metrics saw disconnected
}

// With WithPanicPassThrough a task's panic goes on once its device is down
// and its watchers are told: here the caller of Manage recovers it.
func ExampleWithPanicPassThrough() {
	watcher := backplane.New()
	defer watcher.Drop()
	d := backplane.New(backplane.WithPanicPassThrough())
	_ = watcher.Link(d, backplane.Monitor)

	func() {
		defer func() { fmt.Println("recovered:", recover()) }()
		_ = d.Manage(context.Background(), func(context.Context) error { panic("corrupt state") })
	}()
	m, _ := watcher.TryReceive()
	fmt.Println(m.Kind(), m.Fault().Kind, "-", m.Fault().Value)
	// Output:
	// recovered: corrupt state
	// disconnected panic - corrupt state
}

// Anyone holding a Line may ask its device to stop: a managed task has its
// context cancelled with the Crash as cause, and Manage reports who asked.
func ExampleLine_Shutdown() {
	ctx := context.Background()
	server, admin := backplane.New(), backplane.New()
	defer admin.Drop()

	started := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- server.Manage(ctx, func(ctx context.Context) error {
			close(started)
			<-ctx.Done()
			var c *backplane.Crash
			fmt.Println("task stopped by a crash:", errors.As(context.Cause(ctx), &c))
			return nil
		})
	}()
	<-started

	line := server.Line() // what admin would hold
	if err := line.Shutdown(admin.ID()); err != nil {
		fmt.Println("shutdown:", err)
		return
	}
	var crash *backplane.Crash
	errors.As(<-done, &crash)
	fmt.Println(crash.Kind, "requested by admin:", crash.Device == admin.ID())
	fmt.Println("server alive:", line.Alive())
	// Output:
	// task stopped by a crash: true
	// power off requested by admin: true
	// server alive: false
}

// Watch runs a function and returns its result, unless a message comes
// first; it never disconnects the device.
func ExampleWatch() {
	ctx := context.Background()
	d, peer := backplane.New(), backplane.New()
	defer d.Drop()
	if err := d.Link(peer, backplane.Monitor); err != nil {
		fmt.Println("link:", err)
		return
	}

	fetch := func(ctx context.Context) (string, error) { return "payload", nil }

	w, err := backplane.Watch(ctx, d, fetch)
	fmt.Println("value:", w.Value, err, w.Messaged)

	peer.Drop()
	w, err = backplane.Watch(ctx, d, fetch)
	fmt.Println("message:", w.Message.Kind(), w.Message.Fault().Kind, err, w.Messaged)
	fmt.Println("still connected:", d.Alive())
	// Output:
	// value: payload <nil> false
	// message: disconnected drop <nil> true
	// still connected: true
}

// A device that runs its own loop instead of Manage passes a dependency's
// failure on with CascadeFault, which keeps the root cause.
func ExampleCascadeFault() {
	loop, dep, watcher := backplane.New(), backplane.New(), backplane.New()
	defer watcher.Drop()
	if err := loop.Link(dep, backplane.Monitor); err != nil {
		fmt.Println("link:", err)
		return
	}
	if err := watcher.Link(loop, backplane.Monitor); err != nil {
		fmt.Println("link:", err)
		return
	}

	_ = dep.Disconnect(errors.New("disk full"))

	if m, ok := loop.TryReceive(); ok && m.Fault() != nil {
		_ = loop.Disconnect(backplane.CascadeFault(m.From(), m.Fault()))
	}
	m, _ := watcher.TryReceive()
	f := m.Fault()
	root, rf := f.Root()
	fmt.Println(f.Kind, "from dep:", f.Device == dep.ID(), "root is dep:", root == dep.ID(), "-", rf.Err)
	// Output:
	// cascade from dep: true root is dep: true - disk full
}

// A task finds its own device from its context, and links itself to a
// device it depends on: when that device fails, the task's device goes down
// with a cascade, and Manage reports it.
func ExampleLineOf() {
	db := backplane.New(backplane.WithName("db"))
	worker := backplane.New(backplane.WithName("worker"))

	crash := worker.Manage(context.Background(), func(ctx context.Context) error {
		self, _ := backplane.LineOf(ctx)
		if err := self.Link(db, backplane.Monitor); err != nil {
			return err
		}
		_ = db.Disconnect(errors.New("connection lost")) // the dependency fails
		<-ctx.Done()
		return ctx.Err()
	})
	var c *backplane.Crash
	if errors.As(crash, &c) {
		_, root := c.Fault.Root()
		fmt.Println(c.Kind, "from db:", c.Device == db.ID(), "root:", root.Err)
	}
	// Output:
	// cascade from db: true root: connection lost
}
