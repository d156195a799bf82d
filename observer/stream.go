package observer

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// events serves the live event stream (server-sent events). It returns
// when the request's context is done or a write fails.
func (h *handler) events(w http.ResponseWriter, r *http.Request) {
	var since uint64
	if err := parseQuery(r.URL.RawQuery, param{name: "since", hi: 1<<63 - 1, dst: &since}); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		n, err := parseUint(id)
		if err != nil || n > 1<<63-1 {
			writeError(w, http.StatusBadRequest, "bad Last-Event-ID header")
			return
		}
		since = n
	}
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // a stream outlives the server's WriteTimeout
	wake, stop := h.rec.subscribe()
	defer stop()
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-cache")
	hd.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if _, err := io.WriteString(w, "retry: 2000\n: backplane observer\n\n"); err != nil {
		return
	}
	if rc.Flush() != nil {
		return // the stream cannot work without flushing
	}
	heartbeat := time.NewTicker(h.cfg.heartbeat)
	defer heartbeat.Stop()
	var throttle *time.Timer
	last := since
	ctx := r.Context()
	for {
		evs, lost := h.rec.Events(last, maxBatch)
		var err error
		switch {
		case lost:
			last = h.rec.lastSeq()
			_, err = fmt.Fprintf(w, "id: %d\nevent: reset\ndata: {\"seq\":%d}\n\n", last, last)
		case len(evs) > 0:
			last = evs[len(evs)-1].Seq
			var b []byte
			b, err = json.Marshal(evs)
			if err == nil {
				_, err = fmt.Fprintf(w, "id: %d\nevent: events\ndata: %s\n\n", last, b)
			}
		}
		if err == nil && (lost || len(evs) > 0) {
			err = rc.Flush()
		}
		if err != nil {
			return
		}
		if len(evs) < maxBatch {
			select {
			case <-ctx.Done():
				return
			case <-wake:
			case <-heartbeat.C:
				if _, err := io.WriteString(w, ": ping\n\n"); err != nil || rc.Flush() != nil {
					return
				}
				continue
			}
		}
		if h.cfg.interval > 0 {
			if throttle == nil {
				throttle = time.NewTimer(h.cfg.interval)
				defer throttle.Stop()
			} else {
				throttle.Reset(h.cfg.interval)
			}
			select {
			case <-ctx.Done():
				return
			case <-throttle.C:
			}
		}
	}
}

// lastSeq returns the sequence number of the last event recorded.
func (r *Recorder) lastSeq() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seq
}
