package main

import (
	"bytes"
	"strings"
	"testing"
)

const goOut = `goos: linux
pkg: github.com/backplane-go/backplane
BenchmarkDevice/create_destroy-2   	 1000000	       100.0 ns/op	     144 B/op	       2 allocs/op
BenchmarkDevice/create_destroy-2   	 1000000	       300.0 ns/op	     144 B/op	       2 allocs/op
BenchmarkDevice/create_destroy-2   	 1000000	       200.0 ns/op	     144 B/op	       2 allocs/op
BenchmarkDevice/device_monitor_drop-2	 1000000	       900.0 ns/op
BenchmarkDevice
pkg: github.com/backplane-go/backplane/bench
BenchmarkTask/spawn_exit/plain-2   	 1000000	       878.0 ns/op
BenchmarkTask/monitor_error_notify/plain-2   	 1000000	      1838.0 ns/op
BenchmarkTask/monitor_error_notify/plain-2   	 1000000	      1838.0 ns/op
`

// Issue 15's yardsticks doubled: the factor is 2 for both, and each
// target twice the Rust figure.
func TestCheck(t *testing.T) {
	samples := map[string][]float64{}
	if err := parseGo(strings.NewReader(goOut), samples); err != nil {
		t.Fatal(err)
	}
	r, err := check(rustIssue15, samples, issueSpawn, issueMonitor)
	if err != nil {
		t.Fatal(err)
	}
	if r.factor != 2 {
		t.Fatalf("factor %v, want 2", r.factor)
	}
	if r.total != 17 || r.measured != 2 || r.met != 1 {
		t.Fatalf("total %d measured %d met %d, want 17, 2, 1", r.total, r.measured, r.met)
	}
	cd := r.rows[0] // create_destroy: median 200 of 3, target 243
	if cd.ours.median != 200 || cd.ours.n != 3 || cd.target != 243 || !cd.met {
		t.Errorf("create_destroy row %+v", cd)
	}
	mon := r.rows[1] // device_monitor_drop: 900 against 559.2
	if mon.met || mon.ratio <= 1 {
		t.Errorf("device_monitor_drop row %+v, want not met", mon)
	}
	var b bytes.Buffer
	r.write(&b)
	for _, want := range []string{"| Device/create_destroy | 121.5 | 243.0 |", "not measured", "1 of 17 at or below the target (2 measured)"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}

// The factor is the stricter (smaller) of the two yardstick ratios.
func TestCheckStricterFactor(t *testing.T) {
	samples := map[string][]float64{spawnName: {439 * 3}, monitorName: {919 * 1.5}}
	r, err := check(rustIssue15, samples, issueSpawn, issueMonitor)
	if err != nil {
		t.Fatal(err)
	}
	if r.factor != 1.5 {
		t.Errorf("factor %v, want 1.5", r.factor)
	}
}

func TestCheckNeedsYardsticks(t *testing.T) {
	if _, err := check(rustIssue15, map[string][]float64{spawnName: {1}}, issueSpawn, issueMonitor); err == nil {
		t.Error("no error without Task/monitor_error_notify/plain")
	}
	if _, err := check(rustIssue15, map[string][]float64{spawnName: {1}, monitorName: {1}}, 0, issueMonitor); err == nil {
		t.Error("no error for a zero yardstick")
	}
}

func TestParseRust(t *testing.T) {
	rows, err := parseRust(strings.NewReader("# a newer run\nDevice/create_destroy 110.5\n\nLine/create_destroy 11\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0] != (rustRow{"Device/create_destroy", 110.5}) || rows[1].ns != 11 {
		t.Errorf("got %v", rows)
	}
	for _, bad := range []string{"", "Device/create_destroy\n", "Device/create_destroy x\n", "Device/create_destroy -3\n"} {
		if _, err := parseRust(strings.NewReader(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{[]float64{3}, 3}, {[]float64{4, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := medianOf(c.in); got.median != c.want || got.n != len(c.in) {
			t.Errorf("median of %v = %+v, want %v", c.in, got, c.want)
		}
	}
	if got := medianOf(nil); got.n != 0 {
		t.Errorf("median of nothing = %+v", got)
	}
}
