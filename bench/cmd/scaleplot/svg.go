package main

import (
	"fmt"
	"html"
	"io"
	"math"
	"strings"
)

// The plot's geometry, in SVG user units.
const (
	width, height            = 720, 420
	left, right, top, bottom = 80, 150, 40, 60
)

// colors of the systems' lines, in the order of systems().
var colors = []string{"#1f77b4", "#7f7f7f", "#d62728", "#2ca02c", "#9467bd"}

// plot writes an SVG line chart of the total cost per device (y, linear
// from 0) against the number of devices (x, logarithmic), one line per
// system, with a point at each measured n, and a dashed line at twice
// backplane's cost at the smallest n (goal 2 of issue 15).
func plot(w io.Writer, t table) error {
	ns, syss := sizes(t), systems(t)
	ymax := 0.0
	for _, n := range ns {
		for _, s := range syss {
			if v := t.get(n, s, "total-ns/device"); !math.IsNaN(v) {
				ymax = math.Max(ymax, v)
			}
		}
	}
	// Goal 2 of issue 15: backplane at most twice its cost at the smallest n.
	goal := 2 * t.get(ns[0], "backplane", "total-ns/device")
	if !math.IsNaN(goal) {
		ymax = math.Max(ymax, goal)
	}
	ystep := niceStep(ymax / 5)
	ymax = math.Ceil(ymax/ystep) * ystep
	if ymax == 0 {
		ymax, ystep = 1, 1
	}
	lo, hi := math.Log10(float64(ns[0])), math.Log10(float64(ns[len(ns)-1]))
	if hi == lo {
		lo, hi = lo-1, hi+1
	}
	pw, ph := float64(width-left-right), float64(height-top-bottom)
	x := func(n int) float64 { return left + (math.Log10(float64(n))-lo)/(hi-lo)*pw }
	y := func(v float64) float64 { return top + ph - v/ymax*ph }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", width, height)
	fmt.Fprintf(&b, `<text x="%d" y="22" font-size="15">Cost per device with scale: create, cascade and collect a chain</text>`+"\n", left)
	// Horizontal grid lines and the y axis labels.
	for v := 0.0; v <= ymax+ystep/2; v += ystep {
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>`+"\n", left, y(v), width-right, y(v))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", left-6, y(v)+4, num(v))
	}
	// The x axis: one tick per measured n.
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", left, top+int(ph), width-right, top+int(ph))
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", left, top, left, top+int(ph))
	for _, n := range ns {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="black"/>`+"\n", x(n), top+int(ph), x(n), top+int(ph)+5)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", x(n), top+int(ph)+20, group(n))
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">devices (processes, goroutines) in the chain, log scale</text>`+"\n", left+pw/2, height-12)
	fmt.Fprintf(&b, `<text transform="translate(18 %.1f) rotate(-90)" text-anchor="middle">ns per device, total (median)</text>`+"\n", top+ph/2)
	if !math.IsNaN(goal) && len(ns) > 1 {
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#1f77b4" stroke-dasharray="6 4"/>`+"\n", left, y(goal), width-right, y(goal))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" fill="#1f77b4">goal: 2x backplane at %s</text>`+"\n", left+6, y(goal)-5, group(ns[0]))
	}
	// One line per system, and the legend.
	for i, s := range syss {
		c := colors[i%len(colors)]
		var pts []string
		for _, n := range ns {
			if v := t.get(n, s, "total-ns/device"); !math.IsNaN(v) {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(n), y(v)))
				fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"><title>%s, n=%s: %s ns</title></circle>`+"\n", x(n), y(v), c, html.EscapeString(s), group(n), num(v))
			}
		}
		fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>`+"\n", strings.Join(pts, " "), c)
		ly := top + 10 + 20*i
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"/>`+"\n", width-right+15, ly, width-right+40, ly, c)
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`+"\n", width-right+46, ly+4, html.EscapeString(s))
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// niceStep rounds v up to 1, 2 or 5 times a power of ten.
func niceStep(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}
