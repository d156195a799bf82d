package observer_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/observer"
	"github.com/backplane-go/backplane/supervisor"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// get serves one request with h and returns the response. A target
// without a scheme and host goes to http://127.0.0.1.
func get(t testing.TB, h http.Handler, method, target string, hdr ...string) *http.Response {
	t.Helper()
	if strings.HasPrefix(target, "/") {
		target = "http://127.0.0.1" + target
	}
	r := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result()
}

// TestSnapshotGolden checks the shape of /api/snapshot against
// testdata/snapshot.golden (run with -update to rewrite it). Device IDs
// depend on how many devices the process made before, so they are
// renumbered from 1 in the order the test creates them.
func TestSnapshotGolden(t *testing.T) {
	rec := newRecorder(t)
	ctx := context.Background()
	sup := backplane.New(backplane.WithName("sup"))
	defer sup.Drop()
	db := backplane.New(backplane.WithName("db"))
	var g backplane.Group
	api, err := g.Spawn(ctx, db, backplane.Notify, wait, backplane.WithName("api"))
	if err != nil {
		t.Fatal(err)
	}
	src := supervisor.Source{Supervisor: "sup", SupervisorID: sup.ID()}
	rec.RecordSupervisor(supervisor.ChildStarted{Source: src, Instance: supervisor.Instance{Device: db.ID(), Child: "db", Generation: 1}})
	rec.RecordSupervisor(supervisor.ChildStarted{Source: src, Instance: supervisor.Instance{Device: api.ID(), Child: "api", Generation: 1}})
	if err := sup.Link(db, backplane.Monitor); err != nil {
		t.Fatal(err)
	}
	rec.Track(sup)
	boom := panicFault("boom")
	_ = db.Disconnect(boom)
	g.Wait()
	// The supervisor restarts db once, then gives up.
	rec.RecordSupervisor(supervisor.ChildExited{Source: src, Instance: supervisor.Instance{Device: db.ID(), Child: "db", Generation: 1}, Fault: boom})
	db2 := backplane.New(backplane.WithName("db"))
	defer db2.Drop()
	rec.RecordSupervisor(supervisor.ChildRestarted{Source: src, Instance: supervisor.Instance{Device: db2.ID(), Child: "db", Generation: 2}})
	rec.RecordSupervisor(supervisor.RestartLimitReached{Source: src, Err: &supervisor.RestartLimitError{Supervisor: "sup", MaxRestarts: 1, Period: time.Minute, Child: "api"}})

	resp := get(t, observer.Handler(rec), "GET", "/api/snapshot")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	body, _ := io.ReadAll(resp.Body)
	have := renumber(t, body, sup.ID().Seq())
	golden := filepath.Join("testdata", "snapshot.golden")
	if *update {
		if err := os.WriteFile(golden, have, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(have) != string(want) {
		t.Errorf("snapshot differs from %s (run go test -update to accept):\n%s", golden, have)
	}
}

var idRef = regexp.MustCompile(`#(\d+)`)

// renumber rewrites device IDs ("#N", in ID fields and in text) relative
// to base (base becomes 1), and re-indents the JSON.
func renumber(t testing.TB, body []byte, base uint64) []byte {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
	var walk func(v any) any
	walk = func(v any) any {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				switch k {
				case "seq", "events":
					if _, ok := x.(float64); ok {
						v[k] = "<seq>" // counts from the process start
						continue
					}
				}
				v[k] = walk(x)
			}
		case []any:
			for i := range v {
				v[i] = walk(v[i])
			}
		case string:
			return idRef.ReplaceAllStringFunc(v, func(s string) string {
				n, _ := strconv.ParseUint(s[1:], 10, 64)
				if n == 0 {
					return s
				}
				return "#" + strconv.FormatUint(n-base+1, 10)
			})
		}
		return v
	}
	out, err := json.MarshalIndent(walk(v), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(out, '\n')
}

func TestHandlerStatus(t *testing.T) {
	// d is made before the recorder is installed, so the recorder learns of
	// it only through a link: it knows the device but holds no Line to it.
	d := backplane.New()
	defer d.Drop()
	rec := newRecorder(t)
	seen := backplane.New()
	defer seen.Drop()
	if err := seen.Link(d, backplane.Monitor); err != nil {
		t.Fatal(err)
	}
	id := url.QueryEscape(d.ID().String())
	ro := observer.Handler(rec)
	rw := observer.Handler(rec, observer.WithShutdown())
	tests := []struct {
		name   string
		h      http.Handler
		method string
		target string
		want   int
	}{
		{"page", ro, "GET", "/", 200},
		{"page head", ro, "HEAD", "/", 200},
		{"index", ro, "GET", "/index.html", 200},
		{"script", ro, "GET", "/app.js", 200},
		{"style", ro, "GET", "/app.css", 200},
		{"asset with query", ro, "GET", "/app.js?x=1", 400},
		{"snapshot", ro, "GET", "/api/snapshot?limit=10&events=0&since=0", 200},
		{"snapshot device", ro, "GET", "/api/snapshot?device=" + id, 200},
		{"unknown device", ro, "GET", "/api/snapshot?device=999999999999", 404},
		{"limit zero", ro, "GET", "/api/snapshot?limit=0", 400},
		{"limit too big", ro, "GET", "/api/snapshot?limit=100001", 400},
		{"limit negative", ro, "GET", "/api/snapshot?limit=-1", 400},
		{"limit plus", ro, "GET", "/api/snapshot?limit=%2B5", 400},
		{"limit word", ro, "GET", "/api/snapshot?limit=ten", 400},
		{"limit empty", ro, "GET", "/api/snapshot?limit=", 400},
		{"limit twice", ro, "GET", "/api/snapshot?limit=1&limit=2", 400},
		{"unknown parameter", ro, "GET", "/api/snapshot?foo=1", 400},
		{"bad escape", ro, "GET", "/api/snapshot?limit=%zz", 400},
		{"semicolon", ro, "GET", "/api/snapshot?limit=1;events=2", 400},
		{"huge since", ro, "GET", "/api/snapshot?since=99999999999999999999999", 400},
		{"events bad since", ro, "GET", "/api/events?since=x", 400},
		{"events bad header", ro, "GET", "/api/events", 400},
		{"post snapshot", ro, "POST", "/api/snapshot", 405},
		{"no such page", ro, "GET", "/nope", 404},
		{"series", ro, "GET", "/api/series", 200},
		{"series window", ro, "GET", "/api/series?window=600", 200},
		{"series window zero", ro, "GET", "/api/series?window=0", 400},
		{"series window too big", ro, "GET", "/api/series?window=601", 400},
		{"series post", ro, "POST", "/api/series", 405},
		{"cluster without peers", ro, "GET", "/api/cluster", 404},
		{"cluster with a query", ro, "GET", "/api/cluster?x=1", 400},
		{"snapshot remote device", ro, "GET", "/api/snapshot?device=%237%40db%2F5f", 404},
		{"snapshot bad device", ro, "GET", "/api/snapshot?device=%237%40db", 400},
		{"shutdown disabled", ro, "POST", "/api/shutdown?device=" + id, 403},
		{"shutdown get", rw, "GET", "/api/shutdown?device=" + id, 405},
		{"shutdown no device", rw, "POST", "/api/shutdown", 400},
		{"shutdown bad device", rw, "POST", "/api/shutdown?device=0", 400},
		{"shutdown unknown", rw, "POST", "/api/shutdown?device=999999999999", 404},
		{"shutdown untracked", rw, "POST", "/api/shutdown?device=" + id, 409},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hdr []string
			if tt.name == "events bad header" {
				hdr = []string{"Last-Event-ID", "abc"}
			}
			resp := get(t, tt.h, tt.method, tt.target, hdr...)
			if resp.StatusCode != tt.want {
				body, _ := io.ReadAll(resp.Body)
				t.Errorf("%s %s: status %d, want %d: %s", tt.method, tt.target, resp.StatusCode, tt.want, body)
			}
			if resp.StatusCode >= 400 {
				var e struct{ Error string }
				if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || !strings.HasPrefix(e.Error, "observer: ") {
					t.Errorf("error body: %v %q", err, e.Error)
				}
			}
		})
	}
}

func TestHandlerShutdown(t *testing.T) {
	rec := newRecorder(t)
	d := backplane.New()
	defer d.Drop()
	rec.Track(d)
	h := observer.Handler(rec, observer.WithShutdown())
	target := "/api/shutdown?device=" + url.QueryEscape(d.ID().String())

	// A cross-origin POST is refused before it reaches the device.
	resp := get(t, h, "POST", target, "Sec-Fetch-Site", "cross-site")
	if resp.StatusCode != http.StatusForbidden || d.Pending() != 0 {
		t.Fatalf("cross-origin POST: status %d, %d pending", resp.StatusCode, d.Pending())
	}
	resp = get(t, h, "POST", target, "Sec-Fetch-Site", "same-origin")
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if m, ok := d.TryReceive(); !ok || m.Kind() != backplane.Shutdown || !m.From().IsZero() {
		t.Fatalf("inbox: %v %v", m, ok)
	}
	d.Drop()
	if resp := get(t, h, "POST", target); resp.StatusCode != http.StatusConflict {
		t.Errorf("down device: status %d", resp.StatusCode)
	}
	var s observer.Snapshot
	resp = get(t, h, "GET", "/api/snapshot")
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil || !s.Shutdown {
		t.Errorf("snapshot of a handler with WithShutdown: %v shutdown=%v", err, s.Shutdown)
	}
}

func TestHandlerPage(t *testing.T) {
	h := observer.Handler(observer.NewRecorder())
	resp := get(t, h, "GET", "/")
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{`<canvas id="graph"`, `src="app.js"`, `href="app.css"`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("Content-Security-Policy: %q", csp)
	}
	// Every URL the script uses is relative, so the handler can be mounted
	// under any prefix.
	resp = get(t, h, "GET", "/app.js")
	js, _ := io.ReadAll(resp.Body)
	for _, bad := range []string{`"/api`, "http://", "https://"} {
		if strings.Contains(string(js), bad) {
			t.Errorf("app.js contains %s", bad)
		}
	}
}

// sse reads server-sent events from a stream.
type sse struct {
	t  testing.TB
	br *bufio.Reader
}

// next returns the next message's event name and data, skipping comments.
func (s *sse) next() (event, data string) {
	s.t.Helper()
	for {
		line, err := s.br.ReadString('\n')
		if err != nil {
			s.t.Fatalf("reading the stream: %v", err)
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			if event != "" || data != "" {
				return event, data
			}
		case strings.HasPrefix(line, "event: "):
			event = line[len("event: "):]
		case strings.HasPrefix(line, "data: "):
			data = line[len("data: "):]
		}
	}
}

func TestEventStream(t *testing.T) {
	rec := newRecorder(t)
	srv := httptest.NewServer(observer.Handler(rec, observer.WithUpdateInterval(0)))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	since := rec.Stats().Events
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/events?since="+strconv.FormatUint(since, 10), nil)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	s := &sse{t: t, br: bufio.NewReader(resp.Body)}

	// The handler has subscribed before it sent the headers, so nothing
	// recorded from now on can be missed.
	a := backplane.New(backplane.WithName("a"))
	ev, data := s.next()
	var evs []observer.EventInfo
	if err := json.Unmarshal([]byte(data), &evs); ev != "events" || err != nil {
		t.Fatalf("message %q %q: %v", ev, data, err)
	}
	if len(evs) != 1 || evs[0].Kind != "created" || evs[0].Name != "a" || evs[0].Device != a.ID().String() {
		t.Fatalf("first message: %+v", evs)
	}
	_ = a.Disconnect(errors.New("boom"))
	ev, data = s.next()
	evs = nil
	if err := json.Unmarshal([]byte(data), &evs); ev != "events" || err != nil {
		t.Fatalf("message %q %q: %v", ev, data, err)
	}
	if len(evs) != 1 || evs[0].Kind != "disconnected" || evs[0].Fault == nil || evs[0].Fault.Kind != "error" {
		t.Fatalf("second message: %+v", evs)
	}
	// Ending the request ends the handler's goroutine (goleak checks).
	cancel()
}

func TestEventStreamReset(t *testing.T) {
	rec := newRecorder(t, observer.WithEventBuffer(2))
	for range 3 {
		backplane.New().Drop()
	}
	srv := httptest.NewServer(observer.Handler(rec))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/events", nil)
	req.Header.Set("Last-Event-ID", "0")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	s := &sse{t: t, br: bufio.NewReader(resp.Body)}
	ev, data := s.next()
	var m struct{ Seq uint64 }
	if err := json.Unmarshal([]byte(data), &m); ev != "reset" || err != nil || m.Seq != rec.Stats().Events {
		t.Fatalf("message %q %q, want a reset to %d", ev, data, rec.Stats().Events)
	}
}

// TestHandlerMounted serves the handler under a prefix, as the package doc
// shows.
func TestHandlerMounted(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("/debug/backplane/", http.StripPrefix("/debug/backplane", observer.Handler(observer.NewRecorder())))
	for target, want := range map[string]int{
		"/debug/backplane/":             200,
		"/debug/backplane/app.js":       200,
		"/debug/backplane/api/snapshot": 200,
		"/debug/backplane/api/nope":     404,
	} {
		if resp := get(t, mux, "GET", target); resp.StatusCode != want {
			t.Errorf("GET %s: status %d, want %d", target, resp.StatusCode, want)
		}
	}
}
