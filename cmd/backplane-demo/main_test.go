package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/backplane-go/backplane/internal/demo"
	"github.com/backplane-go/backplane/observer"
)

// TestMain fails the tests if any goroutine outlives them.
// The multi-node test runs this test binary again as the child nodes:
// the parent's environment selects childMain, as in the demo's own binary.
func TestMain(m *testing.M) {
	if isChild() {
		os.Exit(childMain())
	}
	goleak.VerifyTestMain(m)
}

// testServer serves the observer of a test run on an httptest server, and
// takes a last snapshot when the run stops serving.
type testServer struct {
	t    *testing.T
	url  string
	snap observer.Snapshot // at the end
}

// serve is the run's serve function.
func (s *testServer) serve(h http.Handler) (string, func(), error) {
	srv := httptest.NewServer(h)
	s.url = srv.URL + "/"
	return s.url, func() {
		// The service has stopped: its devices are down, and kept.
		s.snap = getSnapshot(s.t, s.url)
		srv.Close()
	}, nil
}

func getSnapshot(t *testing.T, url string) observer.Snapshot {
	t.Helper()
	resp, err := http.Get(url + "api/snapshot")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s observer.Snapshot
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET api/snapshot: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestRun plays a few fault rounds in-process, served by an httptest
// server, and reads the observer's snapshot just before the server stops.
func TestRun(t *testing.T) {
	o := options{seed: 7, interval: 20 * time.Millisecond, rounds: 10, pool: 3, refresh: 5 * time.Millisecond}
	ts := &testServer{t: t}
	var out bytes.Buffer
	if err := run(t.Context(), o, &out, ts.serve); err != nil {
		t.Fatalf("run: %v", err)
	}

	text := out.String()
	for _, want := range []string{"observer at " + ts.url, "seed 7", "alive 0, pool 0 | faults:", "stopped"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "\r") {
		t.Errorf("output is not a terminal, yet has a carriage return:\n%q", text)
	}

	names := map[string]string{} // by device
	seen := map[string]bool{}    // every name, whatever its generation
	for _, d := range ts.snap.Devices {
		names[d.ID] = d.Name
		seen[d.Name] = true
	}
	conns := 0
	for name := range seen {
		if strings.HasPrefix(name, "conn-") {
			conns++
		}
	}
	for _, want := range []string{"app", "store", "db", "cache", "api", "router", "sessions", "pool", "autoscaler", "jobs", "scheduler", "mailer"} {
		if !seen[want] {
			t.Errorf("no device %q in the snapshot", want)
		}
	}
	if conns < o.pool {
		t.Errorf("%d connections in the snapshot, want at least %d", conns, o.pool)
	}
	// The root supervises store, api and jobs, in every generation.
	for _, d := range ts.snap.Devices {
		if d.Name != "app" {
			continue
		}
		var kids []string
		for _, c := range d.Children {
			kids = append(kids, names[c])
		}
		for _, want := range []string{"store", "api", "jobs"} {
			if !slices.Contains(kids, want) {
				t.Errorf("app %s supervises %v, not %s", d.ID, kids, want)
			}
		}
	}
	if ts.snap.Stats.Alive != 0 {
		t.Errorf("%d devices still alive after run returned", ts.snap.Stats.Alive)
	}
	if len(ts.snap.Faults) == 0 {
		t.Errorf("no fault in the feed after %d rounds", o.rounds)
	}
}

// TestRunStops: cancelling the context stops the service, quiet or not.
func TestRunStops(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	o := options{interval: time.Hour, pool: 1, refresh: time.Hour}
	serve := func(h http.Handler) (string, func(), error) {
		srv := httptest.NewServer(h)
		cancel() // as if Ctrl-C came at once
		return srv.URL + "/", srv.Close, nil
	}
	if err := run(ctx, o, io.Discard, serve); err != nil {
		t.Fatalf("run: %v", err)
	}
}

func TestRunServeFails(t *testing.T) {
	boom := errors.New("boom")
	serve := func(http.Handler) (string, func(), error) { return "", nil, boom }
	if err := run(t.Context(), options{interval: time.Second, pool: 1}, io.Discard, serve); !errors.Is(err, boom) {
		t.Fatalf("run: %v, want %v", err, boom)
	}
}

func TestListenTCP(t *testing.T) {
	url, stop, err := listenTCP("127.0.0.1:0")(http.NotFoundHandler())
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Errorf("url %q", url)
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET %s: %s", url, resp.Status)
	}

	// The same address again: taken.
	addr := strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/")
	_, _, err = listenTCP(addr)(http.NotFoundHandler())
	if err == nil || !strings.Contains(err.Error(), addr+" is already in use") || !strings.Contains(err.Error(), "-addr") {
		t.Errorf("second listen on %s: %v", addr, err)
	}
}

func TestListenTCPBadAddress(t *testing.T) {
	if _, _, err := listenTCP("127.0.0.1:99999")(http.NotFoundHandler()); err == nil {
		t.Error("no error for port 99999")
	} else if _, ok := errors.AsType[*net.OpError](err); !ok {
		t.Errorf("error %v (%T), want a *net.OpError", err, err)
	}
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		args []string
		ok   bool
		want options
	}{
		{nil, true, options{addr: "127.0.0.1:8080", interval: 700 * time.Millisecond, pool: 4}},
		{[]string{"-addr", ":0", "-duration", "5s", "-seed", "42", "-rounds", "3", "-pool", "2", "-interval", "1s"}, true,
			options{addr: ":0", duration: 5 * time.Second, seed: 42, rounds: 3, pool: 2, interval: time.Second}},
		{[]string{"-interval", "0s"}, false, options{}},
		{[]string{"-pool", "0"}, false, options{}},
		{[]string{"-rounds", "-1"}, false, options{}},
		{[]string{"-duration", "-1s"}, false, options{}},
		{[]string{"-seed", "x"}, false, options{}},
		{[]string{"extra"}, false, options{}},
		{[]string{"-nodes", "3", "-kill-after", "2s", "-restart-after", "0"}, true,
			options{addr: "127.0.0.1:8080", interval: 700 * time.Millisecond, pool: 4, nodes: 3, killAfter: 2 * time.Second}},
		{[]string{"-nodes", "0"}, false, options{}},
		{[]string{"-nodes", "17"}, false, options{}},
		{[]string{"-kill-after", "-1s"}, false, options{}},
		{[]string{"-restart-after", "-1s"}, false, options{}},
	}
	for _, tt := range tests {
		o, err := parseFlags(tt.args, io.Discard)
		if (err == nil) != tt.ok {
			t.Errorf("parseFlags(%q): error %v, want ok=%v", tt.args, err, tt.ok)
			continue
		}
		if !tt.ok {
			continue
		}
		tt.want.refresh = o.refresh
		if tt.want.nodes == 0 {
			tt.want.nodes, tt.want.restartAfter = 1, 3*time.Second
		}
		if o != tt.want {
			t.Errorf("parseFlags(%q) = %+v, want %+v", tt.args, o, tt.want)
		}
	}
	if _, err := parseFlags([]string{"-h"}, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v, want flag.ErrHelp", err)
	}
}

func TestSummary(t *testing.T) {
	st := demo.Stats{Alive: 16, Pool: 4}
	tests := []struct {
		tty        bool
		want, last string
	}{
		{true, "\r[  0s] alive 16, pool 4 | faults: none -> 0 devices down | restarts 0, abandoned 0\x1b[K", "\x1b[K\nstopped"},
		{false, "[  0s] alive 16, pool 4 | faults: none -> 0 devices down | restarts 0, abandoned 0\n", "abandoned 0\nstopped"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		s := &summary{out: &out, tty: tt.tty, start: time.Now()}
		s.update(st)
		if got := out.String(); got != tt.want {
			t.Errorf("tty=%v: update wrote %q, want %q", tt.tty, got, tt.want)
		}
		out.Reset()
		s.final(st)
		if got := out.String(); !strings.Contains(got, tt.last) {
			t.Errorf("tty=%v: final wrote %q, want it to contain %q", tt.tty, got, tt.last)
		}
	}
}
