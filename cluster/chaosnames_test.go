package cluster_test

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// The names and groups of a chaos run. Every node incarnation registers
// cluster-wide names for its first watchers and targets ("n3.w0",
// "n3.t0"), makes those watchers members of groups g0..g2 and those
// targets members of "targets", and tries again while a name is taken (by
// a killed incarnation not yet found gone) or the registry cannot be
// reached. Once the faults stop, and again once every target has ended,
// every live node's copy of the registry must converge:
//
//   - every live node sees the same names and the same members;
//   - no name or member is a device that has ended, or of a killed
//     incarnation;
//   - a name or membership that was confirmed, of a device still alive
//     whose node no other node reported a session end with since, is
//     there (nothing is lost without cause).

// chaosReg is a confirmed registration: a name held, or a membership.
type chaosReg struct {
	node *chaosInc
	key  string // "name=" NAME or "group=" GROUP
	dev  string // NAME/INC/SEQ
	at   time.Time
}

// chaosRegistry is one node's copy of the registry, as it answered.
type chaosRegistry struct {
	names  map[string]string   // name -> holder
	groups map[string][]string // group -> members, sorted
}

// parseRegistry parses "registry TOKEN [name=N:DEV | group=G:DEV,DEV...]...".
func parseRegistry(l string) chaosRegistry {
	r := chaosRegistry{names: map[string]string{}, groups: map[string][]string{}}
	f := strings.Fields(l)
	for _, x := range f[min(2, len(f)):] {
		k, v, _ := strings.Cut(x, ":")
		if n, ok := strings.CutPrefix(k, "name="); ok {
			r.names[n] = v
		} else if g, ok := strings.CutPrefix(k, "group="); ok {
			ms := strings.Split(v, ",")
			slices.Sort(ms)
			r.groups[g] = ms
		}
	}
	return r
}

func (r chaosRegistry) String() string {
	var b strings.Builder
	keys := make([]string, 0, len(r.names))
	for k := range r.names {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%s", k, r.names[k])
	}
	keys = keys[:0]
	for k := range r.groups {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%v", k, r.groups[k])
	}
	return b.String()
}

// alive reports whether the device dev (NAME/INC/SEQ) is alive: of a live
// incarnation, and not a target that has ended.
func (c *chaos) alive(dev string) bool {
	i := strings.LastIndexByte(dev, '/')
	if i < 0 {
		return false
	}
	n := c.incs[dev[:i]]
	if n == nil || n.killed {
		return false
	}
	if tg := c.targets[dev]; tg != nil {
		return tg.ended == ""
	}
	return c.watchers[dev] != nil
}

// unsettled reports whether some node reported the end of a session with
// n after since: n's names and memberships may have been freed.
func (c *chaos) unsettled(n *chaosInc, since time.Time) bool {
	for _, o := range c.all {
		for _, e := range o.events {
			if e.down && e.peer == n.String() && !e.at.Before(since) {
				return true
			}
		}
	}
	return false
}

// registryProblems returns what is wrong with the copies of the registry
// rs of the live nodes, empty once they have converged.
func (c *chaos) registryProblems(rs map[*chaosInc]chaosRegistry) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var bad []string
	var first *chaosInc
	for _, n := range c.slots {
		if first == nil {
			first = n
			continue
		}
		if a, b := rs[first].String(), rs[n].String(); a != b {
			bad = append(bad, fmt.Sprintf("%v and %v disagree:\n  %s\n  %s", first, n, a, b))
		}
	}
	for _, n := range c.slots {
		r := rs[n]
		for name, dev := range r.names {
			if !c.alive(dev) {
				bad = append(bad, fmt.Sprintf("%v: %s held by %s, which is gone", n, name, dev))
			}
		}
		for g, ms := range r.groups {
			for _, dev := range ms {
				if !c.alive(dev) {
					bad = append(bad, fmt.Sprintf("%v: %s has member %s, which is gone", n, g, dev))
				}
			}
		}
		for _, reg := range c.regs {
			if reg.node.killed || !c.alive(reg.dev) || c.unsettled(reg.node, reg.at) {
				continue
			}
			kind, key, _ := strings.Cut(reg.key, "=")
			if kind == "name" && r.names[key] != reg.dev {
				bad = append(bad, fmt.Sprintf("%v: %s is held by %q, want %s, which registered it at %s and lives, its node left alone",
					n, key, r.names[key], reg.dev, reg.at.Format("15:04:05.000")))
			}
			if kind == "group" && !slices.Contains(r.groups[key], reg.dev) {
				bad = append(bad, fmt.Sprintf("%v: %s lacks %s, which joined it at %s and lives, its node left alone",
					n, key, reg.dev, reg.at.Format("15:04:05.000")))
			}
		}
	}
	return bad
}

// converge polls the live nodes' copies of the registry until they pass
// registryProblems, and reports a violation if they do not in time. tag
// names the polls, phase says when they were made.
func (c *chaos) converge(tag, phase string) {
	c.t.Helper()
	var bad []string
	deadline := time.Now().Add(2 * wait)
	for i := 0; ; i++ {
		rs := map[*chaosInc]chaosRegistry{}
		for _, n := range c.slots {
			tok := fmt.Sprintf("%s%d", tag, i)
			rs[n] = parseRegistry(c.ask(n, "registry "+tok, "registry "+tok))
		}
		if bad = c.registryProblems(rs); len(bad) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond) // polling for convergence, bounded by deadline
	}
	c.mu.Lock()
	for _, b := range bad {
		c.registryBad = append(c.registryBad, phase+": "+b)
	}
	c.mu.Unlock()
}
