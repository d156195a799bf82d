package observer_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/observer"
	"github.com/backplane-go/backplane/supervisor"
)

func ExampleRecorder() {
	rec := observer.NewRecorder()
	remove := backplane.AddHook(rec.Record)
	defer remove()

	db := backplane.New(backplane.WithName("db"))
	api := backplane.New(backplane.WithName("api"))
	defer api.Drop()
	_ = api.Link(db, backplane.Monitor) // api watches db
	_ = db.Disconnect(errors.New("connection refused"))

	s := rec.Snapshot(observer.SnapshotOptions{})
	for _, d := range s.Devices {
		fmt.Printf("%s: %s, %d links", d.Name, d.State, len(d.Links))
		if d.Fault != nil {
			fmt.Printf(", %s", d.Fault.Error)
		}
		fmt.Println()
	}
	fmt.Println("alive:", s.Stats.Alive, "down:", s.Stats.Down, "disconnects:", s.Stats.Disconnects)
	// Output:
	// api: alive, 0 links
	// db: down, 0 links, backplane: task error: connection refused
	// alive: 1 down: 1 disconnects: map[error:1]
}

func ExampleRecorder_RecordSupervisor() {
	rec := observer.NewRecorder()
	remove := backplane.AddHook(rec.Record)
	defer remove()

	sup := backplane.New(backplane.WithName("sup"))
	defer sup.Drop()
	child := backplane.New()
	defer child.Drop()
	// What a supervisor reports, through its own hook.
	rec.RecordSupervisor(supervisor.ChildStarted{Source: supervisor.Source{SupervisorID: sup.ID()}, Instance: supervisor.Instance{Device: child.ID(), Child: "worker"}})

	s := rec.Snapshot(observer.SnapshotOptions{})
	for _, d := range s.Devices {
		fmt.Printf("%s: supervisor=%v children=%d\n", d.Name, d.IsSupervisor, len(d.Children))
	}
	// Output:
	// sup: supervisor=true children=1
	// worker: supervisor=false children=0
}

func ExampleHandler() {
	rec := observer.NewRecorder()
	remove := backplane.AddHook(rec.Record)
	defer remove()
	d := backplane.New(backplane.WithName("worker"))
	defer d.Drop()

	h := observer.Handler(rec) // read-only; serve it on 127.0.0.1
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "http://127.0.0.1:6060/api/snapshot?limit=10&events=0", nil))
	var s observer.Snapshot
	_ = json.Unmarshal(w.Body.Bytes(), &s)
	fmt.Println(w.Code, s.Devices[0].Name, s.Devices[0].State, len(s.Events))

	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "http://127.0.0.1:6060/api/snapshot?limit=lots", nil))
	fmt.Print(w.Code, " ", w.Body)
	// Output:
	// 200 worker alive 0
	// 400 {"error":"observer: parameter \"limit\": want an integer from 1 to 100000, got \"lots\""}
}

func ExampleLogger() {
	// Device IDs and times vary from run to run; leave them out here.
	drop := func(_ []string, a slog.Attr) slog.Attr {
		switch a.Key {
		case slog.TimeKey, "device", "peer", "from", "root":
			return slog.Attr{}
		}
		return a
	}
	l := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{ReplaceAttr: drop}))
	rec := observer.NewRecorder()
	logger := observer.NewLogger(l, observer.WithNames(rec))
	remove := backplane.AddHook(observer.Hooks(rec.Record, logger.Record))
	defer remove()

	db := backplane.New(backplane.WithName("db"))
	api := backplane.New(backplane.WithName("api"))
	_ = api.Link(db, backplane.Monitor)
	_ = db.Disconnect(errors.New("connection refused"))
	_ = api.Disconnect(nil)
	// Output:
	// level=WARN msg="backplane disconnected" event=disconnected name=db fault.kind=error fault.error="backplane: task error: connection refused"
	// level=INFO msg="backplane disconnected" event=disconnected name=api
}

func ExampleHooks() {
	rec := observer.NewRecorder()
	count := 0
	remove := backplane.AddHook(observer.Hooks(rec.Record, func(backplane.Event) { count++ }))
	defer remove()

	backplane.New().Drop()
	fmt.Println(count, "events;", rec.Stats().Disconnects["drop"], "dropped")
	// Output: 2 events; 1 dropped
}

func ExampleSupervisorHooks() {
	rec := observer.NewRecorder()
	remove := backplane.AddHook(rec.Record)
	defer remove()

	started := make(chan struct{}, 2)
	logger := observer.NewLogger(slog.New(slog.DiscardHandler), observer.WithNames(rec))
	record := observer.SupervisorHooks(rec.RecordSupervisor, logger.RecordSupervisor)
	hook := func(e supervisor.Event) {
		record(e)
		if e.Type() == supervisor.EventChildStarted {
			started <- struct{}{}
		}
	}
	idle := supervisor.Func(func(ctx context.Context) error {
		<-ctx.Done()
		return nil
	})
	sup, _ := supervisor.New(supervisor.WithName("root"), supervisor.WithEventHook(hook),
		supervisor.WithChildren(
			supervisor.ChildSpec{ID: "db", Service: idle},
			supervisor.ChildSpec{ID: "web", Service: idle},
		))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sup.Serve(ctx) }()
	<-started
	<-started

	s := rec.Snapshot(observer.SnapshotOptions{})
	names := map[string]string{}
	for _, d := range s.Devices {
		names[d.ID] = d.Name
	}
	for _, d := range s.Devices {
		if d.IsSupervisor {
			fmt.Print(d.Name, " supervises")
			for _, c := range d.Children {
				fmt.Print(" ", names[c])
			}
			fmt.Println()
		}
	}
	cancel()
	<-done
	// Output: root supervises db web
}

func ExampleParseID() {
	for _, s := range []string{"#42", "#7@db/5f3a9c", "#7@db"} {
		id, err := observer.ParseID(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(id, id.Seq(), id.Node().Name, id.Node().Incarnation)
	}
	// Output:
	// #42 42  0
	// #7@db 7 db 6240924
	// observer: bad device ID: want "#7", "7" or "#7@node/incarnation"
}

func ExampleWithAllowedHosts() {
	rec := observer.NewRecorder()
	h := observer.Handler(rec, observer.WithAllowedHosts("observer.example.com"))
	for _, host := range []string{"127.0.0.1:6060", "observer.example.com", "evil.example"} {
		r := httptest.NewRequest("GET", "http://"+host+"/api/snapshot?events=0", nil)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(host, w.Code)
	}
	// Output:
	// 127.0.0.1:6060 200
	// observer.example.com 200
	// evil.example 403
}
