package cluster_test

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// check holds every edge and every target of a chaos run to the rules
// (see TestChaos), and reports the figures.
func (c *chaos) check() {
	t := c.t
	c.mu.Lock()
	defer c.mu.Unlock()
	counts := map[string]int{}
	var bad []string
	violate := func(kind, format string, args ...any) {
		counts[kind]++
		if counts[kind] <= 5 { // five examples of each kind
			bad = append(bad, kind+": "+fmt.Sprintf(format, args...))
		}
	}
	detect := map[string][]time.Duration{} // unreachable, by the fault explaining it
	var deliver []time.Duration            // ends the test asked for
	fired := map[string]int{}
	spurious := 0 // unreachable with no fault injected: a session that timed out under load
	for _, e := range c.edges {
		if e.refused != "" {
			// Its link failed at once: it never fires, and the target
			// had ended, or a fault on its nodes made it seem so.
			switch {
			case len(e.obs) > 0:
				violate("fired although its link failed", "%s", c.describe(e))
			case e.t.ended == "" && !e.t.node.killed && c.explain(e.made, e.settled, e.w, e.t.node) == nil &&
				!c.sessionEnded(e.w, e.t.node, e.made):
				violate("link failed with its target alive", "%s", c.describe(e))
			}
			continue
		}
		switch len(e.obs) {
		case 0:
			if !e.w.killed {
				violate("never fired", "%s", c.describe(e))
			}
			continue
		case 1:
		default:
			violate("fired more than once", "%s", c.describe(e))
		}
		o := e.obs[0]
		fired[strings.SplitN(o.fault, ":", 2)[0]]++
		if o.fault == "nodevice" {
			// The link lost a race with the target's end: only a target
			// that ended, unasked, by a fault injected before the link
			// was made everywhere.
			if !c.endedBefore(e.t, e.settled) {
				violate("unreachable with ErrNoDevice for a target alive when linked", "%s", c.describe(e))
			}
			continue
		}
		if o.fault == "unreachable" {
			// The one cause of FaultUnreachable is the end of the session
			// between the two nodes: a fault injected on one of them, or
			// a session that timed out on its own, which the watcher's
			// node reports (OnNode tells of a session's end only if it
			// had heard from the peer in it).
			f := c.explain(e.made, o.at, e.w, e.t.node)
			if f == nil {
				if !c.sessionEnded(e.w, e.t.node, e.made) {
					violate("unreachable with no fault injected and no session ended", "%s", c.describe(e))
				} else {
					spurious++ // a session timed out under load
				}
				continue
			}
			side := "target's node"
			if f.node == e.w {
				side = "watcher's node"
			}
			detect[f.kind+" of the "+side] = append(detect[f.kind+" of the "+side], o.at.Sub(later(f.start, e.made)))
			continue
		}
		if !slices.Contains(c.fates(e.t), o.fault) {
			violate("wrong fault", "%s", c.describe(e))
			continue
		}
		if !e.t.askedAt.IsZero() && slices.Contains(e.t.asked, o.fault) {
			deliver = append(deliver, o.at.Sub(e.t.askedAt))
		}
	}
	ended := map[string]int{}
	for _, n := range c.all {
		for _, tg := range n.targets {
			switch {
			case tg.ended == "" && !n.killed:
				violate("target never reported its end", "t%d on %v", tg.b, n)
			case tg.ended == "":
			case !c.validEnd(tg):
				violate("target ended with a fault nobody caused", "t%d on %v ended %s; asked %v; peers %v; faults on its node: %s",
					tg.b, n, tg.ended, tg.asked, tg.peers, c.faultsOn(n))
			default:
				ended[strings.SplitN(tg.ended, ":", 2)[0]]++
			}
		}
	}
	for _, p := range c.problems {
		violate("reported by a node", "%s", p)
	}
	for _, p := range c.registryBad {
		violate("names and groups did not converge", "%s", p)
	}

	// The figures.
	injected := map[string]int{}
	for _, f := range c.faults {
		injected[f.kind]++
	}
	var r strings.Builder
	fmt.Fprintf(&r, "| seed | %d |\n", c.cfg.seed)
	fmt.Fprintf(&r, "| nodes | %d processes, %d incarnations in all |\n", c.cfg.nodes, len(c.all))
	fmt.Fprintf(&r, "| edges | %d (%d at the start; %s) |\n", len(c.edges), c.cfg.edges, chaosModes(c.edges))
	fmt.Fprintf(&r, "| faults injected | %s, for %v |\n", chaosCounts(injected, "kill", "stop", "blackhole", "cut"), c.cfg.duration)
	fmt.Fprintf(&r, "| ends asked | %s; then every target left ends cleanly |\n", chaosCounts(c.asked, "fail", "clean", "root"))
	fmt.Fprintf(&r, "| targets ended | %s |\n", chaosCounts(ended, "clean", "error", "cascade"))
	refused := 0
	for _, e := range c.edges {
		if e.refused != "" {
			refused++
		}
	}
	regs := map[string]int{}
	for _, g := range c.regs {
		regs[strings.SplitN(g.key, "=", 2)[0]]++
	}
	fmt.Fprintf(&r, "| names and groups | %d names registered, %d memberships, by %d incarnations |\n", regs["name"], regs["group"], len(c.all))
	fmt.Fprintf(&r, "| links refused at once (target already gone) | %d |\n", refused)
	fmt.Fprintf(&r, "| edges fired | %s |\n", chaosCounts(fired, "unreachable", "clean", "error", "cascade"))
	total := 0
	for _, k := range counts {
		total += k
	}
	fmt.Fprintf(&r, "| unreachable with no fault injected on either node (a session timed out under load) | %d edges |\n", spurious)
	fmt.Fprintf(&r, "| violations | %d |\n", total)
	kinds := make([]string, 0, len(detect))
	for k := range detect {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	var all []time.Duration
	for _, k := range kinds {
		fmt.Fprintf(&r, "| detection, %s | %s |\n", k, chaosPercentiles(detect[k]))
		all = append(all, detect[k]...)
	}
	fmt.Fprintf(&r, "| detection, all | %s |\n", chaosPercentiles(all))
	fmt.Fprintf(&r, "| delivery of the ends asked | %s |\n", chaosPercentiles(deliver))
	var grow [3]int64
	var maxGrow [3]int64
	live, dropped := 0, int64(0)
	for _, n := range c.slots {
		b, a := chaosStats(n.before), chaosStats(n.after)
		if b == nil || a == nil {
			continue
		}
		live++
		if a[3] != 0 || a[4] != 0 {
			violate("left behind", "%v: %d proxies and %d exported devices after every device is gone", n, a[3], a[4])
		}
		dropped += a[6]
		for i := range grow {
			g := a[i] - b[i]
			if i == 2 {
				g -= a[5] // one goroutine per peer watching, kept until its session ends
			}
			grow[i] += g
			maxGrow[i] = max(maxGrow[i], g)
		}
		fmt.Fprintf(&r, "| %v | heap %s -> %s, RSS %s -> %s, goroutines %d -> %d (%d peers watching its devices, one goroutine each) |\n", n,
			chaosMiB(b[0]), chaosMiB(a[0]), chaosMiB(b[1]), chaosMiB(a[1]), b[2], a[2], a[5])
	}
	if live > 0 {
		fmt.Fprintf(&r, "| growth per process, mean (max) | heap %s (%s), RSS %s (%s), goroutines beyond one per peer watching %d (%d) |\n",
			chaosMiB(grow[0]/int64(live)), chaosMiB(maxGrow[0]), chaosMiB(grow[1]/int64(live)), chaosMiB(maxGrow[1]),
			grow[2]/int64(live), maxGrow[2])
	}
	fmt.Fprintf(&r, "| frames dropped under load (Stats.Dropped) | %d |\n", dropped)
	fmt.Fprintf(&r, "| machine | %d CPUs (%s), %s |\n", runtime.NumCPU(), cpuModel(), runtime.Version())
	report := "| chaos | |\n|---|---|\n" + r.String()
	t.Logf("chaos figures:\n%s", report)
	if p := os.Getenv("BACKPLANE_CHAOS_REPORT"); p != "" {
		if err := os.WriteFile(p, []byte(report), 0o644); err != nil {
			t.Error(err)
		}
	}
	if total > 0 {
		t.Errorf("chaos: %d violations (seed %d; replay with BACKPLANE_CHAOS_SEED=%d): %v\n%s",
			total, c.cfg.seed, c.cfg.seed, counts, strings.Join(bad, "\n"))
	}
}

// explain returns the first fault injected on one of the nodes ns that
// lasted into the life of an edge made at made and started by at, or nil.
func (c *chaos) explain(made, at time.Time, ns ...*chaosInc) *chaosFaultRec {
	var first *chaosFaultRec
	for _, f := range c.faults {
		if !slices.Contains(ns, f.node) || f.start.After(at) || (!f.end.IsZero() && f.end.Before(made)) {
			continue
		}
		if first == nil || f.start.Before(first.start) {
			first = f
		}
	}
	return first
}

// fates returns the faults target tg may have ended with: the one its node
// reported, or, if its node was killed first, any the test asked for or a
// cascade from a peer-linked watcher that became unreachable.
func (c *chaos) fates(tg *chaosTarget) []string {
	if tg.ended != "" {
		return []string{tg.ended}
	}
	fs := slices.Clone(tg.asked)
	for _, p := range tg.peers {
		fs = append(fs, "cascade:"+p.id+":"+p.id+":unreachable")
	}
	return fs
}

// validEnd reports whether the end tg reported was caused: asked for by
// the test, or a cascade from a peer-linked watcher whose session with
// tg's node ended (a fault injected on one of them, or tg's node reported
// the session's end).
func (c *chaos) validEnd(tg *chaosTarget) bool {
	if slices.Contains(tg.asked, tg.ended) {
		return true
	}
	for _, p := range tg.peers {
		if tg.ended == "cascade:"+p.id+":"+p.id+":unreachable" {
			return c.sessionEnded(tg.node, p.node, p.made) || c.explain(p.made, tg.endedAt, p.node, tg.node) != nil
		}
	}
	return false
}

// sessionEnded reports whether node n reported the end of its session
// with peer after since.
func (c *chaos) sessionEnded(n, peer *chaosInc, since time.Time) bool {
	for _, e := range n.events {
		if e.down && e.peer == peer.String() && !e.at.Before(since) {
			return true
		}
	}
	return false
}

// endedBefore reports whether tg ended by a cascade from a peer-linked
// watcher whose session with tg's node ended before at (a fault was
// injected on one of them, or tg's node reported the session's end).
func (c *chaos) endedBefore(tg *chaosTarget, at time.Time) bool {
	for _, p := range tg.peers {
		if tg.ended == "cascade:"+p.id+":"+p.id+":unreachable" {
			if c.explain(p.made, at, p.node, tg.node) != nil {
				return true
			}
			for _, e := range tg.node.events {
				if e.down && e.peer == p.node.String() && !e.at.Before(p.made) && !e.at.After(at) {
					return true
				}
			}
		}
	}
	return false
}

// describe tells all the test knows of an edge, to debug a violation.
func (c *chaos) describe(e *chaosEdge) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s edge made at %s: target t%d on %v (reported end %q, asked %v at %s), watcher w%d on %v (killed %v); link error %q; told",
		e.mode, e.made.Format("15:04:05.000"), e.t.b, e.t.node, e.t.ended, e.t.asked, e.t.askedAt.Format("15:04:05.000"),
		e.a, e.w, e.w.killed, e.refused)
	for _, o := range e.obs {
		fmt.Fprintf(&b, " %s at %s;", o.fault, o.at.Format("15:04:05.000"))
	}
	fmt.Fprintf(&b, " faults on the target's node: %s; on the watcher's: %s; the watcher's node's sessions with the target's: %s",
		c.faultsOn(e.t.node), c.faultsOn(e.w), c.sessions(e.w, e.t.node))
	return b.String()
}

func (c *chaos) faultsOn(n *chaosInc) string {
	var fs []string
	for _, f := range c.faults {
		if f.node == n {
			fs = append(fs, fmt.Sprintf("%s %s-%s", f.kind, f.start.Format("15:04:05.000"), f.end.Format("15:04:05.000")))
		}
	}
	if len(fs) == 0 {
		return "none"
	}
	return strings.Join(fs, ", ")
}

func (c *chaos) sessions(n, peer *chaosInc) string {
	var es []string
	for _, e := range n.events {
		if strings.Contains(e.what, " "+peer.String()) {
			es = append(es, e.at.Format("15:04:05.000")+" "+e.what)
		}
	}
	return "[" + strings.Join(es, "; ") + "]"
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// chaosPercentiles formats p50 and p99 of ds, and their count.
func chaosPercentiles(ds []time.Duration) string {
	if len(ds) == 0 {
		return "none"
	}
	slices.Sort(ds)
	p := func(q int) time.Duration { return ds[min(len(ds)-1, len(ds)*q/100)] }
	return fmt.Sprintf("p50 %v, p99 %v (%d edges)", p(50).Round(time.Millisecond), p(99).Round(time.Millisecond), len(ds))
}

// chaosCounts formats counts in the order of keys, then any others.
func chaosCounts(m map[string]int, keys ...string) string {
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	var rest []string
	for k := range m {
		if !slices.Contains(keys, k) {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	for _, k := range rest {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func chaosModes(es map[chaosEdgeKey]*chaosEdge) string {
	m := map[string]int{}
	for _, e := range es {
		m[e.mode]++
	}
	return chaosCounts(m, "monitor", "notify", "peer")
}

// chaosStats parses "HEAP RSS GOROUTINES PROXIES EXPORTED PEERS DROPPED".
func chaosStats(s string) []int64 {
	f := strings.Fields(s)
	if len(f) != 7 {
		return nil
	}
	v := make([]int64, len(f))
	for i := range f {
		v[i], _ = strconv.ParseInt(f[i], 10, 64)
	}
	return v
}

func chaosMiB(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// cpuModel returns the CPU's model name from /proc/cpuinfo, or "unknown".
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
