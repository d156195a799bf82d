// Command scaleplot reads the rows of BenchmarkScale (bench/scale_test.go)
// and of `bench/erlang/bench.escript scale N...`, in the format of `go test
// -bench`, and prints the per-scale table in Markdown: for each number of
// devices n and each system, the median cost per device of each phase
// (create, cascade, collect) and in total, the collections during the
// creation, and the ratios that goal 2 of issue 15 reads. With -svg it also
// writes a plot of the total cost per device against n, one line per
// system, as an SVG file. It uses the standard library only.
//
// Usage:
//
//	go run ./cmd/scaleplot [-svg FILE] FILE...
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// row is the samples of one system at one n, by unit.
type row map[string][]float64

// table is the rows by n, then by system.
type table map[int]map[string]row

var name = regexp.MustCompile(`^BenchmarkScale/n=(\d+)/([A-Za-z_]+)(-\d+)?$`)

// systems in the order of the table's columns; others follow by name.
var known = []string{"backplane", "plain", "erlang"}

func main() {
	svg := flag.String("svg", "", "write the plot to this SVG file")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: scaleplot [-svg FILE] FILE...")
		flag.PrintDefaults()
	}
	flag.Parse()
	t := table{}
	for _, path := range flag.Args() {
		f, err := os.Open(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "scaleplot:", err)
			os.Exit(1)
		}
		parse(f, t)
		f.Close()
	}
	if len(t) == 0 {
		fmt.Fprintln(os.Stderr, "scaleplot: no BenchmarkScale rows found")
		os.Exit(1)
	}
	writeTable(os.Stdout, t)
	if *svg != "" {
		f, err := os.Create(*svg)
		if err == nil {
			err = plot(f, t)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "scaleplot:", err)
			os.Exit(1)
		}
	}
}

// parse adds the BenchmarkScale rows of r to t.
func parse(r io.Reader, t table) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 || len(fields)%2 != 0 {
			continue
		}
		m := name.FindStringSubmatch(fields[0])
		if m == nil {
			continue
		}
		n, err := strconv.Atoi(m[1])
		if err != nil {
			continue
		}
		if t[n] == nil {
			t[n] = map[string]row{}
		}
		rw := t[n][m[2]]
		if rw == nil {
			rw = row{}
			t[n][m[2]] = rw
		}
		for i := 2; i+1 < len(fields); i += 2 {
			if v, err := strconv.ParseFloat(fields[i], 64); err == nil {
				rw[fields[i+1]] = append(rw[fields[i+1]], v)
			}
		}
	}
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// sizes returns the numbers of devices of t in increasing order.
func sizes(t table) []int {
	var ns []int
	for n := range t {
		ns = append(ns, n)
	}
	sort.Ints(ns)
	return ns
}

// systems returns the systems of t, the known ones first.
func systems(t table) []string {
	seen := map[string]bool{}
	for _, bySys := range t {
		for s := range bySys {
			seen[s] = true
		}
	}
	var out, rest []string
	for _, s := range known {
		if seen[s] {
			out = append(out, s)
			delete(seen, s)
		}
	}
	for s := range seen {
		rest = append(rest, s)
	}
	sort.Strings(rest)
	return append(out, rest...)
}

// get returns the median of unit for system at n, NaN if not measured.
func (t table) get(n int, system, unit string) float64 {
	return median(t[n][system][unit])
}

func writeTable(w io.Writer, t table) {
	ns, syss := sizes(t), systems(t)
	fmt.Fprintln(w, "Nanoseconds per device, medians (samples in brackets); GCs: collections during the creation.")
	fmt.Fprintln(w)
	fmt.Fprint(w, "| n | system | create | cascade | collect | total | GCs | total ÷ at smallest n |")
	var peers []string
	for _, s := range syss {
		if s != "backplane" {
			peers = append(peers, s)
			fmt.Fprintf(w, " backplane ÷ %s |", s)
		}
	}
	fmt.Fprintln(w)
	fmt.Fprint(w, "|---:|---|---:|---:|---:|---:|---:|---:|")
	fmt.Fprintln(w, strings.Repeat("---:|", len(peers)))
	for _, n := range ns {
		for _, s := range syss {
			if t[n][s] == nil {
				continue
			}
			total := t.get(n, s, "total-ns/device")
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s [%d] | %s | %s |",
				group(n), s, num(t.get(n, s, "create-ns/device")), num(t.get(n, s, "cascade-ns/device")),
				num(t.get(n, s, "collect-ns/device")), num(total), len(t[n][s]["total-ns/device"]),
				num(t.get(n, s, "gc-cycles/op")), ratio(total, t.get(ns[0], s, "total-ns/device")))
			for _, p := range peers {
				if s == "backplane" {
					fmt.Fprintf(w, " %s |", ratio(total, t.get(n, p, "total-ns/device")))
				} else {
					fmt.Fprint(w, " |")
				}
			}
			fmt.Fprintln(w)
		}
	}
}

// group writes n with thousands separators.
func group(n int) string {
	s := strconv.Itoa(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func num(v float64) string {
	switch {
	case math.IsNaN(v):
		return "–"
	case v == 0:
		return "0"
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

func ratio(a, b float64) string {
	if math.IsNaN(a) || math.IsNaN(b) || b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2fx", a/b)
}
