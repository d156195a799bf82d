package observer

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/backplane-go/backplane"
)

//go:embed static
var static embed.FS

// HandlerOption configures the http.Handler made by Handler.
type HandlerOption interface {
	applyHandler(*handlerConfig)
}

type handlerConfig struct {
	shutdown  bool
	interval  time.Duration
	heartbeat time.Duration
	hosts     []string // allowed beyond loopback (WithAllowedHosts)
	peers     Peers    // other nodes (WithPeers)
}

type handlerOptionFunc func(*handlerConfig)

func (f handlerOptionFunc) applyHandler(c *handlerConfig) { f(c) }

// WithShutdown enables POST /api/shutdown and the page's "request
// shutdown" button, which ask a tracked device (see Recorder.Track) to shut
// down. Anyone who can reach the handler can then stop your devices:
// serve it on a loopback address only, or behind authentication
// middleware. Cross-origin POSTs are refused (http.CrossOriginProtection),
// so a web page elsewhere cannot use a browser that can reach the handler,
// and so are POSTs whose Origin names a host the handler does not answer
// (see WithAllowedHosts).
func WithShutdown() HandlerOption {
	return handlerOptionFunc(func(c *handlerConfig) { c.shutdown = true })
}

// WithUpdateInterval sets the least time between two messages of the live
// event stream: events in between are sent together. Default 250ms; zero
// sends each batch as soon as it is recorded.
func WithUpdateInterval(d time.Duration) HandlerOption {
	return handlerOptionFunc(func(c *handlerConfig) { c.interval = max(d, 0) })
}

// Limits of the query parameters.
const (
	maxLimit  = 100000 // devices in a snapshot
	maxEvents = 100000 // events in a snapshot
	maxBatch  = 500    // events in one stream message
	defLimit  = 5000
	defEvents = 200
)

// Handler returns an http.Handler that serves the observer page and its
// API for rec (see the package doc for the routes and the JSON). It is
// read-only unless WithShutdown is given. It answers only requests whose
// Host is loopback, or allowed by WithAllowedHosts, and refuses others with
// 403, against DNS rebinding. It never registers itself
// anywhere: mount it where you like, under a path that ends in a slash,
// e.g.
//
//	mux.Handle("/debug/backplane/", http.StripPrefix("/debug/backplane", observer.Handler(rec)))
func Handler(rec *Recorder, opts ...HandlerOption) http.Handler {
	cfg := handlerConfig{interval: 250 * time.Millisecond, heartbeat: 15 * time.Second}
	for _, o := range opts {
		o.applyHandler(&cfg)
	}
	h := &handler{rec: rec, cfg: cfg}
	mux := http.NewServeMux()
	page := h.asset("static/index.html", "text/html; charset=utf-8")
	mux.Handle("/{$}", only("GET", page))
	mux.Handle("/index.html", only("GET", page))
	mux.Handle("/app.js", only("GET", h.asset("static/app.js", "text/javascript; charset=utf-8")))
	mux.Handle("/app.css", only("GET", h.asset("static/app.css", "text/css; charset=utf-8")))
	mux.Handle("/api/snapshot", only("GET", http.HandlerFunc(h.snapshot)))
	mux.Handle("/api/events", only("GET", http.HandlerFunc(h.events)))
	mux.Handle("/api/series", only("GET", http.HandlerFunc(h.series)))
	mux.Handle("/api/cluster", only("GET", http.HandlerFunc(h.cluster)))
	if cfg.shutdown {
		post := checkOrigin(cfg.hosts, http.NewCrossOriginProtection().Handler(http.HandlerFunc(h.shutdown)))
		mux.Handle("/api/shutdown", only("POST", post))
	} else {
		mux.HandleFunc("/api/shutdown", func(w http.ResponseWriter, _ *http.Request) {
			writeError(w, http.StatusForbidden, "shutdown is disabled (see observer.WithShutdown)")
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such page: "+strconv.Quote(r.URL.Path))
	})
	return checkHost(cfg.hosts, mux)
}

// only lets method through to h (GET also admits HEAD) and answers any
// other method with 405.
func only(method string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != method && !(method == "GET" && r.Method == "HEAD") {
			allow := method
			if method == "GET" {
				allow = "GET, HEAD"
			}
			w.Header().Set("Allow", allow)
			writeError(w, http.StatusMethodNotAllowed, "method "+strconv.Quote(r.Method)+" not allowed; use "+allow)
			return
		}
		h.ServeHTTP(w, r)
	})
}

type handler struct {
	rec *Recorder
	cfg handlerConfig
}

func (h *handler) asset(name, ctype string) http.HandlerFunc {
	body, err := static.ReadFile(name)
	if err != nil {
		panic("observer: missing embedded asset " + name) // a build mistake, caught by every test
	}
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery != "" && name != "static/index.html" {
			writeError(w, http.StatusBadRequest, "assets take no query parameters")
			return
		}
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		if r.Method != http.MethodHead {
			_, _ = w.Write(body)
		}
	}
}

func (h *handler) snapshot(w http.ResponseWriter, r *http.Request) {
	limit, events := uint64(defLimit), uint64(defEvents)
	var since uint64
	var device backplane.DeviceID
	err := parseQuery(r.URL.RawQuery,
		param{name: "limit", lo: 1, hi: maxLimit, dst: &limit},
		param{name: "events", hi: maxEvents, dst: &events},
		idParam("device", &device),
		param{name: "since", hi: 1<<63 - 1, dst: &since},
	)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	opts := SnapshotOptions{MaxDevices: int(limit), Device: device, MaxEvents: int(events), Since: since}
	if events == 0 {
		opts.MaxEvents = -1
	}
	s := h.rec.Snapshot(opts)
	if s == nil {
		writeError(w, http.StatusNotFound, "no device "+idText(device))
		return
	}
	s.Shutdown = h.cfg.shutdown
	writeJSON(w, http.StatusOK, s)
}

func (h *handler) shutdown(w http.ResponseWriter, r *http.Request) {
	var device backplane.DeviceID
	if err := parseQuery(r.URL.RawQuery, idParam("device", &device)); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if device.IsZero() {
		writeError(w, http.StatusBadRequest, `parameter "device" is required`)
		return
	}
	switch err := h.rec.RequestShutdown(device); {
	case errors.Is(err, ErrUnknownDevice):
		writeError(w, http.StatusNotFound, "no device "+idText(device))
	case errors.Is(err, ErrNotTracked), errors.Is(err, ErrDown):
		writeError(w, http.StatusConflict, fmt.Sprintf("device %s: %v", idText(device), err))
	case err != nil:
		writeError(w, http.StatusConflict, err.Error())
	default:
		writeJSON(w, http.StatusAccepted, map[string]any{"device": idText(device), "status": "shutdown requested"})
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}

func writeError(w http.ResponseWriter, code int, msg string) {
	b, _ := json.Marshal(map[string]string{"error": "observer: " + msg})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}
