package e2e_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"go.uber.org/goleak"

	"github.com/backplane-go/backplane/internal/demo"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// Page predicates, evaluated by chromedp.Poll on every animation frame.
const (
	// aliveIs: the page's header counts %d alive devices.
	aliveIs = `[...document.querySelectorAll("#stats span")].some(s => s.textContent.endsWith(" alive") && parseInt(s.textContent, 10) === %d)`
	// faultShown: the timeline has an item for device #%d named %q, with a %q badge.
	faultShown = `[...document.querySelectorAll("#faults > li")].some(li => li.textContent.includes("#%d " + %q) && li.querySelector(".badge.%s") !== null)`
	// cascadeShown: the timeline has an item about device #%d saying that other devices went down with it.
	cascadeShown = `[...document.querySelectorAll("#faults > li")].some(li => li.textContent.includes("#%d ") && li.textContent.includes("went down with it"))`
	// treeShown: the Supervision tab nests the names %s, each in the one before.
	treeShown = `(() => {
		const kids = (li) => {
			const ul = li ? li.querySelector(":scope > details > ul") : document.querySelector("#tree > ul");
			return ul ? [...ul.children] : [];
		};
		const name = (li) => {
			const a = li.querySelector(":scope > details > summary a.devlink, :scope > span > a.devlink");
			return a ? a.textContent : "";
		};
		let li = null;
		for (const n of %s) {
			li = kids(li).find((x) => name(x).endsWith(" " + n));
			if (!li) return false;
		}
		return true;
	})()`
	// labelsShown: the graph has drawn some labels.
	labelsShown = `(window.observerLabels || 0) > 0`
	// treeCurrentOnly: the Supervision tab shows no device that is down,
	// lists each child of a supervisor once (its current generation), and
	// shows dead generations as badges.
	treeCurrentOnly = `(() => {
		const uls = [...document.querySelectorAll("#tree ul")];
		const once = uls.every((ul) => {
			const names = [...ul.children].map((li) => li.querySelector("a.devlink")).filter(Boolean).map((a) => a.textContent.replace(/^#\d+ /, ""));
			return new Set(names).size === names.length;
		});
		return once && uls.length > 0 && document.querySelectorAll("#tree .dim").length === 0 && document.querySelectorAll("#tree .badge.hist").length > 0;
	})()`
	// framesDrawn: the page has drawn %d more animation frames, letting the
	// graph's layout spread out before the screenshot.
	framesDrawn = `(window.e2eFrames = (window.e2eFrames || 0) + 1) > %d`
	// pageState: what the page shows, for failure messages.
	pageState = `document.querySelector("#stats").innerText + " | status: " + document.querySelector("#status").textContent + " | timeline: " + document.querySelector("#faults").textContent.slice(0, 300) + " | tree: " + document.querySelector("#tree").textContent.slice(0, 300)`
)

// TestObserverInBrowser opens the demo's observer page in headless
// Chromium, waits for the graph to show the whole supervision tree,
// injects a panic and a cascade, sees them appear in the fault feed, and
// saves a screenshot. The tree shows the current generations only.
func TestObserverInBrowser(t *testing.T) {
	browser := findBrowser(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()

	// A quiet service: faults only when the test injects them.
	svc := demo.New(demo.Config{Seed: 1})
	runCtx, stopService := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- svc.Run(runCtx) }()
	defer func() {
		stopService()
		if err := <-ran; err != nil {
			t.Errorf("demo service: %v", err)
		}
	}()
	select {
	case <-svc.Ready():
	case err := <-ran:
		ran <- err // for the deferred stop
		t.Fatalf("demo service ended before it was ready: %v", err)
	case <-ctx.Done():
		t.Fatal("demo service not ready in time")
	}

	srv := httptest.NewServer(svc.Handler())
	defer func() {
		srv.CloseClientConnections() // the page's event stream never ends by itself
		srv.Close()
	}()

	tab, closeBrowser := newBrowser(t, ctx, browser)
	defer closeBrowser()

	wait := func(what, expr string) {
		t.Helper()
		waitFor(t, tab, what, expr, 30*time.Second)
	}

	if err := chromedp.Do(tab,
		chromedp.EmulateViewport(1280, 800),
		chromedp.Navigate(srv.URL),
		chromedp.WaitVisible(chromedp.CSS("#graph")),
	); err != nil {
		t.Fatalf("opening %s: %v", srv.URL, err)
	}
	want := svc.Devices()
	wait(fmt.Sprintf("the graph to show %d devices", want), fmt.Sprintf(aliveIs, want))
	wait("the supervision tree", fmt.Sprintf(treeShown, `["app", "api", "pool", "conn-1"]`))
	setView(t, tab, "timeline")

	router, err := svc.Inject(ctx, demo.FaultPanic, "router")
	if err != nil {
		t.Fatalf("injecting a panic: %v", err)
	}
	wait(fmt.Sprintf("the panic of #%d router in the fault feed", router.Seq()),
		fmt.Sprintf(faultShown, router.Seq(), "router", "panic"))

	db, err := svc.Inject(ctx, demo.FaultCascade, "db")
	if err != nil {
		t.Fatalf("injecting a cascade: %v", err)
	}
	wait(fmt.Sprintf("the cascade from #%d db in the fault feed", db.Seq()),
		fmt.Sprintf(cascadeShown, db.Seq()))

	// The supervisors restart everything that went down; the tree shows
	// the current generations only.
	wait(fmt.Sprintf("the graph to show %d devices again", want), fmt.Sprintf(aliveIs, want))
	wait("the supervision tree of now", fmt.Sprintf(treeShown, `["app", "api", "pool"]`))
	wait("no dead generation in the tree", treeCurrentOnly)
	setView(t, tab, "graph")
	wait("the layout to spread", fmt.Sprintf(framesDrawn, 120))
	wait("labels on the graph", labelsShown)
	checkLabels(t, tab)

	screenshot(t, tab, "observer.png")
}
