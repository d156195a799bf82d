package demo

import (
	"fmt"
	"strings"
)

// numFaultKinds sizes the arrays indexed by FaultKind.
const numFaultKinds = FaultCascade + 1

// Stats describes the service at one moment: what was injected, and what
// the backplane and the supervisors made of it, as counted by the recorder.
type Stats struct {
	Rounds       int               // fault rounds played
	Injected     map[FaultKind]int // faults injected, by kind
	Resizes      int               // times the autoscaler resized the pool
	Alive        int               // devices alive
	Pool         int               // connections running
	Faults       map[string]uint64 // faulted disconnects, by backplane fault kind
	Restarts     uint64            // children restarted by their supervisor
	Abandoned    uint64            // stuck children abandoned
	Limits       uint64            // supervisors that gave up (restart intensity)
	TreeRestarts int               // times the root stopped by itself and Run served it again
}

// Stats returns the service's counters. It is cheap enough to call a few
// times a second.
func (s *Service) Stats() Stats {
	rs := s.cfg.Recorder.Stats()
	st := Stats{
		Injected:  make(map[FaultKind]int),
		Alive:     rs.Alive,
		Pool:      len(s.reg.conns()),
		Faults:    make(map[string]uint64),
		Restarts:  rs.Restarts,
		Abandoned: rs.Abandoned,
		Limits:    rs.RestartLimits,
	}
	for k, n := range rs.Disconnects {
		if k != "clean" {
			st.Faults[k] = n
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range faultKinds {
		if n := s.injected[k]; n > 0 {
			st.Injected[k] = n
		}
	}
	st.Rounds, st.Resizes, st.TreeRestarts = s.rounds, s.resizes, s.treeRestarts
	return st
}

// String formats the stats on one line, e.g.
//
//	alive 16, pool 4 | faults: error 3, panic 2, stuck 1, cascade 3 -> 14 devices down | restarts 12, abandoned 1
//
// where the faults are those injected, by kind, and the devices down are
// every faulted disconnect they caused.
func (st Stats) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "alive %d, pool %d | faults:", st.Alive, st.Pool)
	sep := " "
	for _, k := range faultKinds {
		if n := st.Injected[k]; n > 0 {
			fmt.Fprintf(&b, "%s%s %d", sep, k, n)
			sep = ", "
		}
	}
	if sep == " " {
		b.WriteString(" none")
	}
	fmt.Fprintf(&b, " -> %d devices down | restarts %d, abandoned %d", sum(st.Faults), st.Restarts, st.Abandoned)
	if st.Limits > 0 {
		fmt.Fprintf(&b, ", gave up %d", st.Limits)
	}
	return b.String()
}

func sum[K comparable, V int | uint64](m map[K]V) V {
	var n V
	for _, v := range m {
		n += v
	}
	return n
}
