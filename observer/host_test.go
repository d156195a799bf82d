package observer_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/observer"
)

// TestAttackDNSRebindingShutdown plays a page on evil.example whose name
// was rebound to the observer's loopback address: the browser sends the
// page's own Host and a matching Origin, which passes a same-origin check.
// The handler must refuse it before the device hears of it.
func TestAttackDNSRebindingShutdown(t *testing.T) {
	rec := newRecorder(t)
	d := backplane.New()
	defer d.Drop()
	rec.Track(d)
	srv := httptest.NewServer(observer.Handler(rec, observer.WithShutdown()))
	defer srv.Close()

	req, _ := http.NewRequest("POST", srv.URL+"/api/shutdown?device="+strconv.FormatUint(d.ID().Seq(), 10), nil)
	req.Host = "evil.example:8080"
	req.Header.Set("Origin", "http://evil.example:8080")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("rebound POST: status %d, want 403: %s", resp.StatusCode, body)
	}
	if n := d.Pending(); n != 0 {
		t.Errorf("the device received %d messages from a rebound page", n)
	}
}

// TestAttackDNSRebindingRead: a rebound page must not read the model
// (device names, faults, panic stacks) or the live stream.
func TestAttackDNSRebindingRead(t *testing.T) {
	rec := newRecorder(t)
	d := backplane.New(backplane.WithName("secret"))
	defer d.Drop()
	srv := httptest.NewServer(observer.Handler(rec))
	defer srv.Close()
	client := srv.Client()
	client.Timeout = 10 * time.Second // the event stream, if served, never ends
	for _, path := range []string{"/", "/app.js", "/api/snapshot", "/api/events", "/api/series"} {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Host = "evil.example"
		resp, err := client.Do(req)
		if err != nil {
			t.Errorf("GET %s with Host evil.example: %v", path, err)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("GET %s with Host evil.example: status %d, want 403: %.80s", path, resp.StatusCode, body)
		}
	}
}

func TestAllowedHosts(t *testing.T) {
	rec := newRecorder(t)
	plain := observer.Handler(rec)
	named := observer.Handler(rec, observer.WithAllowedHosts("Observer.Example.com", "*.corp.example", "[fd00::7]", ""))
	any := observer.Handler(rec, observer.WithAllowedHosts("*"))
	tests := []struct {
		host         string
		plain, named bool
	}{
		{"localhost", true, true},
		{"LOCALHOST:6060", true, true},
		{"localhost.", true, true},
		{"127.0.0.1", true, true},
		{"127.0.0.1:6060", true, true},
		{"127.9.8.7:80", true, true},
		{"[::1]:6060", true, true},
		{"[::1]", true, true},
		{"observer.example.com", false, true},
		{"observer.example.com:443", false, true},
		{"a.corp.example", false, true},
		{"a.b.corp.example:1", false, true},
		{"corp.example", false, false},
		{"evilcorp.example", false, false},
		{"[fd00::7]:80", false, true},
		{"evil.example", false, false},
		{"localhost.evil.example", false, false},
		{"127.0.0.1.evil.example", false, false},
		{"10.0.0.1", false, false},
		{"[::2]:80", false, false},
		{"", false, false},
		{"localhost:x", false, false},
		{"[::1", false, false},
	}
	for _, tt := range tests {
		for _, c := range []struct {
			h    http.Handler
			name string
			want bool
		}{{plain, "default", tt.plain}, {named, "named", tt.named}, {any, "any", tt.host != "" && tt.host != "localhost:x" && tt.host != "[::1"}} {
			r := httptest.NewRequest("GET", "http://127.0.0.1/api/snapshot?limit=1&events=0", nil)
			r.Host = tt.host
			w := httptest.NewRecorder()
			c.h.ServeHTTP(w, r)
			if got := w.Code == http.StatusOK; got != c.want {
				t.Errorf("%s handler, Host %q: status %d, want allowed=%v", c.name, tt.host, w.Code, c.want)
			}
			if w.Code == http.StatusForbidden && w.Header().Get("Content-Type") != "application/json" {
				t.Errorf("%s handler, Host %q: 403 with content type %q", c.name, tt.host, w.Header().Get("Content-Type"))
			}
		}
	}
}

// TestShutdownOrigin: the shutdown endpoint also checks Origin against
// the allowed hosts.
func TestShutdownOrigin(t *testing.T) {
	rec := newRecorder(t)
	d := backplane.New()
	defer d.Drop()
	rec.Track(d)
	h := observer.Handler(rec, observer.WithShutdown(), observer.WithAllowedHosts("ops.example"))
	target := "/api/shutdown?device=" + strconv.FormatUint(d.ID().Seq(), 10)
	for _, origin := range []string{"http://evil.example", "null", "file://", "http://127.0.0.1.evil.example"} {
		resp := get(t, h, "POST", target, "Origin", origin, "Sec-Fetch-Site", "same-origin")
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("Origin %q: status %d, want 403", origin, resp.StatusCode)
		}
	}
	if n := d.Pending(); n != 0 {
		t.Fatalf("%d messages reached the device", n)
	}
	resp := get(t, h, "POST", "http://ops.example"+target, "Origin", "https://ops.example", "Sec-Fetch-Site", "same-origin")
	if resp.StatusCode != http.StatusAccepted {
		t.Errorf("allowed origin: status %d, want 202", resp.StatusCode)
	}
}
