package e2e_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"go.uber.org/goleak"

	"github.com/backplane-go/backplane/internal/demo"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// browsers are the names the browser is looked up by on the PATH.
var browsers = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"}

// findBrowser returns the browser to drive: $BACKPLANE_BROWSER, or the
// first of browsers on the PATH. Without one it skips the test, except
// under CI=true where it fails it.
func findBrowser(t *testing.T) string {
	t.Helper()
	if name := os.Getenv("BACKPLANE_BROWSER"); name != "" {
		path, err := exec.LookPath(name)
		if err != nil {
			t.Fatalf("BACKPLANE_BROWSER=%q: %v", name, err)
		}
		return path
	}
	for _, name := range browsers {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	msg := fmt.Sprintf("no browser found (looked for $BACKPLANE_BROWSER and %v on the PATH); "+
		"install Debian's chromium package (apt-get install chromium) to run the browser test", browsers)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + "; CI=true, so the browser test must run")
	}
	t.Skip(msg)
	return ""
}

// artifactDir is where the test leaves its screenshot: $BACKPLANE_ARTIFACTS
// if set, else the test's temporary directory.
func artifactDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("BACKPLANE_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Page predicates, evaluated by chromedp.Poll on every animation frame.
const (
	// aliveIs: the page's header counts %d alive devices.
	aliveIs = `[...document.querySelectorAll("#stats span")].some(s => s.textContent.endsWith(" alive") && parseInt(s.textContent, 10) === %d)`
	// faultShown: the fault feed has an item for device #%d named %q, with a %q badge.
	faultShown = `[...document.querySelectorAll("#faults > li")].some(li => li.textContent.includes("#%d " + %q) && li.querySelector(".badge.%s") !== null)`
	// cascadeShown: the feed has an item about device #%d saying that other devices went down with it.
	cascadeShown = `[...document.querySelectorAll("#faults > li")].some(li => li.textContent.includes("#%d ") && li.textContent.includes("went down with it"))`
	// treeShown: the Supervision tab nests app > api > pool > conn-1.
	treeShown = `(() => {
		const find = (ul, name) => ul && [...ul.children].find(li => {
			const a = li.querySelector(":scope > a.devlink");
			return a && a.textContent.endsWith(" " + name);
		});
		let li = { querySelector: () => document.querySelector("#tree > ul") };
		for (const name of ["app", "api", "pool", "conn-1"]) {
			li = find(li.querySelector(":scope > ul"), name);
			if (!li) return false;
		}
		return true;
	})()`
	// framesDrawn: the page has drawn %d more animation frames, letting the
	// graph's layout spread out before the screenshot.
	framesDrawn = `(window.e2eFrames = (window.e2eFrames || 0) + 1) > %d`
	// pageState: what the page shows, for failure messages.
	pageState = `document.querySelector("#stats").innerText + " | status: " + document.querySelector("#status").textContent + " | feed: " + document.querySelector("#faults").textContent.slice(0, 500)`
)

// TestObserverInBrowser opens the demo's observer page in headless
// Chromium, waits for the graph to show the whole supervision tree,
// injects a panic and a cascade, sees them appear in the fault feed, and
// saves a screenshot.
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

	allocCtx, closeAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(browser),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	)
	defer closeAlloc() // kills the browser and waits for it
	tab, closeTab := chromedp.NewContext(allocCtx)
	defer closeTab()

	// wait polls the page until expr is true, or fails the test with what
	// the page shows.
	wait := func(what, expr string) {
		t.Helper()
		err := chromedp.Do(tab, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(30*time.Second)))
		if err != nil {
			peek, cancel := context.WithTimeout(context.WithoutCancel(tab), 5*time.Second)
			defer cancel()
			state, _ := chromedp.Run(peek, chromedp.Evaluate[string](pageState))
			t.Fatalf("waiting for %s: %v\npage: %s", what, err, state)
		}
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
	openTab := func(name string) {
		t.Helper()
		if err := chromedp.Do(tab, chromedp.Click(chromedp.CSS(`nav.tabs button[data-tab="`+name+`"]`))); err != nil {
			t.Fatalf("opening the %s tab: %v", name, err)
		}
	}
	openTab("tree")
	wait("the supervision tree", treeShown)
	openTab("faults")

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

	// The supervisors restart everything that went down.
	wait(fmt.Sprintf("the graph to show %d devices again", want), fmt.Sprintf(aliveIs, want))
	wait("the layout to spread", fmt.Sprintf(framesDrawn, 120))

	png, err := chromedp.Run(tab, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(artifactDir(t), "observer.png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}
