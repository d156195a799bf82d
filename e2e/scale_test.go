package e2e_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/observer"
	"github.com/backplane-go/backplane/supervisor"
)

// tree is a supervision tree built with the real supervisor package: a
// root supervising sups supervisors of perSup workers each. The first
// worker of every tenth supervisor fails once, so the tree has dead
// generations in its history.
type tree struct {
	rec     *observer.Recorder
	started atomic.Int64 // ChildStarted and ChildRestarted events
	want    int64
	ready   chan struct{}
	once    sync.Once
	stop    context.CancelFunc
	done    chan error
}

func startTree(t *testing.T, ctx context.Context, sups, perSup int) *tree {
	t.Helper()
	tr := &tree{rec: observer.NewRecorder(), ready: make(chan struct{}), done: make(chan error, 1)}
	// Every worker once, the failing ones twice, and the supervisors.
	tr.want = int64(sups*perSup + sups + (sups+9)/10)
	hook := func(e supervisor.Event) {
		tr.rec.RecordSupervisor(e)
		if e.Type() == supervisor.EventChildStarted || e.Type() == supervisor.EventChildRestarted {
			if tr.started.Add(1) == tr.want {
				tr.once.Do(func() { close(tr.ready) })
			}
		}
	}
	idle := supervisor.Func(func(ctx context.Context) error {
		<-ctx.Done()
		return nil
	})
	var specs []supervisor.ChildSpec
	for i := range sups {
		var kids []supervisor.ChildSpec
		for j := range perSup {
			svc := idle
			if j == 0 && i%10 == 0 {
				var failed atomic.Bool
				svc = supervisor.Func(func(ctx context.Context) error {
					if failed.CompareAndSwap(false, true) {
						return errors.New("first run fails")
					}
					<-ctx.Done()
					return nil
				})
			}
			kids = append(kids, supervisor.ChildSpec{ID: fmt.Sprintf("w-%d", j), Service: svc})
		}
		sup, err := supervisor.New(supervisor.WithName(fmt.Sprintf("sup-%04d", i)), supervisor.WithEventHook(hook),
			supervisor.WithChildren(kids...))
		if err != nil {
			t.Fatal(err)
		}
		specs = append(specs, supervisor.ChildSpec{ID: fmt.Sprintf("sup-%04d", i), Service: sup})
	}
	root, err := supervisor.New(supervisor.WithName("root"), supervisor.WithEventHook(hook), supervisor.WithChildren(specs...))
	if err != nil {
		t.Fatal(err)
	}
	remove := backplane.AddHook(tr.rec.Record)
	runCtx, stop := context.WithCancel(ctx)
	tr.stop = func() {
		stop()
		<-tr.done
		remove()
	}
	go func() { tr.done <- root.Serve(runCtx) }()
	select {
	case <-tr.ready:
	case err := <-tr.done:
		tr.done <- err
		tr.stop()
		t.Fatalf("the tree ended before it was up: %v", err)
	case <-ctx.Done():
		tr.stop()
		t.Fatalf("the tree is not up in time: %d of %d starts", tr.started.Load(), tr.want)
	}
	return tr
}

// measureJS runs action(i) on each of frames animation frames and returns
// the gaps between frames in milliseconds (requestAnimationFrame deltas).
const measureJS = `(async () => {
	const action = %s;
	const gaps = [];
	let last = performance.now();
	for (let i = 0; i < %d; i++) {
		action(i);
		const t = await new Promise((r) => requestAnimationFrame(r));
		gaps.push(t - last);
		last = t;
	}
	gaps.sort((a, b) => a - b);
	const sum = gaps.reduce((s, x) => s + x, 0);
	return { frames: gaps.length, mean_ms: sum / gaps.length, p50_ms: gaps[gaps.length >> 1],
		p95_ms: gaps[Math.floor(gaps.length * 0.95)], max_ms: gaps[gaps.length - 1] };
})()`

// Actions measured: zooming the graph with the wheel, scrolling the table.
const (
	zoomAction = `(i) => {
		const c = document.getElementById("graph"), r = c.getBoundingClientRect();
		c.dispatchEvent(new WheelEvent("wheel", { deltaY: i < 40 ? -40 : 40, clientX: r.left + r.width / 2, clientY: r.top + r.height / 2, bubbles: true, cancelable: true }));
	}`
	scrollAction = `(i) => { const s = document.getElementById("tableScroll"); s.scrollTop = (i * 900) % Math.max(1, s.scrollHeight - s.clientHeight); }`
	// observePerf records long tasks from now on, in window.e2eLongTasks.
	observePerf = `(() => {
		window.e2eLongTasks = [];
		new PerformanceObserver((l) => { for (const e of l.getEntries()) window.e2eLongTasks.push(e.duration); }).observe({ type: "longtask", buffered: true });
		return true;
	})()`
	// perfEntries: paint timings, the page's own marks (snapshot loaded,
	// graph first drawn) and the long tasks seen.
	perfEntries = `(() => {
		const paint = {};
		for (const e of performance.getEntriesByType("paint")) paint[e.name] = e.startTime;
		for (const e of performance.getEntriesByType("mark")) paint[e.name] = e.startTime;
		const lt = window.e2eLongTasks || [];
		return { paint_ms: paint, long_tasks: lt.length, long_task_total_ms: lt.reduce((s, x) => s + x, 0), long_task_max_ms: lt.reduce((m, x) => Math.max(m, x), 0) };
	})()`
	// settled: the graph's layout has cooled, so it moves no more.
	settled = `window.observerAlpha && window.observerAlpha() <= 0.02`
	// labelBoxes: where the graph's labels were last drawn.
	labelBoxes = `window.observerLabelBoxes`
	// treeRows: the rows the Supervision tab has in its DOM.
	treeRows = `document.querySelectorAll("#tree li").length`
	// tableRows: the rows the table view has in its DOM, and how many it lists.
	tableRows = `(() => ({ dom: document.querySelector("#table tbody").rows.length, note: document.getElementById("tableNote").textContent }))()`
	// openSup opens the tree node of supervisor %q.
	openSup = `(() => {
		const s = [...document.querySelectorAll("#tree summary")].find((x) => x.querySelector("a.devlink").textContent.endsWith(" " + %q));
		if (!s) return false;
		if (!s.parentElement.open) s.click();
		return true;
	})()`
	// supChildren: the rows under supervisor %q, and how many are down or carry a dead-generation badge.
	supChildren = `(() => {
		const s = [...document.querySelectorAll("#tree summary")].find((x) => x.querySelector("a.devlink").textContent.endsWith(" " + %q));
		const ul = s && s.parentElement.querySelector(":scope > ul");
		if (!ul) return { rows: -1 };
		const rows = [...ul.children].filter((li) => li.querySelector("a.devlink"));
		return { rows: rows.length, down: ul.querySelectorAll(".dim").length,
			dead: [...ul.querySelectorAll(".badge.hist")].map((b) => b.textContent) };
	})()`
)

// workStats is the page's count of its work per frame
// (window.observerFrameStats): the most items, edges, labels tried and
// drawn, layout steps and table rows of any one frame, and the number of
// frames and of drawings of the graph.
type workStats struct {
	Frames      int `json:"frames"`
	Draws       int `json:"draws"`
	Rebuilds    int `json:"rebuilds"`
	MaxSteps    int `json:"max_steps"`
	MaxDrawn    int `json:"max_drawn"`
	MaxEdges    int `json:"max_edges"`
	MaxMeasured int `json:"max_measured"`
	MaxLabels   int `json:"max_labels"`
	MaxRows     int `json:"max_rows"`
	TreeRenders int `json:"tree_renders"`
}

// The page's bounds on its work per frame (observer/static/app.js).
const (
	maxDrawn    = 3000 // MAX_DRAW
	maxMeasured = 1200 // MAX_MEASURE
	maxLabels   = 400  // MAX_LABELS
	maxSteps    = 8    // MAX_STEPS
	maxTreeRows = 400  // MAX_TREE, per open supervisor
)

// checkLabels fails the test unless the graph's last drawing placed
// labels, each inside the canvas, no two overlapping.
func checkLabels(t *testing.T, tab context.Context) int {
	t.Helper()
	type labels struct {
		Width  float64      `json:"width"`
		Height float64      `json:"height"`
		Boxes  [][4]float64 `json:"boxes"`
	}
	lb, err := chromedp.Run(tab, chromedp.Evaluate[labels](labelBoxes))
	if err != nil {
		t.Fatal(err)
	}
	if len(lb.Boxes) == 0 {
		t.Errorf("no label on the graph")
	}
	for i, a := range lb.Boxes {
		if a[0] < 0 || a[1] < 0 || a[2] > lb.Width || a[3] > lb.Height {
			t.Errorf("label %d at %v is not inside the canvas (%vx%v)", i, a, lb.Width, lb.Height)
		}
		for j, b := range lb.Boxes[:i] {
			if a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3] {
				t.Errorf("labels %d at %v and %d at %v overlap", i, a, j, b)
			}
		}
	}
	return len(lb.Boxes)
}

// frameStats is what measureJS returns.
type frameStats struct {
	Frames int     `json:"frames"`
	Mean   float64 `json:"mean_ms"`
	P50    float64 `json:"p50_ms"`
	P95    float64 `json:"p95_ms"`
	Max    float64 `json:"max_ms"`
}

// TestObserverScale10k shows 10,000 workers under 1,000 supervisors (and
// 100 and 1,000 workers) on the observer page, saves a screenshot of each
// view at each size, and at 10,000 measures the page while it zooms the
// graph and scrolls the table. The figures are logged and written to the
// artifacts directory as observer-scale.json; no assertion is made on
// them. It checks that the graph draws labels, that the table renders
// only the rows in view, and that the supervision tree shows only the
// current generation of each child, with its dead one as a badge.
func TestObserverScale10k(t *testing.T) {
	browser := findBrowser(t)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	results := map[string]any{}
	for _, size := range []struct{ sups, per int }{{10, 10}, {100, 10}, {1000, 10}} {
		workers := size.sups * size.per
		t.Run(fmt.Sprint(workers), func(t *testing.T) {
			res := scaleRun(t, ctx, browser, size.sups, size.per)
			results[fmt.Sprint(workers)] = res
		})
	}
	b, err := json.MarshalIndent(results, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(artifactDir(t), "observer-scale.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("figures: %s\n%s", path, b)
}

func scaleRun(t *testing.T, ctx context.Context, browser string, sups, per int) map[string]any {
	workers := sups * per
	built := time.Now()
	tr := startTree(t, ctx, sups, per)
	defer tr.stop()
	res := map[string]any{"workers": workers, "supervisors": sups, "tree_up_ms": time.Since(built).Milliseconds()}
	alive := tr.rec.Stats().Alive

	srv := httptest.NewServer(observer.Handler(tr.rec))
	defer func() {
		srv.CloseClientConnections() // the page's event stream never ends by itself
		srv.Close()
	}()
	tab, closeBrowser := newBrowser(t, ctx, browser)
	defer closeBrowser()

	opened := time.Now()
	if err := chromedp.Do(tab, chromedp.EmulateViewport(1280, 800), chromedp.Navigate(srv.URL)); err != nil {
		t.Fatalf("opening %s: %v", srv.URL, err)
	}
	if _, err := chromedp.Run(tab, chromedp.Evaluate[bool](observePerf)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, tab, fmt.Sprintf("%d devices alive", alive), fmt.Sprintf(aliveIs, alive), time.Minute)
	res["page_shows_all_ms"] = time.Since(opened).Milliseconds()
	waitFor(t, tab, "the layout to settle", settled, 2*time.Minute)
	waitFor(t, tab, "labels on the graph", labelsShown, 30*time.Second)
	res["labels_drawn"] = checkLabels(t, tab)
	screenshot(t, tab, fmt.Sprintf("observer-%d-graph.png", workers))

	// The tree: the newest supervisor whose first worker failed once
	// (every tenth) shows each of its children once, none down, and the
	// failed one's dead generation as a badge. The tree lists the newest
	// first, and at most maxTreeRows under each supervisor.
	sup := fmt.Sprintf("sup-%04d", (sups-1)/10*10)
	if ok, err := chromedp.Run(tab, chromedp.Evaluate[bool](fmt.Sprintf(openSup, sup))); err != nil || !ok {
		t.Fatalf("opening %s in the tree: %v %v", sup, ok, err)
	}
	waitFor(t, tab, "the children of "+sup, fmt.Sprintf(`(%s).rows === %d`, fmt.Sprintf(supChildren, sup), per), 30*time.Second)
	type kids struct {
		Rows int      `json:"rows"`
		Down int      `json:"down"`
		Dead []string `json:"dead"`
	}
	k, err := chromedp.Run(tab, chromedp.Evaluate[kids](fmt.Sprintf(supChildren, sup)))
	if err != nil {
		t.Fatal(err)
	}
	if k.Rows != per || k.Down != 0 || len(k.Dead) != 1 || k.Dead[0] != "1 dead generation" {
		t.Errorf("%s in the tree: %+v, want %d current children, none down, one badge of a dead generation", sup, k, per)
	}
	nTree, err := chromedp.Run(tab, chromedp.Evaluate[int](treeRows))
	if err != nil {
		t.Fatal(err)
	}
	if nTree > 2*maxTreeRows+2 {
		t.Errorf("the tree has %d rows in its DOM with two supervisors open; want at most %d", nTree, 2*maxTreeRows+2)
	}
	res["tree_rows_in_dom"] = nTree
	screenshot(t, tab, fmt.Sprintf("observer-%d-tree.png", workers))

	// Zoom the graph.
	zoom, err := chromedp.Run(tab, chromedp.Evaluate[frameStats](fmt.Sprintf(measureJS, zoomAction, 80), chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("measuring the zoom: %v", err)
	}
	res["graph_zoom"] = zoom
	waitFor(t, tab, "labels after zooming", labelsShown, 30*time.Second)
	checkLabels(t, tab)

	// Scroll the table.
	setView(t, tab, "table")
	waitFor(t, tab, "the table", fmt.Sprintf(`document.getElementById("tableNote").textContent.startsWith("%d of ")`, alive), 30*time.Second)
	scroll, err := chromedp.Run(tab, chromedp.Evaluate[frameStats](fmt.Sprintf(measureJS, scrollAction, 80), chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("measuring the scroll: %v", err)
	}
	res["table_scroll"] = scroll
	type rowsInfo struct {
		DOM  int    `json:"dom"`
		Note string `json:"note"`
	}
	rows, err := chromedp.Run(tab, chromedp.Evaluate[rowsInfo](tableRows))
	if err != nil {
		t.Fatal(err)
	}
	if rows.DOM == 0 || rows.DOM > 100 {
		t.Errorf("the table has %d rows in its DOM for %d devices; want only those in view", rows.DOM, alive)
	}
	res["table_rows_in_dom"] = rows.DOM
	_, _ = chromedp.Run(tab, chromedp.Evaluate[bool](`(() => { document.getElementById("tableScroll").scrollTop = 0; return true; })()`))
	screenshot(t, tab, fmt.Sprintf("observer-%d-table.png", workers))

	setView(t, tab, "charts")
	waitFor(t, tab, "the charts", `document.querySelectorAll("#charts canvas").length === 4`, 30*time.Second)
	screenshot(t, tab, fmt.Sprintf("observer-%d-charts.png", workers))
	setView(t, tab, "timeline")
	waitFor(t, tab, "the timeline", `document.querySelectorAll("#faults > li").length > 0`, 30*time.Second)
	screenshot(t, tab, fmt.Sprintf("observer-%d-timeline.png", workers))
	setView(t, tab, "nodes")
	waitFor(t, tab, "the nodes", `document.querySelectorAll("#nodes tbody tr").length > 0`, 30*time.Second)
	screenshot(t, tab, fmt.Sprintf("observer-%d-nodes.png", workers))

	// While another view is shown the graph is not drawn; and no frame did
	// more than the page's bounds allow.
	before, err := chromedp.Run(tab, chromedp.Evaluate[workStats](`window.observerFrameStats`))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, tab, "30 more frames", fmt.Sprintf(`window.observerFrameStats.frames > %d`, before.Frames+30), 30*time.Second)
	work, err := chromedp.Run(tab, chromedp.Evaluate[workStats](`window.observerFrameStats`))
	if err != nil {
		t.Fatal(err)
	}
	res["work_per_frame"] = work
	if work.Draws != before.Draws {
		t.Errorf("the graph was drawn %d times while the nodes view was shown", work.Draws-before.Draws)
	}
	if work.MaxDrawn > maxDrawn || work.MaxMeasured > maxMeasured || work.MaxLabels > maxLabels || work.MaxSteps > maxSteps || work.MaxRows > 100 {
		t.Errorf("work per frame %+v beyond the bounds: %d items, %d labels tried, %d drawn, %d layout steps, 100 table rows",
			work, maxDrawn, maxMeasured, maxLabels, maxSteps)
	}
	if work.MaxSteps < 1 || work.MaxDrawn < 1 || work.MaxRows < 1 {
		t.Errorf("work per frame %+v: the page did not count its work", work)
	}

	perf, err := chromedp.Run(tab, chromedp.Evaluate[map[string]any](perfEntries))
	if err != nil {
		t.Fatal(err)
	}
	res["perf"] = perf
	prof, err := chromedp.Run(tab, chromedp.Evaluate[map[string]any](`window.observerProfile`))
	if err != nil {
		t.Fatal(err)
	}
	res["profile"] = prof
	t.Logf("%d workers under %d supervisors: zoom %+v, scroll %+v, %v", workers, sups, zoom, scroll, perf)
	return res
}
