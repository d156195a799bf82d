package observer

import (
	"net/http"
	"time"
)

// SeriesLength is how many one-second samples a Recorder keeps for the
// charts: ten minutes.
const SeriesLength = 600

// sample is the recorder's counters at the start of one second.
type sample struct {
	sec         int64 // unix seconds
	alive       int
	links       int
	disconnects [16]uint64
	restarts    uint64
}

// Series is what /api/series serves: one Point per second over a recent
// window, oldest first, for the page's charts.
type Series struct {
	Points []Point `json:"points"`
}

// Point is the state of the model at the start of one second (Alive,
// Links) and what happened during it (Faults by kind, Restarts).
type Point struct {
	Time     int64             `json:"t"` // unix seconds
	Alive    int               `json:"alive"`
	Links    int               `json:"links"`
	Faults   map[string]uint64 `json:"faults,omitempty"` // faulted disconnects by fault kind
	Restarts uint64            `json:"restarts,omitempty"`
}

// sampleLocked records the counters when a new second has begun since the
// last sample. Seconds without events get no sample of their own: nothing
// changed in them, so Series repeats the sample before.
func (r *Recorder) sampleLocked(now int64) {
	sec := now / int64(time.Second)
	if r.nsample > 0 && r.samples[(r.nsample-1)%SeriesLength].sec >= sec {
		return
	}
	r.samples[r.nsample%SeriesLength] = sample{sec: sec, alive: r.st.alive, links: r.st.links,
		disconnects: r.st.disconnects, restarts: r.st.restarts}
	r.nsample++
}

// Series returns one Point per second for the last window seconds (at
// most SeriesLength), ending with the current second. It takes the
// recorder's lock for a time proportional to window.
func (r *Recorder) Series(window int) Series {
	window = min(max(window, 1), SeriesLength)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.initLocked()
	now := r.cfg.now().UnixNano()
	// The counters now, as if a second began: the last point's ends.
	cur := sample{sec: now/int64(time.Second) + 1, alive: r.st.alive, links: r.st.links,
		disconnects: r.st.disconnects, restarts: r.st.restarts}
	from := cur.sec - int64(window)
	// The samples kept, oldest first, from the last one at or before from.
	n := min(r.nsample, SeriesLength)
	kept := make([]sample, 0, n+1)
	for i := r.nsample - n; i < r.nsample; i++ {
		s := r.samples[i%SeriesLength]
		if s.sec <= from && len(kept) > 0 {
			kept = kept[:0]
		}
		kept = append(kept, s)
	}
	kept = append(kept, cur)
	out := Series{Points: make([]Point, 0, window)}
	j := 0
	for sec := from; sec < cur.sec; sec++ {
		for j+1 < len(kept) && kept[j+1].sec <= sec {
			j++
		}
		a := kept[j]
		if a.sec > sec || j+1 == len(kept) {
			continue // before the first sample: unknown
		}
		next := kept[j+1]
		if a.sec < sec {
			// No event began in sec: the state is what the events of
			// second a.sec left, and nothing happened.
			out.Points = append(out.Points, Point{Time: sec, Alive: next.alive, Links: next.links})
			continue
		}
		p := Point{Time: sec, Alive: a.alive, Links: a.links, Restarts: next.restarts - a.restarts}
		for k := 1; k < len(a.disconnects); k++ {
			if d := next.disconnects[k] - a.disconnects[k]; d > 0 {
				if p.Faults == nil {
					p.Faults = make(map[string]uint64, 2)
				}
				p.Faults[faultKindName(k)] += d
			}
		}
		out.Points = append(out.Points, p)
	}
	return out
}

// series serves /api/series?window=N.
func (h *handler) series(w http.ResponseWriter, r *http.Request) {
	window := uint64(300)
	if err := parseQuery(r.URL.RawQuery, param{name: "window", lo: 1, hi: SeriesLength, dst: &window}); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, h.rec.Series(int(window)))
}
