// Package demo is a small supervised service that fails on purpose, to show
// the backplane at work. It is what `go run ./cmd/backplane-demo` runs, and
// what the browser test in the e2e module drives. It is internal to this
// repository: not part of the library's API, and free to change.
//
// # The service
//
// The service is a supervision tree three levels deep. Every name is a
// device; an arrow is a Monitor link from a worker to a device it depends
// on, so a fault of the dependency cascades to it at once:
//
//	app            one_for_one
//	├── store      one_for_all
//	│   ├── db
//	│   └── cache        → db
//	├── api        rest_for_one
//	│   ├── router
//	│   ├── sessions     → db
//	│   ├── pool   dynamic (connections added and removed at run time)
//	│   │   └── conn-N   → sessions
//	│   └── autoscaler   (grows and shrinks the pool)
//	└── jobs       one_for_one
//	    ├── scheduler
//	    └── mailer
//
// A fault of db thus takes down cache and sessions, and through sessions
// every connection of the pool: a cascade two hops long, crossing from one
// subtree to another. Each supervisor restarts what went down by its
// strategy and gives up, escalating to its parent, when restarts come too
// fast; if the root itself gives up, or is shut down from the observer's
// page, Run serves it again.
//
// # Faults
//
// Every Config.Interval, a fault round picks an action with a seeded random
// generator: a FaultError (a worker returns an error), a FaultPanic (a worker
// panics), a FaultStuck (a worker ignores its cancellation: a watchdog asks
// it to shut down, its supervisor waits for it for its grace and abandons
// it), a FaultCascade (db or sessions fails, and the devices that monitor
// it go down with it), or a resize of the pool. The same Config.Seed gives the
// same sequence of actions; their timing, and so what they hit, can differ.
// Service.Inject injects one fault by hand.
//
// # Observing
//
// Run installs the service's Recorder as the process's backplane hook and
// feeds it every supervisor's events; Service.Handler serves it:
//
//	svc := demo.New(demo.Config{Interval: time.Second})
//	go http.ListenAndServe("127.0.0.1:8080", svc.Handler())
//	err := svc.Run(ctx)
//
// The backplane hook is process-wide: run one Service at a time.
package demo
