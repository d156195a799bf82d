package cluster_test

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/backplane-go/backplane/cluster"
	"github.com/backplane-go/backplane/cluster/internal/netfault"
)

// TestChaos runs ten node processes on loopback, links devices across
// them with many remote edges in every link mode, and then, for a while,
// SIGKILLs nodes (restarting each as a new incarnation, with new edges),
// SIGSTOPs and SIGCONTs them, partitions them (a netfault forwarder
// between each node and the NATS server, blackholed or cut), and ends
// targets with an error, cleanly, or by a cascade from a root they
// depend on, all at random from a logged seed. Then the faults stop, every
// remaining target ends cleanly, and the test checks that every edge fired
// exactly once, with the right fault:
//
//   - the fault the target ended with, as its node reported it (or, when
//     the node was killed before reporting, as the test asked: an error, a
//     clean end, a cascade from its root, or a cascade from a peer-linked
//     watcher that became unreachable), with the same root;
//   - FaultUnreachable only if the watcher's node reported (Config.OnNode)
//     the end of its session with the target's node after the edge was
//     made: almost always the end a fault injected on one of them caused;
//     a session that timed out without one (a node starved of CPU) is
//     counted apart, not a violation, since its watchers were right to be
//     told; with ErrNoDevice only for a target that had already ended when
//     the link reached its node;
//   - a link that failed at once (its target was gone) never fires;
//   - never for an edge whose target lives on and whose nodes were left
//     alone, and always, by the end, for an edge whose watcher's node is
//     alive.
//
// Every node incarnation also registers cluster-wide names and joins
// groups (see chaosnames_test.go); once the faults stop, and again once
// every target has ended, every live node's copy of the registry must
// converge: the same everywhere, no name or member of a device that is
// gone, none lost without cause.
//
// A target ended by a cascade is checked too: from its own root when the
// test failed that root, or from a peer-linked watcher whose session with
// the target's node ended. Once every device is gone, no node may hold a
// proxy or an exported device. Violations are reported with the edge, its mode, what
// was injected on its nodes and the session events of the watcher's node.
//
// It logs the seed, the faults injected by kind, the detection time (from
// injection to the watcher's Disconnected, p50 and p99, by kind), the
// delivery time of the ends the test asked for, and the heap, RSS and
// goroutines of every node process alive at the end, before its devices
// were made and after every edge and device is gone.
//
// By default (and with -short) it is the one-minute version that CI runs
// (./test.sh runs without -short, so the default is the short one): 10
// nodes, 10,000 edges at the start, every kind of fault, 60 seconds of
// faults, a 2 s detection time. What it scales down from the long version
// is the edges (10,000, not 100,000), the devices per node and the time.
// BACKPLANE_CHAOS=DURATION runs the long version: 100,000 edges (or
// BACKPLANE_CHAOS_EDGES) for that long, with a 5 s detection time (or
// BACKPLANE_CHAOS_TIMEOUT; the heartbeat is a tenth of it).
// BACKPLANE_CHAOS_SEED=N replays a seed (the schedule also depends on
// timing, so a replay is close, not identical). RELIABILITY.md has the
// figures of the long run.
func TestChaos(t *testing.T) {
	cfg := chaosConfigFor(t)
	t.Logf("chaos: seed %d (replay: BACKPLANE_CHAOS_SEED=%d), %d nodes, %d edges, %d targets, %d watchers and %d roots per node, faults for %v, heartbeat %v, timeout %v",
		cfg.seed, cfg.seed, cfg.nodes, cfg.edges, cfg.targets, cfg.watchers, cfg.roots, cfg.duration, cfg.heartbeat, cfg.timeout)
	c := newChaos(t, cfg)
	c.setup()
	c.run()
	c.finish()
	c.check()
}

// chaosConfig sizes a chaos run.
type chaosConfig struct {
	seed                     uint64
	nodes                    int
	edges                    int // made at the start; each restart adds its share
	targets, watchers, roots int // per node
	duration                 time.Duration
	heartbeat, timeout       time.Duration
	maxDown                  int // nodes under a fault at once, at most
	names                    int // watchers and targets per node with a name and a group
}

func chaosConfigFor(t *testing.T) chaosConfig {
	cfg := chaosConfig{
		seed:      rand.Uint64() >> 1,
		nodes:     10,
		edges:     10_000,
		targets:   200,
		watchers:  40,
		roots:     5,
		duration:  time.Minute,
		heartbeat: 200 * time.Millisecond,
		timeout:   2 * time.Second,
		maxDown:   3,
		names:     5,
	}
	if v := os.Getenv("BACKPLANE_CHAOS"); v != "" && !testing.Short() {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("BACKPLANE_CHAOS=%q: %v", v, err)
		}
		cfg.duration, cfg.edges, cfg.targets, cfg.watchers, cfg.roots, cfg.names = d, 100_000, 1000, 200, 10, 20
		// Ten processes under the race detector with 100,000 edges starve
		// heartbeats: a longer detection time keeps most session ends
		// the faults' own.
		cfg.heartbeat, cfg.timeout = 500*time.Millisecond, 5*time.Second
	}
	if v := os.Getenv("BACKPLANE_CHAOS_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			t.Fatalf("BACKPLANE_CHAOS_TIMEOUT=%q: want a positive duration", v)
		}
		cfg.heartbeat, cfg.timeout = d/10, d
	}
	if v := os.Getenv("BACKPLANE_CHAOS_EDGES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("BACKPLANE_CHAOS_EDGES=%q: want a positive number", v)
		}
		cfg.edges = n
	}
	if v := os.Getenv("BACKPLANE_CHAOS_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("BACKPLANE_CHAOS_SEED=%q: %v", v, err)
		}
		cfg.seed = s
	}
	return cfg
}

// chaosInc is one incarnation of a node process.
type chaosInc struct {
	slot  int
	name  string
	inc   uint64
	cmd   *exec.Cmd
	in    *bufio.Writer
	stdin io.WriteCloser
	ans   chan string   // answers: up, ids, synced, pinged, stats
	done  chan struct{} // its output has ended
	tseq  []uint64
	wseq  []uint64
	rseq  []uint64

	stopped bool // by stopAll

	// Under chaos.mu:
	killed  bool
	before  string // stats right after it started
	after   string // stats after every device is gone
	targets []*chaosTarget
	events  []chaosEvent // session events it reported
}

func (n *chaosInc) String() string { return fmt.Sprintf("%s/%d", n.name, n.inc) }

func (n *chaosInc) id(seq uint64) string { return fmt.Sprintf("%s/%d/%d", n.name, n.inc, seq) }

// chaosTarget is what the test knows of a target: what it asked of it,
// what its node reported, and its peer-linked watchers.
type chaosTarget struct {
	node    *chaosInc
	b       int
	asked   []string  // the faults the test asked for, in chaosFault's form
	askedAt time.Time // first time asked
	ended   string    // as reported, "" until then
	endedAt time.Time
	peers   []chaosPeer
}

type chaosPeer struct {
	node *chaosInc
	id   string
	made time.Time
}

// chaosEdge is one edge: watcher wA on w is told when target t ends.
type chaosEdge struct {
	w    *chaosInc
	a    int
	t    *chaosTarget
	mode string // monitor, notify (made on the target's node), peer
	made time.Time
	// settled is when every node had handled the link: a target that
	// ended before may be reported with ErrNoDevice.
	settled time.Time
	refused string // the error its link failed with at once, if it did
	obs     []chaosObs
}

type chaosObs struct {
	fault string
	at    time.Time
}

// chaosEvent is a session event a node reported (Config.OnNode).
type chaosEvent struct {
	at   time.Time
	what string
	down bool   // a session ended
	peer string // with this node incarnation
}

// chaosFaultRec is a fault injected on a node incarnation, over
// [start, end] (end zero while it lasts; a kill never ends).
type chaosFaultRec struct {
	node       *chaosInc
	kind       string // kill, stop, blackhole, cut
	start, end time.Time
	heal       time.Time // when it is due to end
}

type chaosEdgeKey struct {
	w    *chaosInc
	a    int
	from string
}

type chaos struct {
	t   *testing.T
	cfg chaosConfig
	rng *rand.Rand

	hub    *cluster.Node
	fws    []*netfault.Forwarder
	slots  []*chaosInc // the live incarnation per slot
	faults []*chaosFaultRec
	asked  map[string]int // ends asked, by kind
	wg     sync.WaitGroup // output readers

	mu       sync.Mutex
	edges    map[chaosEdgeKey]*chaosEdge
	targets  map[string]*chaosTarget // by device
	watchers map[string]*chaosInc    // by device
	all      []*chaosInc
	incs     map[string]*chaosInc // by name/incarnation
	problems []string             // errors the nodes reported, stray notifications

	regs        []chaosReg // names and memberships confirmed
	registryBad []string   // what stopped the registry from converging
}

func newChaos(t *testing.T, cfg chaosConfig) *chaos {
	c := &chaos{
		t:        t,
		cfg:      cfg,
		rng:      rand.New(rand.NewPCG(cfg.seed, 0x9e3779b97f4a7c15)),
		asked:    map[string]int{},
		edges:    map[chaosEdgeKey]*chaosEdge{},
		targets:  map[string]*chaosTarget{},
		watchers: map[string]*chaosInc{},
		incs:     map[string]*chaosInc{},
	}
	c.hub = start(t, cluster.Config{Name: "hub", Heartbeat: cfg.heartbeat, Timeout: cfg.timeout})
	for range cfg.nodes {
		c.fws = append(c.fws, forwarder(t, c.hub.ClientURL()))
	}
	c.slots = make([]*chaosInc, cfg.nodes)
	t.Cleanup(c.stopAll)
	return c
}

// spawn starts the node process of slot, makes its devices and returns
// once they exist.
func (c *chaos) spawn(slot int) *chaosInc {
	t := c.t
	t.Helper()
	name := fmt.Sprintf("n%d", slot)
	cmd, stdin, stdout := startProcess(t, envChaosNode+"="+name, envChaosURL+"="+c.fws[slot].URL(),
		envSecret+"="+c.hub.Secret(), envChaosHeartbeat+"="+c.cfg.heartbeat.String(),
		envChaosTimeout+"="+c.cfg.timeout.String())
	n := &chaosInc{slot: slot, name: name, cmd: cmd, stdin: stdin, in: bufio.NewWriterSize(stdin, 64<<10),
		ans: make(chan string, 16), done: make(chan struct{})}
	c.wg.Add(1)
	go c.read(n, stdout)
	up := strings.Fields(c.answer(n, "up "))
	if len(up) != 3 {
		t.Fatalf("%s: %q", name, up)
	}
	n.inc, _ = strconv.ParseUint(up[2], 10, 64)
	n.before = strings.TrimPrefix(c.ask(n, "stats before", "stats before "), "stats before ")
	c.send(n, "make %d %d %d", c.cfg.targets, c.cfg.watchers, c.cfg.roots)
	c.flush(n)
	for range 3 {
		f := strings.Fields(c.answer(n, "ids "))
		seqs := make([]uint64, len(f)-2)
		for i, s := range f[2:] {
			seqs[i], _ = strconv.ParseUint(s, 10, 64)
		}
		switch f[1] {
		case "t":
			n.tseq = seqs
		case "w":
			n.wseq = seqs
		case "r":
			n.rseq = seqs
		}
	}
	c.send(n, "names %d", c.cfg.names)
	c.flush(n)
	c.mu.Lock()
	for b, s := range n.tseq {
		tg := &chaosTarget{node: n, b: b}
		n.targets = append(n.targets, tg)
		c.targets[n.id(s)] = tg
	}
	for _, s := range n.wseq {
		c.watchers[n.id(s)] = n
	}
	c.all = append(c.all, n)
	c.incs[n.String()] = n
	c.mu.Unlock()
	c.slots[slot] = n
	c.t.Logf("chaos: %v started", n)
	return n
}

// read handles the output of node process n until it ends.
func (c *chaos) read(n *chaosInc, out io.Reader) {
	defer c.wg.Done()
	defer close(n.done)
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "m":
			if len(f) != 5 {
				c.problem("%v: malformed %q", n, l)
				continue
			}
			a, _ := strconv.Atoi(f[1])
			ns, _ := strconv.ParseInt(f[4], 10, 64)
			c.mu.Lock()
			if e := c.edges[chaosEdgeKey{n, a, f[2]}]; e != nil {
				e.obs = append(e.obs, chaosObs{fault: f[3], at: time.Unix(0, ns)})
			} else {
				c.problems = append(c.problems, fmt.Sprintf("%v: watcher w%d told of %s, which it never watched: %s", n, a, f[2], f[3]))
			}
			c.mu.Unlock()
		case "e":
			b, _ := strconv.Atoi(f[1])
			c.mu.Lock()
			if b < len(n.targets) && len(f) == 3 {
				n.targets[b].ended, n.targets[b].endedAt = f[2], time.Now()
			} else {
				c.problems = append(c.problems, fmt.Sprintf("%v: malformed %q", n, l))
			}
			c.mu.Unlock()
		case "reg": // reg name=NAME|group=GROUP DEV UNIXNANO
			if len(f) != 4 {
				c.problem("%v: malformed %q", n, l)
				continue
			}
			ns, _ := strconv.ParseInt(f[3], 10, 64)
			c.mu.Lock()
			c.regs = append(c.regs, chaosReg{node: n, key: f[1], dev: f[2], at: time.Unix(0, ns)})
			c.mu.Unlock()
		case "node": // node up|down NODE UNIXNANO [REASON]
			if len(f) < 4 {
				c.problem("%v: malformed %q", n, l)
				continue
			}
			ns, _ := strconv.ParseInt(f[3], 10, 64)
			c.mu.Lock()
			n.events = append(n.events, chaosEvent{at: time.Unix(0, ns), what: strings.Join(append(f[1:3], f[4:]...), " "),
				down: f[1] == "down", peer: f[2]})
			c.mu.Unlock()
		case "err":
			switch {
			case c.refused(n, l):
			case len(f) > 1 && (f[1] == "ping" || f[1] == "stats"):
				n.ans <- l // the test waits for its answer
			default:
				c.problem("%v: %s", n, l)
			}
		case "fatal":
			c.problem("%v: %s", n, l)
		default:
			n.ans <- l
		}
	}
}

// refused records that the link of an edge failed at once, as the link
// command in the error line l that node n reported says, and reports
// whether l was such a line. The edge then never fires.
func (c *chaos) refused(n *chaosInc, l string) bool {
	cmd, why, _ := strings.Cut(strings.TrimPrefix(l, "err "), ": ")
	f := strings.Fields(cmd)
	if len(f) < 5 || (f[0] != "L" && f[0] != "N") {
		return false
	}
	i, err := strconv.Atoi(f[1])
	if err != nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var key chaosEdgeKey
	switch f[0] {
	case "L": // made by the watcher: L A NODE INC SEQ MODE
		key = chaosEdgeKey{n, i, f[2] + "/" + f[3] + "/" + f[4]}
	case "N": // made by the target: N B NODE INC SEQ
		w := c.incs[f[2]+"/"+f[3]]
		seq, _ := strconv.ParseUint(f[4], 10, 64)
		if w == nil || i >= len(n.tseq) || !slices.Contains(w.wseq, seq) {
			return false
		}
		key = chaosEdgeKey{w, slices.Index(w.wseq, seq), n.id(n.tseq[i])}
	}
	e := c.edges[key]
	if e == nil {
		return false
	}
	e.refused = why
	return true
}

func (c *chaos) problem(format string, args ...any) {
	c.mu.Lock()
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
	c.mu.Unlock()
}

// answer waits for n's next answer, which must start with prefix.
func (c *chaos) answer(n *chaosInc, prefix string) string {
	c.t.Helper()
	select {
	case l := <-n.ans:
		if !strings.HasPrefix(l, prefix) {
			c.mu.Lock()
			var es []string
			for _, e := range n.events[max(0, len(n.events)-30):] {
				es = append(es, e.at.Format("15:04:05.000")+" "+e.what)
			}
			c.mu.Unlock()
			c.t.Fatalf("%v: got %q, want %q...; its last session events:\n%s", n, l, prefix, strings.Join(es, "\n"))
		}
		return l
	case <-n.done:
		c.t.Fatalf("%v: exited waiting for %q", n, prefix)
	case <-time.After(4 * wait):
		c.t.Fatalf("%v: no %q after %v", n, prefix, 4*wait)
	}
	return ""
}

// send queues a command for n; flush sends the queue.
func (c *chaos) send(n *chaosInc, format string, args ...any) {
	fmt.Fprintf(n.in, format+"\n", args...)
}

func (c *chaos) flush(n *chaosInc) { _ = n.in.Flush() }

// ask sends a command and waits for its answer.
func (c *chaos) ask(n *chaosInc, cmd, prefix string) string {
	c.t.Helper()
	c.send(n, "%s", cmd)
	c.flush(n)
	return c.answer(n, prefix)
}

// live returns the incarnations that are alive and not stopped.
func (c *chaos) reachable() []*chaosInc {
	var ns []*chaosInc
	for _, n := range c.slots {
		if c.faultOn(n) == nil {
			ns = append(ns, n)
		}
	}
	return ns
}

// faultOn returns the fault currently injected on n, or nil.
func (c *chaos) faultOn(n *chaosInc) *chaosFaultRec {
	for _, f := range c.faults {
		if f.node == n && f.end.IsZero() {
			return f
		}
	}
	return nil
}

// pingAll makes every node of ns ping every other, twice, and waits: then
// every link asked before has been made on both sides.
func (c *chaos) pingAll(ns []*chaosInc, tag string) {
	c.t.Helper()
	for round := range 2 {
		for _, n := range ns {
			var others []string
			for _, o := range ns {
				if o != n {
					others = append(others, o.String())
				}
			}
			c.send(n, "ping %s%d %s", tag, round, strings.Join(others, " "))
			c.flush(n)
		}
		for _, n := range ns {
			c.answer(n, fmt.Sprintf("pinged %s%d", tag, round))
		}
	}
}

// link makes k new edges with watchers on ws and targets on ts (two nodes
// of an edge differ), in random modes, and returns once they are made.
func (c *chaos) link(k int, ws, ts []*chaosInc) {
	c.t.Helper()
	now := time.Now()
	// The commands are written once the lock is released: a node may
	// be blocked writing reports, which the readers handle under it.
	cmds := map[*chaosInc][]string{}
	c.mu.Lock()
	for made, tries := 0, 0; made < k && tries < 100*k; tries++ { // few targets may be left
		w, tn := ws[c.rng.IntN(len(ws))], ts[c.rng.IntN(len(ts))]
		if w == tn {
			if len(ws) == 1 && len(ts) == 1 {
				break
			}
			continue
		}
		a, b := c.rng.IntN(len(w.wseq)), c.rng.IntN(len(tn.tseq))
		tg := tn.targets[b]
		key := chaosEdgeKey{w, a, tn.id(tn.tseq[b])}
		if c.edges[key] != nil || tg.ended != "" || len(tg.asked) > 0 {
			continue
		}
		e := &chaosEdge{w: w, a: a, t: tg, made: now}
		switch r := c.rng.IntN(10); {
		case r < 4:
			e.mode = "monitor"
			cmds[w] = append(cmds[w], fmt.Sprintf("L %d %s %d %d monitor", a, tn.name, tn.inc, tn.tseq[b]))
		case r < 7:
			e.mode = "notify"
			cmds[tn] = append(cmds[tn], fmt.Sprintf("N %d %s %d %d", b, w.name, w.inc, w.wseq[a]))
		default:
			e.mode = "peer"
			cmds[w] = append(cmds[w], fmt.Sprintf("L %d %s %d %d peer", a, tn.name, tn.inc, tn.tseq[b]))
			tg.peers = append(tg.peers, chaosPeer{w, w.id(w.wseq[a]), now})
		}
		c.edges[key] = e
		for _, n := range []*chaosInc{w, tn} { // both ends ping each other
			if cmds[n] == nil {
				cmds[n] = []string{}
			}
		}
		made++
	}
	c.mu.Unlock()
	var ns []*chaosInc
	for _, n := range c.slots {
		if cmds[n] != nil {
			for _, cmd := range cmds[n] {
				c.send(n, "%s", cmd)
			}
			c.flush(n)
			ns = append(ns, n)
		}
	}
	c.pingAll(ns, "link")
	settled := time.Now()
	c.mu.Lock()
	for _, e := range c.edges {
		if e.settled.IsZero() {
			e.settled = settled
		}
	}
	c.mu.Unlock()
}

// setup starts the nodes and makes the first edges.
func (c *chaos) setup() {
	for slot := range c.cfg.nodes {
		c.spawn(slot)
	}
	c.link(c.cfg.edges, c.slots, c.slots)
	c.t.Logf("chaos: %d nodes up, %d edges made", len(c.slots), len(c.edges))
}

// run injects faults and ends targets, at random, for cfg.duration.
func (c *chaos) run() {
	end := time.Now().Add(c.cfg.duration)
	for time.Now().Before(end) {
		c.heal(time.Now())
		// The schedule of a chaos test is driven by time: an action every
		// quarter to three quarters of the timeout.
		time.Sleep(c.cfg.timeout/4 + rand.N(c.cfg.timeout/2))
		down := 0
		for _, n := range c.slots {
			if c.faultOn(n) != nil {
				down++
			}
		}
		switch r := c.rng.IntN(10); {
		case r < 4:
			c.endSome()
		case down >= c.cfg.maxDown:
		default:
			c.inject([]string{"kill", "stop", "blackhole", "cut", "kill", "stop"}[r-4])
		}
	}
	c.heal(time.Time{})
}

// endSome asks one reachable node to end some of its targets: with an
// error, cleanly, or by failing a root.
func (c *chaos) endSome() {
	ns := c.reachable()
	if len(ns) == 0 {
		return
	}
	n := ns[c.rng.IntN(len(ns))]
	now := time.Now()
	ask := func(tg *chaosTarget, fault string) {
		tg.asked = append(tg.asked, fault)
		if tg.askedAt.IsZero() {
			tg.askedAt = now
		}
	}
	var cmds []string // sent once the lock is released (see link)
	c.mu.Lock()
	switch r := c.rng.IntN(3); r {
	case 0, 1:
		kind := []string{"fail", "clean"}[r]
		for range max(1, c.cfg.targets/50) {
			b := c.rng.IntN(len(n.targets))
			cmds = append(cmds, fmt.Sprintf("%s %d", kind, b))
			if kind == "fail" {
				ask(n.targets[b], fmt.Sprintf("error:t%d_failed", b))
			} else {
				ask(n.targets[b], "clean")
			}
			c.asked[kind]++
		}
	case 2:
		j := c.rng.IntN(len(n.rseq))
		cmds = append(cmds, fmt.Sprintf("root %d", j))
		root := n.id(n.rseq[j])
		for b, tg := range n.targets {
			if b%len(n.rseq) == j {
				ask(tg, fmt.Sprintf("cascade:%s:%s:error:r%d_failed", root, root, j))
			}
		}
		c.asked["root"]++
	}
	c.mu.Unlock()
	for _, cmd := range cmds {
		c.send(n, "%s", cmd)
	}
	c.flush(n)
}

// inject injects a fault of kind on a random node without one.
func (c *chaos) inject(kind string) {
	var free []*chaosInc
	for _, n := range c.slots {
		if c.faultOn(n) == nil {
			free = append(free, n)
		}
	}
	if len(free) == 0 {
		return
	}
	n := free[c.rng.IntN(len(free))]
	f := &chaosFaultRec{node: n, kind: kind, start: time.Now()}
	f.heal = f.start.Add(2*c.cfg.timeout + rand.N(2*c.cfg.timeout))
	c.mu.Lock()
	c.faults = append(c.faults, f)
	c.mu.Unlock()
	switch kind {
	case "kill":
		c.t.Logf("chaos: %v killed", n)
		if err := n.cmd.Process.Kill(); err != nil {
			c.t.Fatal(err)
		}
		<-n.done
		_ = n.cmd.Wait()
		c.mu.Lock()
		n.killed = true
		c.mu.Unlock()
		// A new incarnation, with as many new edges to and from it as
		// the killed one had that had not fired, made with the nodes that
		// have no fault.
		var from, to int
		c.mu.Lock()
		for _, e := range c.edges {
			if len(e.obs) == 0 && e.refused == "" && e.t.ended == "" {
				if e.w == n {
					from++
				} else if e.t.node == n {
					to++
				}
			}
		}
		c.mu.Unlock()
		nn := c.spawn(n.slot)
		others := slices.DeleteFunc(c.reachable(), func(o *chaosInc) bool { return o == nn })
		if len(others) > 0 {
			c.link(from, []*chaosInc{nn}, others)
			c.link(to, others, []*chaosInc{nn})
		}
	case "stop":
		if err := n.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
			c.t.Fatal(err)
		}
	case "blackhole":
		c.fws[n.slot].Blackhole()
	case "cut":
		c.fws[n.slot].Cut()
	}
}

// heal ends every fault due by now (all of them if now is zero).
func (c *chaos) heal(now time.Time) {
	for _, f := range c.faults {
		if !f.end.IsZero() || (!now.IsZero() && now.Before(f.heal)) || f.kind == "kill" {
			continue
		}
		switch f.kind {
		case "stop":
			_ = f.node.cmd.Process.Signal(syscall.SIGCONT)
		case "blackhole", "cut":
			c.fws[f.node.slot].Pass()
		}
		c.mu.Lock()
		f.end = time.Now()
		c.mu.Unlock()
	}
}

// finish waits for the cluster to come together again, ends every target
// left, waits for every edge to fire, and measures the processes.
func (c *chaos) finish() {
	c.pingAll(c.slots, "heal")
	c.converge("healed", "after the faults")
	for _, n := range c.slots {
		c.send(n, "cleanall")
		c.flush(n)
	}
	c.mu.Lock()
	for _, n := range c.slots {
		for _, tg := range n.targets {
			if tg.askedAt.IsZero() {
				tg.askedAt = time.Now()
			}
			tg.asked = append(tg.asked, "clean")
		}
	}
	c.mu.Unlock()
	// Every edge whose watcher lives fires, and every target ends: poll.
	deadline := time.Now().Add(4 * wait)
	for {
		missing := c.unfired()
		if missing == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond) // polling for convergence, bounded by deadline
	}
	// Anything still in flight is delivered before a second round of
	// pings, and reported before the answer to sync.
	c.pingAll(c.slots, "final")
	c.converge("ended", "once every target ended")
	// Every device goes, and with it every proxy of it on other nodes:
	// poll until no node has one left.
	for _, n := range c.slots {
		c.send(n, "dropall")
		c.flush(n)
	}
	c.pingAll(c.slots, "drop")
	for deadline := time.Now().Add(wait); ; {
		left := false
		for _, n := range c.slots {
			s := chaosStats(strings.TrimPrefix(c.ask(n, "stats poll", "stats poll "), "stats poll "))
			left = left || s == nil || s[3] != 0 || s[4] != 0
		}
		if !left || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond) // polling for convergence, bounded by deadline
	}
	for _, n := range c.slots {
		if dir := os.Getenv("BACKPLANE_CHAOS_DUMP"); dir != "" { // the goroutines left, to find a leak
			c.send(n, "stats after %s", filepath.Join(dir, n.name+".goroutines"))
		} else {
			c.send(n, "stats after")
		}
		c.flush(n)
	}
	for _, n := range c.slots {
		a := c.answer(n, "stats after ")
		c.mu.Lock()
		n.after = strings.TrimPrefix(a, "stats after ")
		c.mu.Unlock()
	}
	c.stopAll()
}

// unfired counts the edges whose watcher lives and that have not fired,
// and the targets on live nodes that have not reported their end.
func (c *chaos) unfired() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := 0
	for _, e := range c.edges {
		if !e.w.killed && e.refused == "" && len(e.obs) == 0 {
			k++
		}
	}
	for _, n := range c.slots {
		for _, tg := range n.targets {
			if tg.ended == "" {
				k++
			}
		}
	}
	return k
}

// stopAll ends every node process still running: it closes its input, and
// kills it if it has not exited after wait.
func (c *chaos) stopAll() {
	for _, n := range c.slots {
		if n == nil || n.killed || n.stopped {
			continue
		}
		n.stopped = true
		stopNode(n.cmd, n.stdin)
		<-n.done
	}
	c.wg.Wait()
}
