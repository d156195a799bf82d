// Package supervisor builds Erlang/OTP supervision trees on the backplane:
// a supervisor starts children in order, restarts them by a strategy when
// they end, gives up when they fail too often, and stops them in reverse
// order, each fully stopped before the next.
//
// # The model
//
// A child is a [Service] (Serve(ctx) error; [Func] adapts a closure)
// described by a [ChildSpec]: an ID, a [Restart] type (Permanent,
// Transient, Temporary), a shutdown grace (a duration, [Infinity] or
// [BrutalKill]) and a significant flag. Each run of a child has a device of
// its own, linked both ways with the supervisor's device: the supervisor is
// told at once when the child's device goes down, and the child goes down
// at once (a cascade) when the supervisor faults. A child finds its own
// Line with [Self] to link itself to what it depends on.
//
// A [Supervisor] is itself a device with its loop, so trees nest: put a
// *Supervisor in a ChildSpec. It is not a managed device, because it must
// not be cascaded by the faults of its own children; but it behaves like
// one to the outside. It stops (children first, in reverse start order,
// then its device) when asked to shut down; it gives up when the restart
// intensity is exceeded, stopping its children and then disconnecting with
// a *[RestartLimitError], so its parent sees a fault and applies its own
// strategy: that is escalation. A device it watches that faults takes it
// down at once, with a cascade, and its children with it.
//
//	db, _ := supervisor.New(supervisor.WithName("db"), supervisor.WithChildren(
//		supervisor.ChildSpec{ID: "pool", Service: pool},
//	))
//	root, _ := supervisor.New(supervisor.WithStrategy(supervisor.RestForOne),
//		supervisor.WithChildren(
//			supervisor.ChildSpec{ID: "db", Service: db},
//			supervisor.ChildSpec{ID: "web", Service: supervisor.Func(serveHTTP)},
//		))
//	err := root.Serve(ctx)
//
// # Strategies
//
// [OneForOne] restarts the child that ended. [OneForAll] stops the others
// and restarts all of them; [RestForOne] stops and restarts those started
// after it. [Dynamic] (OTP's simple_one_for_one) is for children added at
// run time with [Supervisor.AddChild]: they restart one for one, and on
// shutdown they are all asked at once and waited for in parallel.
//
// Every restart counts against the intensity ([WithIntensity]): at most N
// restarts in a period, across all children, a group restart counting
// once and every retry of a failed start counting again. A restart can
// wait for a jittered exponential backoff ([WithBackoff]); the supervisor
// keeps handling its messages meanwhile, and a restart whose start fails is
// retried through its loop, never by blocking it. As in OTP, when a group
// restart fails to start a child, RestForOne retries from that child (the
// siblings before it stay up) and OneForAll restarts the whole group again.
//
// A child that fails while its supervisor has nothing else to do is
// restarted at once by its own goroutine, which takes the supervisor's
// lock for it: the same checks, intensity accounting, events and new
// device as the loop's, without waking the loop or any other goroutine.
// Everything else goes through the loop: a group restart (OneForAll,
// RestForOne), a backoff, a child with a start step (a [Starter] or a
// nested supervisor), a restart past the intensity, a child being stopped
// or whose device went down under it, and any restart while the loop is
// busy or has exits, messages or deadlines waiting, which come first. The
// whole test suite runs twice in CI, the second time with the in-place
// path switched off, so that both paths are held to the same tests.
//
// # Stopping, and what Go cannot do
//
// A child is stopped when its task has returned, not merely when its
// device has gone down. To stop a child the supervisor requests its
// shutdown (its device disconnects at once and its context is cancelled)
// and waits for its goroutine up to its grace. Go cannot kill a goroutine:
// a task that ignores its context past its grace is abandoned. Its device
// is killed (FaultKilled), a [ChildAbandoned] event reports it, the call
// that stopped it says it was not stopped ([ErrAbandoned]), and the
// supervisor moves on; the goroutine itself runs until it returns, and
// [Supervisor.WaitAbandoned] waits for it. The same grace applies to a
// child whose device went down under it (a cascade) while its task runs.
//
// While the supervisor waits for a child to stop, nothing is dropped:
// other children's exits, shutdown requests and API calls wait (in its
// exit queue, its device's inbox and its request channel) and are handled
// afterwards, each source in order. A child reporting its exit never waits
// for the supervisor.
//
// # Starting
//
// Children start in order. A Service may implement [Starter]: its Start
// runs in the child's goroutine before Serve, and the supervisor waits for
// it before starting the next child (a nested supervisor is started when
// its own children are). If a child fails to start, those already started
// are stopped in reverse order and Serve returns a *[StartError] naming it.
// A Start that returns [ErrIgnore] (OTP's ignore) starts nothing: the
// child stays known as stopped, is not restarted, and
// [Supervisor.RestartChild] may start it later.
//
// Once its children have started, the supervisor serves: [Supervisor.Ready]
// is closed and the run-time API answers (OTP's start_link returns then).
// Before Serve, and after it returned, every run-time call fails at once
// with [ErrNotServing]:
//
//	go func() { errc <- sup.Serve(ctx) }()
//	select {
//	case <-sup.Ready():
//		id, err := sup.AddChild(ctx, spec)
//		...
//	case err := <-errc: // its children failed to start
//	}
//
// # Auto-shutdown
//
// As in OTP 24, children can be significant: with [AnySignificant] the
// supervisor shuts itself down when one of them ends by itself and is not
// restarted, with [AllSignificant] when all of them have. [New] rejects the
// combinations OTP rejects.
//
// # Events
//
// One hook ([WithEventHook]) receives typed events: [ChildStarted],
// [ChildRestarted], [ChildExited] (with the child's fault),
// [ChildStartFailed], [ChildAbandoned], [RestartLimitReached] and
// [AutoShutdownTriggered]. Each offers Type, String and Map, so that the
// same stream feeds logs, metrics and an observer. The hook runs under
// the lock of the supervisor's run, never under a lock of the backplane
// core (see [WithEventHook]). Events name a child's
// run by its ID, device and generation: a device is never reused, so a
// stale notification can never be taken for a newer run.
//
// # Differences from OTP
//
// docs/OTP.md in the repository compares this package with OTP's
// supervisor and the erts link and monitor primitives, behaviour by
// behaviour, each row naming the test that shows ours, and says why where
// ours differs on purpose.
//
// # Cost
//
// A restart (the child fails, is restarted and running again) made by
// the child's own goroutine costs about 2µs and 7 allocations (544
// bytes). Nearly all of it is the new generation's device, link and
// Manage, and the child's own signal to whoever waits for it; the
// supervisor's share (its lock, the intensity, its index of devices, the
// unlink, the child's context) is a few hundred nanoseconds. The bench
// module's BenchmarkRestart runs the same failing child under suture in
// the same run: this restart takes about half of suture's time on a
// quiet two-core machine, up to two thirds of it on a busy one. A restart
// made by the loop costs two goroutine hand-offs more, about 5µs. In BenchmarkSupervisor, a restart with an event hook and a
// channel hand-off each way takes about twice as long as a bare goroutine
// restarted in a loop with no devices, links, events or bookkeeping.
// A child's goroutine is reused from one generation to the next. Adding
// and stopping a dynamic child costs tens of microseconds, most of it the
// round trip of the synchronous AddChild; every step is linear in the
// number of children (BenchmarkDynamic).
package supervisor
