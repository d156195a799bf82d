package observer_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/observer"
)

// staticPeers are two runs of a node db, one up and one not heard from,
// both with snap as their model.
type staticPeers struct{ snap *observer.Snapshot }

func (p staticPeers) PeerSnapshots() []observer.PeerSnapshot {
	return []observer.PeerSnapshot{
		{Node: "db", Incarnation: "5f3a9c", Up: true, Snapshot: p.snap},
		{Node: "db", Incarnation: "1", Snapshot: p.snap},
	}
}

// FuzzHandler sends arbitrary paths, query strings, methods and Host
// headers to the handler, with and without a cluster view (WithPeers): no
// input may yield a 500 or a panic, every error is JSON, a Host that is
// not loopback (nor allowed) always gets 403, and every API answer of 200
// is a JSON object. The seeds give each query parameter of each endpoint
// (snapshot: limit, events, device, since; events: since; shutdown:
// device; series: window; cluster: none) in range, out of range, twice,
// malformed and unknown.
func FuzzHandler(f *testing.F) {
	rec := observer.NewRecorder()
	a, b := backplane.New(backplane.WithName("a")), backplane.New()
	defer a.Drop()
	defer b.Drop()
	for _, e := range []backplane.Event{
		{Kind: backplane.EventCreated, Device: a.ID(), Name: "a"},
		{Kind: backplane.EventLinked, Device: a.ID(), Peer: b.ID(), Mode: backplane.Peer},
		{Kind: backplane.EventDisconnected, Device: b.ID(), Fault: backplane.ErrorFault(context.Canceled)},
	} {
		rec.Record(e)
	}
	h := observer.Handler(rec, observer.WithShutdown(), observer.WithAllowedHosts("ops.example"))
	hp := observer.Handler(rec, observer.WithAllowedHosts("ops.example"),
		observer.WithPeers(staticPeers{rec.Snapshot(observer.SnapshotOptions{})}))
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the event stream returns at once

	for _, seed := range []struct {
		method byte
		host   string
		path   string
		query  string
	}{
		{0, "127.0.0.1:6060", "/", ""},
		{0, "localhost", "/api/snapshot", "limit=10&events=5&since=0"},
		{0, "[::1]:80", "/api/snapshot", "device=1"},
		{0, "127.0.0.1", "/api/snapshot", "limit=-1"},
		{0, "127.0.0.1", "/api/snapshot", "limit=1&limit=2"},
		{0, "127.0.0.1", "/api/snapshot", "limit=%zz"},
		{0, "127.0.0.1", "/api/snapshot", "since=18446744073709551615"},
		{0, "127.0.0.1", "/api/events", "since=3"},
		{1, "127.0.0.1", "/api/shutdown", "device=1"},
		{1, "evil.example", "/api/shutdown", "device=1"},
		{0, "evil.example:6060", "/api/snapshot", ""},
		{0, "ops.example", "/api/snapshot", ""},
		{0, "localhost.evil.example", "/", ""},
		{0, "", "/", ""},
		{1, "127.0.0.1", "/api/shutdown", "device=99999999999999999999"},
		{0, "127.0.0.1", "/app.js", ""},
		{0, "127.0.0.1", "/api/series", "window=60"},
		{0, "127.0.0.1", "/api/cluster", ""},
		{0, "127.0.0.1", "/api/series", "window=0"},
		{0, "127.0.0.1", "/api/snapshot", "device=%237%40db%2F5f3a9c"},
		{0, "127.0.0.1", "/api/snapshot", "device=%23"},
		{1, "127.0.0.1", "/api/shutdown", "device=%231%40a%2F"},
		{2, "127.0.0.1", "/api/../app.css", "x"},
		{0, "127.0.0.1", "//api/snapshot", ";;"},
		{0, "127.0.0.1", "/api/snapshot", "events=0&limit=100000"},
		{0, "127.0.0.1", "/api/snapshot", "limit=100001"},
		{0, "127.0.0.1", "/api/snapshot", "device=%237%40db%2F5f3a9c&since=1"},
		{0, "127.0.0.1", "/api/snapshot", "device=7@db"},
		{0, "127.0.0.1", "/api/snapshot", "colour=red"},
		{0, "127.0.0.1", "/api/events", "since=-1"},
		{0, "127.0.0.1", "/api/events", "since=1&since=2"},
		{0, "127.0.0.1", "/api/series", "window=600"},
		{0, "127.0.0.1", "/api/series", "window=601"},
		{0, "127.0.0.1", "/api/series", "window=+60"},
		{0, "127.0.0.1", "/api/cluster", "node=db"},
		{0, "127.0.0.1", "/api/cluster", "%"},
		{1, "127.0.0.1", "/api/shutdown", ""},
		{1, "127.0.0.1", "/api/shutdown", "device=%231%40db%2F5f3a9c"},
		{1, "127.0.0.1", "/api/shutdown", "device=1&device=1"},
	} {
		f.Add(seed.method, seed.host, seed.path, seed.query)
	}
	methods := []string{"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS"}
	f.Fuzz(func(t *testing.T, m byte, host, path, query string) {
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		u := &url.URL{Path: path, RawQuery: query}
		r := httptest.NewRequest("GET", "/", nil).WithContext(ctx)
		r.Method = methods[int(m)%len(methods)]
		r.URL = u
		r.RequestURI = u.RequestURI()
		r.Host = host
		for _, h := range []http.Handler{h, hp} {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusForbidden && !hostOK(host) {
				t.Fatalf("%s %s with Host %q: status %d, want 403", r.Method, u, host, w.Code)
			}
			if w.Code >= 500 {
				t.Fatalf("%s %s: status %d: %s", r.Method, u, w.Code, w.Body)
			}
			if w.Code >= 400 && w.Header().Get("Content-Type") != "application/json" {
				t.Fatalf("%s %s: status %d with content type %q", r.Method, u, w.Code, w.Header().Get("Content-Type"))
			}
			if w.Code == http.StatusOK && strings.HasPrefix(u.Path, "/api/") && u.Path != "/api/events" && !strings.HasPrefix(w.Body.String(), "{") {
				t.Fatalf("%s %s: API body %.40q", r.Method, u, w.Body)
			}
		}
	})
}

// hostOK is a model of the Host check, written apart from the handler's:
// loopback names and addresses, and ops.example, with or without a port.
func hostOK(host string) bool {
	h := strings.ToLower(host)
	if i := strings.LastIndex(h, ":"); i >= 0 && !strings.HasSuffix(h, "]") {
		h = h[:i]
	}
	h = strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(h, "["), "]"), ".")
	if h == "localhost" || h == "ops.example" || h == "::1" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
