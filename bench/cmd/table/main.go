// Command table reads benchmark output in the format of `go test -bench`
// (from the root module, the bench module and bench/erlang/bench.escript)
// and prints one Markdown table: each operation, each system, the median
// of its samples and backplane's ratio to it.
//
// Usage:
//
//	go run ./cmd/table FILE...
//
// A benchmark of the root package (pkg: github.com/backplane-go/backplane)
// is backplane's: its whole name is the operation. Elsewhere the last
// element of the name is the system (backplane, plain, protoactor, suture,
// erlang, ...) and the rest is the operation. The figure of a row is the
// benchmark's custom metric (ns/notification, ns/hop, B/device, ...) when it
// has one, ns/op otherwise; a benchmark with several custom metrics gets a
// row for each. For a rate (a unit ending in "/s", such as
// notifications/s) the ratio is the system's rate over backplane's, so
// that below 1 still means backplane is faster.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

const rootPkg = "github.com/backplane-go/backplane"

// ours is the system the ratios are computed for.
const ours = "backplane"

// key names one row: an operation measured in a unit by a system.
type key struct {
	op, unit, system string
}

type samples struct {
	values []float64
	allocs []float64
}

var gomaxprocs = regexp.MustCompile(`-\d+$`)

func main() {
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: table FILE...")
		flag.PrintDefaults()
	}
	flag.Parse()
	data := map[key]*samples{}
	var order []string // operations in first-seen order
	for _, name := range flag.Args() {
		f, err := os.Open(name)
		if err != nil {
			fmt.Fprintln(os.Stderr, "table:", err)
			os.Exit(1)
		}
		order = parse(f, data, order)
		f.Close()
	}
	if len(data) == 0 {
		fmt.Fprintln(os.Stderr, "table: no benchmark lines found")
		os.Exit(1)
	}
	write(os.Stdout, data, order)
}

// parse reads one benchmark output and adds its samples to data.
func parse(r io.Reader, data map[key]*samples, order []string) []string {
	pkg := ""
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimSpace(p)
			continue
		}
		if !strings.HasPrefix(line, "Benchmark") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 4 || len(fields)%2 != 0 {
			continue // a name alone (sub-benchmark header) or a SKIP line
		}
		if _, err := strconv.Atoi(fields[1]); err != nil {
			continue
		}
		name := gomaxprocs.ReplaceAllString(strings.TrimPrefix(fields[0], "Benchmark"), "")
		op, system := name, ours
		if pkg != rootPkg {
			i := strings.LastIndex(name, "/")
			if i < 0 {
				continue
			}
			op, system = name[:i], name[i+1:]
		}
		metrics := map[string]float64{}
		var units []string
		for i := 2; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				continue
			}
			metrics[fields[i+1]] = v
			units = append(units, fields[i+1])
		}
		var custom []string
		for _, u := range units {
			if u != "ns/op" && u != "B/op" && u != "allocs/op" && u != "MB/s" {
				custom = append(custom, u)
			}
		}
		if len(custom) == 0 {
			if _, ok := metrics["ns/op"]; !ok {
				continue
			}
			custom = []string{"ns/op"}
		}
		for _, u := range custom {
			rowOp := op
			if len(custom) > 1 {
				rowOp = op + " [" + u + "]"
			}
			if !slices.Contains(order, rowOp) {
				order = append(order, rowOp)
			}
			k := key{rowOp, u, system}
			s := data[k]
			if s == nil {
				s = &samples{}
				data[k] = s
			}
			s.values = append(s.values, metrics[u])
			if a, ok := metrics["allocs/op"]; ok {
				s.allocs = append(s.allocs, a)
			}
		}
	}
	return order
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// systemRank orders the systems of an operation: ours first, then the
// baselines, then the peers by name.
func systemRank(s string) string {
	switch {
	case s == ours:
		return "0"
	case s == "plain":
		return "1"
	}
	return "2" + s
}

// write prints the table. The ratio is ours / system for the same op and
// unit: below 1 means backplane needs less time (or memory) than it.
func write(w io.Writer, data map[key]*samples, order []string) {
	fmt.Fprintln(w, "| Operation | System | Median | Unit | allocs/op | n | backplane ÷ system |")
	fmt.Fprintln(w, "|---|---|---:|---|---:|---:|---:|")
	for _, op := range order {
		var keys []key
		for k := range data {
			if k.op == op {
				keys = append(keys, k)
			}
		}
		sort.Slice(keys, func(i, j int) bool {
			return systemRank(keys[i].system) < systemRank(keys[j].system)
		})
		var base float64
		hasBase := false
		for _, k := range keys {
			if k.system == ours {
				base, hasBase = median(data[k].values), true
			}
		}
		for _, k := range keys {
			s := data[k]
			m := median(s.values)
			allocs := "" // per op only: for the large shapes an op is a whole fan-out or census
			if len(s.allocs) > 0 && k.unit == "ns/op" {
				allocs = format(median(s.allocs))
			}
			ratio := ""
			if hasBase && k.system != ours && m != 0 {
				r := base / m
				if strings.HasSuffix(k.unit, "/s") && base != 0 {
					r = m / base // a rate: time per unit is its inverse
				}
				ratio = fmt.Sprintf("%.2fx", r)
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %d | %s |\n",
				k.op, k.system, format(m), k.unit, allocs, len(s.values), ratio)
		}
	}
}

// format prints a figure with about three significant digits.
func format(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v >= 100 || v <= -100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10 || v <= -10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}
