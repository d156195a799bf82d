// Package observer shows a running backplane: a Recorder turns the
// backplane's events into a live model of devices, links, faults and
// supervision trees, Handler serves that model as a web page and a JSON
// API, and Logger writes the same events to log/slog. Metrics for
// Prometheus live in the nested module observer/prom, so that core users
// never pull in client_golang.
//
// # Recording
//
// Subscribe the Recorder's Record method to the backplane's events with
// backplane.AddHook, alone or with other consumers through Hooks (which
// fixes their order), and give each supervisor RecordSupervisor as its
// event hook (SupervisorHooks shares it with a Logger):
//
//	rec := observer.NewRecorder()
//	logger := observer.NewLogger(slog.Default(), observer.WithNames(rec))
//	remove := backplane.AddHook(observer.Hooks(rec.Record, logger.Record))
//	defer remove()
//	sup, err := supervisor.New(supervisor.WithName("root"),
//		supervisor.WithEventHook(observer.SupervisorHooks(rec.RecordSupervisor, logger.RecordSupervisor)))
//
// Backplane events carry no time: the Recorder stamps each with its clock
// when the hook runs. EventCreated carries the device's Line, which the
// Recorder keeps (a Line never keeps a device from being dropped) so that it
// can ask the device to shut down; devices made before the hook was
// installed can be handed over with Recorder.Track.
//
// Disconnected devices stay in the model for a while (WithRetention,
// WithMaxDown) so the page can show what went down; their faults stay
// longer, in a ring of recent faults (WithFaultBuffer) beside the ring of
// recent events (WithEventBuffer).
//
// # Serving
//
// Handler returns an http.Handler; it never registers itself anywhere.
// Serve it on a loopback address, or mount it on an existing mux:
//
//	go http.ListenAndServe("127.0.0.1:6060", observer.Handler(rec))
//	mux.Handle("/debug/backplane/", http.StripPrefix("/debug/backplane", observer.Handler(rec)))
//
// Routes, relative to where the handler is mounted:
//
//	GET  /               the page (HTML, JS and CSS embedded; no CDN)
//	GET  /api/snapshot   the model as JSON
//	GET  /api/events     the live event stream (server-sent events)
//	GET  /api/series     one point per second for the charts (Series)
//	GET  /api/cluster    the other nodes and their devices (only with WithPeers; see ClusterView)
//	POST /api/shutdown   ask a device to shut down (only with WithShutdown)
//
// Query parameters are given at most once each; an unknown, repeated,
// malformed or out-of-range parameter gets a 400 with a JSON body
// {"error": "..."}. Numbers are plain decimal integers; a device is named
// by its ID as the JSON gives it (see below), "#" escaped as %23:
//
//	/api/snapshot?limit=N    at most N devices, alive first (1..100000, default 5000)
//	/api/snapshot?events=N   at most N recent events and faults (0..100000, default 200)
//	/api/snapshot?device=ID  only device ID, its peers, supervisor and children (404 if unknown)
//	/api/snapshot?since=SEQ  only events and faults with seq > SEQ
//	/api/events?since=SEQ    stream events with seq > SEQ (or the Last-Event-ID header)
//	/api/series?window=N     the last N seconds (1..600, default 300)
//	/api/shutdown?device=ID  the device to stop
//
// For example:
//
//	curl -s 'http://127.0.0.1:6060/api/snapshot?limit=100&events=20'
//	curl -s 'http://127.0.0.1:6060/api/snapshot?device=%237%40db%2F5f3a9c'
//	curl -sN 'http://127.0.0.1:6060/api/events?since=0'
//	curl -s -X POST 'http://127.0.0.1:6060/api/shutdown?device=%2342'
//
// # Device IDs
//
// Every device ID in the JSON is a string. A device of this process is
// "#" and its sequence number, as backplane.DeviceID prints it: "#42". A
// device of another node (a proxy, see backplane.NewProxy) adds "@", the
// node's name, "/" and the node's incarnation in hexadecimal, as
// backplane.NodeID prints it: "#7@db/5f3a9c". The ID names one device
// exactly: two nodes, or two runs of one node, never share one, and a
// shutdown request reaches exactly the device it names. ParseID reads an
// ID back; a query may also name a local device by its bare number ("42").
//
// # The snapshot
//
// /api/snapshot returns a Snapshot:
//
//	{
//	  "time": "2026-11-27T00:00:00Z",   // when it was taken
//	  "seq": 1234,                      // the last event's sequence number
//	  "stats": {"alive": 3, "down": 1, "links": 2, "created": 4,
//	            "disconnects": {"panic": 1}, "shutdown_requests": 0,
//	            "child_starts": 2, "child_exits": 0, "restarts": 1,
//	            "restart_limits": 0, "abandoned": 0, "start_failures": 0, "events": 1234},
//	  "nodes": [{"name": "db", "incarnation": "5f3a9c", "alive": 2, "down": 0}],
//	  "devices": [{
//	    "id": "#7", "name": "db", "state": "alive",   // or "down"
//	    "node": "db", "incarnation": "5f3a9c",        // only for a device of another node
//	    "since": "...", "down_at": "...",             // down_at only when down
//	    "fault": {...},                               // only when down with a fault
//	    "links": [{"peer": "#8", "mode": "monitor"}], // monitor: 7 watches 8; notify: 8 watches 7; peer: both
//	    "supervisor": "#2", "children": ["#9", "#10"],// supervision tree, when fed; every generation kept
//	    "child": "db", "generation": 2,               // its ID in the supervisor's spec, and which start
//	    "last_exit": {"device": "#5", "time": "...", "fault": {...}, "stopped": false},
//	                                                  // how the previous generation ended
//	    "is_supervisor": true, "restarts": 1,         // restarts it made
//	    "recent_restarts": 1, "period": "5s", "max_restarts": 3,
//	                                                  // intensity used: restarts within period
//	    "restart_limit": false, "abandoned": false,
//	    "tracked": true                               // tracked: shutdown can be requested
//	  }],
//	  "omitted": 0,                     // devices left out by limit
//	  "events": [{"seq": 1233, "time": "...", "kind": "disconnected",
//	              "device": "#9", "name": "worker", "fault": {...},
//	              "text": "#9 disconnected: cascade from #7 ... [worker]"}],
//	  "faults": [...],                  // recent faulted disconnects, abandoned
//	                                    // children and restart limits, oldest first
//	  "shutdown": false,                // whether POST /api/shutdown is enabled
//	  "retention": "1m0s", "max_down": 2000
//	                                    // how long and how many down devices are
//	                                    // kept (the page forgets them likewise)
//	}
//
// Empty fields are left out. "nodes" lists the other nodes (each run of a
// node apart) whose devices the model holds; whether a node is up is the
// cluster's to say: its devices turn down with an "unreachable" fault when
// it goes. max_restarts and period are the supervisor's intensity, as its
// events carry it (supervisor.Source); for a supervisor none of whose
// events was seen, period is DefaultIntensityPeriod and max_restarts is
// left out.
// An event's kind is a backplane.EventKind ("created", "linked",
// "unlinked", "disconnected", "shutdown requested") or a
// supervisor.EventType ("child started", ...); link events have "peer"
// and "mode", supervisor events have "supervisor", "generation" and the
// child as "device". A fault is
//
//	{"kind": "cascade", "error": "backplane: cascade from #7 (root #3: task panicked: boom)",
//	 "chain": [{"device": "#7", "name": "db", "kind": "cascade"}, {"device": "#3", "kind": "panic"}],
//	 "root_device": "#3",
//	 "root": {"kind": "panic", "error": "...", "panic": "boom", "stack": "goroutine 12 [running]: ..."}}
//
// where chain runs from the device depended on to the root (each hop with
// the kind of its own fault), and a panic fault carries "panic" and
// "stack" (at most MaxStack bytes).
//
// # The event stream
//
// /api/events is a text/event-stream. Each message is either
//
//	id: 1240
//	event: events
//	data: [EventInfo, ...]     (the events after the last one sent, oldest first)
//
// or, when the client fell so far behind that events left the ring (or
// asks for events after a sequence number the recorder has not reached, as
// a browser does after the process restarted),
//
//	event: reset
//	data: {"seq": 1240}        (take a new snapshot)
//
// Messages are at least WithUpdateInterval apart (events are batched); a
// comment line is sent every 15 seconds to keep the connection open. The
// stream ends when the client goes away.
//
// # The page
//
// The page loads a snapshot, then follows the event stream (it falls back
// to polling the snapshot without EventSource). It forgets the devices
// that went down as the recorder does (the snapshot's retention and
// max_down), so it reloads the snapshot only after a gap in the stream,
// and every five minutes. Every view shows what is alive now; "show down"
// adds the devices that went down and are kept as history. Its views:
//
//   - graph: devices on a canvas with a force layout (springs along links
//     and supervision edges, grid-based repulsion, so a step costs about
//     as much as the devices and links), coloured by state: alive, down
//     cleanly, down with a fault, down in a cascade, abandoned; supervisors
//     have a ring, devices of other nodes a ring of their node's colour.
//     Past 1500 devices it groups them by supervisor (or, on request, by
//     node), one circle per group, and it draws at most 3000 items. Labels
//     are placed by priority and drawn only where they overlap no other
//     label or node and stay inside the canvas, so more appear as you zoom
//     in. The page bounds its work per frame: a few layout steps within a
//     few milliseconds, the graph drawn only while it is shown and
//     something moved or changed, at most 1,200 labels tried and 400
//     drawn; the layout is heated only when what it draws changes, and a
//     restarted child takes its predecessor's place. Selecting a device never
//     moves the view; "centre" does, and "neighbourhood" shows only the
//     selected device, its peers, supervisor and children.
//   - table: one row per device (id, name, node, state, fault, links in
//     and out, age, restarts, supervisor), sortable by any column, with
//     only the rows in view in the document, so 10,000 devices scroll as
//     fast as 100.
//   - charts: devices alive, links, faults per second by kind and restarts
//     per second over the last minutes, from /api/series.
//   - timeline: the history: faults, abandoned children and restart
//     limits in a time window, newest first, a cascade under its root with
//     the devices that went down with it, panic stacks on demand.
//   - nodes: this process and every run of every other node, up or not
//     heard from, with its incarnation and devices (from WithPeers, else
//     the nodes this process holds proxies of); a click lists a node's
//     devices in the table.
//
// The side panel shows the supervision tree of now: each supervisor's
// children once (at most 400 under each; the filter narrows the tree to
// the devices it matches and their supervisors), by their ID in its spec,
// newest first, each as its
// current generation with its uptime, restarts, how its previous
// generation ended, and for a supervisor the intensity used (restarts
// within its period); dead and abandoned generations appear as badges.
// Beside it, the selected device and the event log. The filter box
// matches names, IDs and nodes, and takes fields such as "node:db",
// "state:down", "fault:panic", "restarts:>0", "in:>=2" or "age:<60".
//
// # The whole cluster
//
// Package clusterview (a module of its own) has each node of a cluster
// publish its recorder's snapshot over NATS, and gathers the others' for
// WithPeers: the page then shows every node's devices and supervision
// trees beside this one's, with each node's incarnation and whether it is
// up; a node not heard from has its devices shown down, "unreachable".
//
// # Shutdown requests
//
// By default everything is read-only. WithShutdown enables POST
// /api/shutdown and a "request shutdown" button on the selected device,
// which calls backplane.Line.Shutdown on the Line the Recorder keeps for it.
// Anyone who can reach the handler can then stop devices, so protect it:
// bind the server to 127.0.0.1, or wrap the handler in your own
// authentication middleware, e.g.
//
//	h := observer.Handler(rec, observer.WithShutdown())
//	http.Handle("/debug/backplane/", requireAdmin(http.StripPrefix("/debug/backplane", h)))
//
// Cross-origin POSTs are refused (http.CrossOriginProtection), so a page
// on another site cannot use a visitor's browser to reach the endpoint,
// and so are POSTs whose Origin names a host the handler does not answer.
//
// # Host names
//
// A page on evil.example can have its DNS name rebound to 127.0.0.1
// after it loads; the visitor's browser then sends it to the observer as
// same-origin, with "Host: evil.example". So the handler answers only
// requests whose Host is a loopback name or address (localhost,
// 127.0.0.0/8, [::1], any port), and refuses any other Host with 403,
// before any route, page or API runs. To reach it by another name, say so:
//
//	observer.Handler(rec, observer.WithAllowedHosts("observer.example.com", "*.ops.example"))
//
// A name is matched exactly, without its port and case; "*.ops.example"
// matches any name under ops.example; "*" turns the check off, for a
// handler behind a proxy or middleware that checks Host itself.
package observer
