package supervisor

import (
	"fmt"
	"time"
)

// Strategy says which children are restarted when one of them must be.
type Strategy uint8

// The restart strategies. The zero value is OneForOne.
const (
	// OneForOne restarts only the child that ended.
	OneForOne Strategy = iota
	// OneForAll stops every other child (in reverse start order) and
	// restarts them all, in start order.
	OneForAll
	// RestForOne stops the children started after the one that ended (in
	// reverse start order) and restarts it and them, in start order.
	RestForOne
	// Dynamic (OTP's simple_one_for_one) is OneForOne for children added
	// at run time: IDs may be generated, a child that ends for good or is
	// terminated is removed, and on shutdown all children are asked to stop
	// at once and waited for in parallel. AutoShutdown is not allowed.
	Dynamic
)

// String returns the strategy's name, e.g. "one_for_all".
func (s Strategy) String() string {
	switch s {
	case OneForOne:
		return "one_for_one"
	case OneForAll:
		return "one_for_all"
	case RestForOne:
		return "rest_for_one"
	case Dynamic:
		return "dynamic"
	}
	return fmt.Sprintf("Strategy(%d)", uint8(s))
}

// AutoShutdown says whether the supervisor shuts itself down when its
// significant children end (OTP 24's auto_shutdown).
type AutoShutdown uint8

// The auto-shutdown settings. The zero value is Never.
const (
	// Never: the supervisor does not shut down on its own; significant
	// children are not allowed.
	Never AutoShutdown = iota
	// AnySignificant: the supervisor shuts down as soon as one significant
	// child ends by itself and is not restarted.
	AnySignificant
	// AllSignificant: the supervisor shuts down when the last of its
	// significant children has ended by itself and is not restarted.
	AllSignificant
)

// String returns "never", "any_significant" or "all_significant".
func (a AutoShutdown) String() string {
	switch a {
	case Never:
		return "never"
	case AnySignificant:
		return "any_significant"
	case AllSignificant:
		return "all_significant"
	}
	return fmt.Sprintf("AutoShutdown(%d)", uint8(a))
}

// Option configures a Supervisor made by New.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// config is a supervisor's configuration, complete once New has applied
// the defaults and the options.
type config struct {
	name        string
	strategy    Strategy
	maxRestarts int
	period      time.Duration
	backoffMin  time.Duration
	backoffMax  time.Duration
	jitter      float64
	auto        AutoShutdown
	hook        func(Event)
	children    []ChildSpec
}

// Defaults. They are listed in New's documentation; keep the two in step.
const (
	defaultName        = "supervisor"
	defaultMaxRestarts = 3
	defaultPeriod      = 5 * time.Second
)

// defaults returns the configuration before any option is applied.
func defaults() config {
	return config{
		name:        defaultName,
		strategy:    OneForOne,
		maxRestarts: defaultMaxRestarts,
		period:      defaultPeriod,
		auto:        Never,
	}
}

// WithName names the supervisor: its device's name, and the name in its
// events and errors.
func WithName(name string) Option {
	return optionFunc(func(c *config) { c.name = name })
}

// WithStrategy sets the restart strategy.
func WithStrategy(s Strategy) Option {
	return optionFunc(func(c *config) { c.strategy = s })
}

// WithIntensity allows at most maxRestarts restarts within any period;
// one more and the supervisor gives up with a *RestartLimitError. Every
// restart counts, across all children, including each retry of a restart
// whose start failed; a group restart (OneForAll, RestForOne) counts once.
// maxRestarts may be 0: the first restart needed then gives up.
func WithIntensity(maxRestarts int, period time.Duration) Option {
	return optionFunc(func(c *config) { c.maxRestarts, c.period = maxRestarts, period })
}

// WithBackoff delays restarts: the k-th restart within the intensity
// period waits min·2^(k-1), at most max, plus a random extra of up to
// jitter (0 to 1) times that delay. The first restart after a quiet period
// waits min. Without it, restarts happen at once. The supervisor keeps
// handling messages while it waits.
func WithBackoff(min, max time.Duration, jitter float64) Option {
	return optionFunc(func(c *config) { c.backoffMin, c.backoffMax, c.jitter = min, max, jitter })
}

// WithAutoShutdown sets when the supervisor shuts itself down as its
// significant children end.
func WithAutoShutdown(a AutoShutdown) Option {
	return optionFunc(func(c *config) { c.auto = a })
}

// WithEventHook installs the one function that receives the supervisor's
// events. It is called synchronously, one call at a time and in order,
// under the lock of the supervisor's run (a mutex of this package; never
// a lock of the backplane core, so the hook may use devices and Lines):
// from the supervisor's own goroutine, which holds that lock whenever it
// is not waiting for something to do, or, for a child that failed and is
// restarted at once in place, from that child's goroutine, which holds the
// same lock for the restart. So it must be quick and must not block: the
// supervisor, and every restart, waits for it. It must not call the
// supervisor's run-time API, which waits for the loop, itself waiting for
// the hook.
func WithEventHook(h func(Event)) Option {
	return optionFunc(func(c *config) { c.hook = h })
}

// WithChildren adds child specs, started in the order given when the
// supervisor starts. It may be given several times; the specs add up.
func WithChildren(specs ...ChildSpec) Option {
	return optionFunc(func(c *config) { c.children = append(c.children, specs...) })
}

// check validates a complete configuration, rejecting what OTP rejects.
func (c *config) check() error {
	bad := func(reason string) error { return &ConfigError{Reason: reason} }
	switch {
	case c.strategy > Dynamic:
		return bad("unknown strategy " + c.strategy.String())
	case c.auto > AllSignificant:
		return bad("unknown auto-shutdown " + c.auto.String())
	case c.auto != Never && c.strategy == Dynamic:
		return bad("auto-shutdown is not allowed with the Dynamic strategy")
	case c.maxRestarts < 0:
		return bad("negative restart intensity")
	case c.period <= 0:
		return bad("restart period must be positive")
	case c.backoffMin < 0 || c.backoffMax < c.backoffMin:
		return bad("backoff needs 0 <= min <= max")
	case c.jitter < 0 || c.jitter > 1:
		return bad("backoff jitter must be between 0 and 1")
	}
	seen := make(map[string]bool, len(c.children))
	subs := make(map[*Supervisor]bool)
	for i := range c.children {
		s := &c.children[i]
		if err := s.check(c); err != nil {
			return err
		}
		if sub, ok := s.Service.(*Supervisor); ok {
			if subs[sub] {
				return &ConfigError{Child: s.ID, Reason: "the same *Supervisor in two child specs (it runs once at a time)"}
			}
			subs[sub] = true
		}
		if s.ID != "" {
			if seen[s.ID] {
				return &ConfigError{Child: s.ID, Reason: "duplicate ID"}
			}
			seen[s.ID] = true
		}
	}
	return nil
}
