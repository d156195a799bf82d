package observer

import "time"

// Option configures a Recorder made by NewRecorder.
type Option interface {
	apply(*config)
}

type config struct {
	retention time.Duration
	maxDown   int
	events    int
	faults    int
	now       func() time.Time
}

// The defaults applied by NewRecorder.
const (
	DefaultRetention   = time.Minute
	DefaultMaxDown     = 2000
	DefaultEventBuffer = 1024
	DefaultFaultBuffer = 256
)

// defaults returns the configuration NewRecorder starts from.
func defaults() config {
	return config{
		retention: DefaultRetention,
		maxDown:   DefaultMaxDown,
		events:    DefaultEventBuffer,
		faults:    DefaultFaultBuffer,
		now:       time.Now,
	}
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithRetention sets how long a device that has disconnected stays in the
// model (and on the page) before it is forgotten. Zero or less forgets a
// device as soon as it disconnects; its faults stay in the fault ring.
func WithRetention(d time.Duration) Option {
	return optionFunc(func(c *config) { c.retention = max(d, 0) })
}

// WithMaxDown caps how many disconnected devices the model keeps, however
// recent: past the cap the oldest are forgotten first. n < 0 means 0.
func WithMaxDown(n int) Option {
	return optionFunc(func(c *config) { c.maxDown = max(n, 0) })
}

// WithEventBuffer sets the size of the ring of recent events. n < 1 means 1.
func WithEventBuffer(n int) Option {
	return optionFunc(func(c *config) { c.events = max(n, 1) })
}

// WithFaultBuffer sets the size of the ring of recent faults, kept apart
// from the event ring so that link churn cannot push faults out. n < 1
// means 1.
func WithFaultBuffer(n int) Option {
	return optionFunc(func(c *config) { c.faults = max(n, 1) })
}

// WithClock sets the clock the recorder stamps events with (backplane
// events carry no time of their own). For tests; nil means time.Now.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(c *config) {
		if now != nil {
			c.now = now
		}
	})
}
