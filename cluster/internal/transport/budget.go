package transport

import "time"

// SessionlessRate and SessionlessBurst bound what a Transport does for
// frames outside any live session, whoever sends them: the Byes it answers
// to frames of stale streams or addressed to another incarnation, and the
// session-less Lookups it delivers. They share a token bucket of
// SessionlessBurst tokens, refilled at SessionlessRate per second; a frame
// that finds it empty is dropped and counted in Stats.Throttled. A flood
// therefore gets at most SessionlessRate answers per second, and peers
// that miss one learn by their next frame or their timeout.
const (
	SessionlessRate  = 1000
	SessionlessBurst = 256
)

// bucket is a token bucket, driven by the times it is given.
type bucket struct {
	tokens float64
	last   time.Time
}

func (b *bucket) refill(now time.Time) {
	if b.last.IsZero() || now.Before(b.last) {
		b.last = now
		return
	}
	b.tokens = min(SessionlessBurst, b.tokens+now.Sub(b.last).Seconds()*SessionlessRate)
	b.last = now
}

// has reports whether a token is available at now, without taking it.
func (b *bucket) has(now time.Time) bool {
	b.refill(now)
	return b.tokens >= 1
}

// take takes a token if one is available at now.
func (b *bucket) take(now time.Time) bool {
	if !b.has(now) {
		return false
	}
	b.tokens--
	return true
}
