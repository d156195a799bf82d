package demo

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/observer"
	"github.com/backplane-go/backplane/supervisor"
)

// Config configures a Service. The zero Config is a quiet service (no
// automatic faults) with the defaults given on each field.
type Config struct {
	// Seed seeds the fault rounds. Zero picks a random seed; Service.Seed
	// reports the one in use.
	Seed uint64
	// Interval is the time between two fault rounds. Zero or less means no
	// automatic faults: the service only fails through Service.Inject.
	Interval time.Duration
	// Rounds makes Run stop after this many fault rounds; zero means no
	// limit. It has no effect without an Interval.
	Rounds int
	// Pool is how many connections the pool starts with (default 4).
	Pool int
	// MaxPool is the most connections the autoscaler grows the pool to
	// (default twice Pool).
	MaxPool int
	// Grace is the shutdown grace of every worker: how long its supervisor
	// waits for it to return before abandoning it (default 250ms).
	Grace time.Duration
	// StuckFor is how long a stuck worker ignores its cancellation before
	// it returns at last (default 3s). Run releases every stuck worker when
	// it stops.
	StuckFor time.Duration
	// Recorder receives the backplane's and the supervisors' events. Nil
	// means a new observer.Recorder that keeps down devices for 20 seconds.
	Recorder *observer.Recorder
}

// withDefaults returns c with every default applied.
func (c Config) withDefaults() Config {
	if c.Seed == 0 {
		c.Seed = rand.Uint64N(999_999) + 1 // short enough to type again
	}
	if c.Pool <= 0 {
		c.Pool = 4
	}
	if c.MaxPool < c.Pool {
		c.MaxPool = 2 * c.Pool
	}
	if c.Grace <= 0 {
		c.Grace = 250 * time.Millisecond
	}
	if c.StuckFor <= 0 {
		c.StuckFor = 3 * time.Second
	}
	if c.Recorder == nil {
		c.Recorder = observer.NewRecorder(observer.WithRetention(20 * time.Second))
	}
	return c
}

// ErrStarted is returned by Run when the Service has been run already:
// a Service runs once.
var ErrStarted = errors.New("demo: service already started")

// Service is the demo's supervised service: a supervision tree of workers
// and a connection pool (see the package doc), and the fault rounds that
// keep breaking it.
//
// Make one with New; the zero Service is not usable. Run it once. All
// methods are safe for concurrent use. Run starts the tree's goroutines
// and one goroutine for the fault rounds, and waits for all of them,
// stuck workers included, before it returns.
//
// Cost: with the default pool, 16 devices and about as many goroutines,
// mostly idle; a fault round costs a few restarts, each some microseconds.
type Service struct {
	cfg     Config
	tree    *tree
	reg     registry
	record  func(supervisor.Event)
	started chan struct{} // closed when the root has started its last child
	once    sync.Once     // closes started
	ready   chan struct{} // closed when every worker is running
	release chan struct{} // closed when Run stops: stuck workers return
	running atomic.Bool
	conns   atomic.Uint64          // the last connection number given out
	onTest  func(supervisor.Event) // tests only: set before Run, sees every supervisor event

	mu           sync.Mutex // guards the counters below
	injected     [numFaultKinds]int
	rounds       int
	resizes      int
	treeRestarts int
}

// New returns a Service configured by cfg. It starts nothing: call Run.
func New(cfg Config) *Service {
	s := &Service{
		cfg:     cfg.withDefaults(),
		started: make(chan struct{}),
		ready:   make(chan struct{}),
		release: make(chan struct{}),
	}
	s.reg.init()
	s.record = s.cfg.Recorder.RecordSupervisor
	s.tree = s.newTree()
	return s
}

// Seed returns the seed of the fault rounds: Config.Seed, or the random
// one picked for a zero Config.Seed.
func (s *Service) Seed() uint64 { return s.cfg.Seed }

// Recorder returns the recorder that receives the service's events.
func (s *Service) Recorder() *observer.Recorder { return s.cfg.Recorder }

// Handler returns the observer's http.Handler for the service's recorder,
// with the "request shutdown" button enabled: serve it on a loopback
// address only (see observer.WithShutdown).
func (s *Service) Handler() http.Handler {
	return observer.Handler(s.cfg.Recorder, observer.WithShutdown())
}

// Ready returns a channel closed once the whole tree has started the first
// time and every worker is running, initial pool included: from then on
// Inject reaches every worker. Fault rounds start after it.
func (s *Service) Ready() <-chan struct{} { return s.ready }

// Devices returns how many devices are alive when the service is up and
// quiet: one per supervisor and per worker, plus the initial pool.
func (s *Service) Devices() int { return fixedDevices + s.cfg.Pool }

// Run installs the service's recorder as the backplane's hook (restoring
// the previous hook when it returns), serves the supervision tree and
// plays the fault rounds, until ctx is done or Config.Rounds rounds are
// played. It then stops the tree (children first, in reverse start order),
// releases the stuck workers and waits for every goroutine it started.
//
// It returns nil when it stopped as asked, ErrStarted if the Service was
// run before, and the root supervisor's error if the tree failed to start.
// If the root supervisor stops by itself (it gave up after too many
// restarts, or someone asked it to shut down), Run serves it again.
func (s *Service) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return ErrStarted
	}
	defer backplane.AddHook(s.cfg.Recorder.Record)()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	treeDone := make(chan error, 1)
	go func() { treeDone <- s.serveTree(ctx) }()
	chaosDone := make(chan struct{})
	go func() {
		defer close(chaosDone)
		s.chaos(ctx)
	}()

	var err error
	select {
	case <-chaosDone:
		cancel()
		err = <-treeDone
	case err = <-treeDone:
		cancel()
		<-chaosDone
	}
	close(s.release)
	for _, sup := range s.tree.all {
		_ = sup.WaitAbandoned(context.WithoutCancel(ctx))
	}
	return err
}

// serveTree serves the root supervisor until ctx is done, and again each
// time it stops by itself: it gave up, or was shut down from the page.
func (s *Service) serveTree(ctx context.Context) error {
	for {
		err := s.tree.root.Serve(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if _, ok := errors.AsType[*supervisor.StartError](err); ok || errors.Is(err, supervisor.ErrAlreadyRunning) {
			return err
		}
		s.mu.Lock()
		s.treeRestarts++
		s.mu.Unlock()
	}
}

// onEvent receives every supervisor's events.
func (s *Service) onEvent(e supervisor.Event) {
	s.record(e)
	if s.onTest != nil {
		s.onTest(e)
	}
	if st, ok := e.(supervisor.ChildStarted); ok && st.Supervisor == rootName && st.Child == lastRootChild {
		s.once.Do(func() { close(s.started) })
	}
}
