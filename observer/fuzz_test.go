package observer_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/observer"
)

// FuzzHandler sends arbitrary paths, query strings and methods to the
// handler: no input may yield a 500 or a panic, and every error is JSON.
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
	h := observer.Handler(rec, observer.WithShutdown())
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the event stream returns at once

	for _, seed := range []struct {
		method byte
		path   string
		query  string
	}{
		{0, "/", ""},
		{0, "/api/snapshot", "limit=10&events=5&since=0"},
		{0, "/api/snapshot", "device=1"},
		{0, "/api/snapshot", "limit=-1"},
		{0, "/api/snapshot", "limit=1&limit=2"},
		{0, "/api/snapshot", "limit=%zz"},
		{0, "/api/snapshot", "since=18446744073709551615"},
		{0, "/api/events", "since=3"},
		{1, "/api/shutdown", "device=1"},
		{1, "/api/shutdown", "device=99999999999999999999"},
		{0, "/app.js", ""},
		{2, "/api/../app.css", "x"},
		{0, "//api/snapshot", ";;"},
	} {
		f.Add(seed.method, seed.path, seed.query)
	}
	methods := []string{"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS"}
	f.Fuzz(func(t *testing.T, m byte, path, query string) {
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		u := &url.URL{Path: path, RawQuery: query}
		r := httptest.NewRequest("GET", "/", nil).WithContext(ctx)
		r.Method = methods[int(m)%len(methods)]
		r.URL = u
		r.RequestURI = u.RequestURI()
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("%s %s: status %d: %s", r.Method, u, w.Code, w.Body)
		}
		if w.Code >= 400 && w.Header().Get("Content-Type") != "application/json" {
			t.Fatalf("%s %s: status %d with content type %q", r.Method, u, w.Code, w.Header().Get("Content-Type"))
		}
		if w.Code == http.StatusOK && strings.HasPrefix(u.Path, "/api/snapshot") && !strings.HasPrefix(w.Body.String(), "{") {
			t.Fatalf("%s %s: snapshot body %.40q", r.Method, u, w.Body)
		}
	})
}
