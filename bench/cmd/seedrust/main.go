// Command seedrust checks the seed suite against the Rust crate it mirrors:
// it reads `go test -bench` output holding BenchmarkDevice and
// BenchmarkLine of the root package and the plain-Go yardsticks of the
// bench module (Task/spawn_exit/plain and Task/monitor_error_notify/plain),
// takes the median of each, scales the Rust figures by how much slower or
// faster this machine runs the yardsticks than the machine the Rust
// figures were taken on, and prints a Markdown table with, for each of the
// 17 benchmarks, whether ours is at or below the scaled Rust figure.
//
// Usage:
//
//	go run ./cmd/seedrust [-rust FILE] [-spawn NS] [-monitor NS] FILE...
//
// The Rust figures default to the side-by-side run of issue 15 (the Rust
// crate v0.1.1 built from its sources with its committed Cargo.lock, its
// own libtest benches, medians in ns/iter), whose yardsticks were
// spawn_exit/plain 439 ns and monitor_error_notify/plain 919 ns. A newer
// side-by-side run can replace them: -rust names a file of lines
// "Device/create_destroy 121.5" (one per benchmark, ns/iter) and -spawn
// and -monitor give the yardsticks measured beside it.
//
// The scale factor is the smaller of the two yardstick ratios, the
// stricter target; the table shows the other beside it. Run
// bench/seedcheck to measure both suites interleaved and print the table.
// Nothing here asserts a timing: the table is for reading.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// rustIssue15 are the Rust crate's figures from issue 15's side-by-side
// run, ns/iter, in the order of the seed suite.
var rustIssue15 = []rustRow{
	{"Device/create_destroy", 121.5},
	{"Device/device_monitor_drop", 279.6},
	{"Device/device_monitor_drop_notify", 272.6},
	{"Device/device_monitor_error_notify", 313.6},
	{"Device/device_peer_drop_notify", 318.1},
	{"Device/device_peer_error_notify", 333.7},
	{"Device/line_monitor_drop", 301.0},
	{"Device/line_monitor_drop_notify", 354.5},
	{"Device/line_monitor_error_notify", 376.0},
	{"Device/line_peer_drop_notify", 386.5},
	{"Device/line_peer_error_notify", 392.0},
	{"Line/create_destroy", 12.0},
	{"Line/line_monitor_drop", 357.9},
	{"Line/line_monitor_drop_notify", 412.6},
	{"Line/line_monitor_error_notify", 433.5},
	{"Line/line_peer_drop_notify", 483.1},
	{"Line/line_peer_error_notify", 447.9},
}

// The yardsticks of issue 15's run, ns/op.
const (
	issueSpawn   = 439.0
	issueMonitor = 919.0
)

// The yardsticks' names in the bench module's output (without "Benchmark"
// and the GOMAXPROCS suffix).
const (
	spawnName   = "Task/spawn_exit/plain"
	monitorName = "Task/monitor_error_notify/plain"
)

type rustRow struct {
	name string
	ns   float64
}

var gomaxprocs = regexp.MustCompile(`-\d+$`)

func main() {
	rustFile := flag.String("rust", "", "file of `name ns` lines: Rust figures of a newer side-by-side run (default: issue 15's)")
	spawn := flag.Float64("spawn", issueSpawn, "Task/spawn_exit/plain, ns/op, measured beside the Rust figures")
	monitor := flag.Float64("monitor", issueMonitor, "Task/monitor_error_notify/plain, ns/op, measured beside the Rust figures")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: seedrust [-rust FILE] [-spawn NS] [-monitor NS] FILE...")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	rust := rustIssue15
	if *rustFile != "" {
		f, err := os.Open(*rustFile)
		if err != nil {
			fail(err)
		}
		rust, err = parseRust(f)
		f.Close()
		if err != nil {
			fail(fmt.Errorf("%s: %w", *rustFile, err))
		}
	}
	samples := map[string][]float64{}
	for _, name := range flag.Args() {
		f, err := os.Open(name)
		if err != nil {
			fail(err)
		}
		err = parseGo(f, samples)
		f.Close()
		if err != nil {
			fail(fmt.Errorf("%s: %w", name, err))
		}
	}
	r, err := check(rust, samples, *spawn, *monitor)
	if err != nil {
		fail(err)
	}
	r.write(os.Stdout)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "seedrust:", err)
	os.Exit(1)
}

// parseRust reads lines "name ns"; blank lines and lines starting with #
// are skipped.
func parseRust(r io.Reader) ([]rustRow, error) {
	var rows []rustRow
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			return nil, fmt.Errorf("line %d: want \"name ns\", got %q", n, line)
		}
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("line %d: bad figure %q", n, f[1])
		}
		rows = append(rows, rustRow{f[0], v})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("no figures")
	}
	return rows, nil
}

// parseGo adds the ns/op of every benchmark line of r to samples, by name
// without "Benchmark" and the GOMAXPROCS suffix.
func parseGo(r io.Reader, samples map[string][]float64) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue
		}
		for i := 2; i+1 < len(f); i += 2 {
			if f[i+1] != "ns/op" {
				continue
			}
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return fmt.Errorf("bad ns/op in %q", sc.Text())
			}
			name := gomaxprocs.ReplaceAllString(strings.TrimPrefix(f[0], "Benchmark"), "")
			samples[name] = append(samples[name], v)
		}
	}
	return sc.Err()
}

// report is the comparison: the scale factors and one row per Rust figure.
type report struct {
	spawn, monitor       stat    // this run's yardsticks
	fSpawn, fMonitor     float64 // this run's yardstick over the Rust run's
	factor               float64 // the smaller of the two
	rows                 []row
	met, measured, total int
}

type stat struct {
	median float64
	n      int
}

type row struct {
	name          string
	rust          float64
	target, other float64 // rust scaled by factor, and by the other yardstick
	ours          stat    // n == 0: not measured
	ratio         float64 // ours ÷ target
	met           bool
}

func medianOf(v []float64) stat {
	if len(v) == 0 {
		return stat{}
	}
	s := slices.Clone(v)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + m) / 2
	}
	return stat{m, len(s)}
}

// check computes the report. Both yardsticks must have been measured.
func check(rust []rustRow, samples map[string][]float64, spawn, monitor float64) (*report, error) {
	if spawn <= 0 || monitor <= 0 {
		return nil, fmt.Errorf("the Rust run's yardsticks must be positive, got %v and %v", spawn, monitor)
	}
	r := &report{spawn: medianOf(samples[spawnName]), monitor: medianOf(samples[monitorName]), total: len(rust)}
	if r.spawn.n == 0 || r.monitor.n == 0 {
		return nil, fmt.Errorf("no %s or %s in the input: run the bench module's yardsticks beside the seed suite", spawnName, monitorName)
	}
	r.fSpawn, r.fMonitor = r.spawn.median/spawn, r.monitor.median/monitor
	r.factor = min(r.fSpawn, r.fMonitor)
	other := max(r.fSpawn, r.fMonitor)
	for _, rr := range rust {
		w := row{name: rr.name, rust: rr.ns, target: rr.ns * r.factor, other: rr.ns * other, ours: medianOf(samples[rr.name])}
		if w.ours.n > 0 {
			r.measured++
			w.ratio = w.ours.median / w.target
			w.met = w.ratio <= 1
			if w.met {
				r.met++
			}
		}
		r.rows = append(r.rows, w)
	}
	return r, nil
}

func (r *report) write(w io.Writer) {
	fmt.Fprintf(w, "Yardsticks (medians): %s %.1f ns [%d] (x%.3f), %s %.1f ns [%d] (x%.3f); target = Rust x%.3f, the smaller.\n\n",
		spawnName, r.spawn.median, r.spawn.n, r.fSpawn, monitorName, r.monitor.median, r.monitor.n, r.fMonitor, r.factor)
	fmt.Fprintf(w, "| bench | Rust | target (x%.3f) | x%.3f | ours [n] | ours ÷ target | met |\n", r.factor, max(r.fSpawn, r.fMonitor))
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---|")
	for _, x := range r.rows {
		if x.ours.n == 0 {
			fmt.Fprintf(w, "| %s | %.1f | %.1f | %.1f | not measured | | |\n", x.name, x.rust, x.target, x.other)
			continue
		}
		met := "no"
		if x.met {
			met = "yes"
		}
		fmt.Fprintf(w, "| %s | %.1f | %.1f | %.1f | %.1f [%d] | %.2fx | %s |\n", x.name, x.rust, x.target, x.other, x.ours.median, x.ours.n, x.ratio, met)
	}
	fmt.Fprintf(w, "\n%d of %d at or below the target (%d measured).\n", r.met, r.total, r.measured)
}
