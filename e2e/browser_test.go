package e2e_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

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

// newBrowser starts headless Chromium at path with a 1280x800 window and
// returns a tab, and a function that closes the browser and waits for it.
func newBrowser(t *testing.T, ctx context.Context, path string) (context.Context, func()) {
	t.Helper()
	allocCtx, closeAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(path),
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
	tab, closeTab := chromedp.NewContext(allocCtx)
	return tab, func() {
		closeTab()
		closeAlloc() // kills the browser and waits for it
	}
}

// setView switches the page to one of its views: graph, table, charts or
// timeline.
func setView(t *testing.T, tab context.Context, view string) {
	t.Helper()
	js := fmt.Sprintf(`(() => { const s = document.getElementById("view"); s.value = %q; s.dispatchEvent(new Event("change")); return s.value; })()`, view)
	if got, err := chromedp.Run(tab, chromedp.Evaluate[string](js)); err != nil || got != view {
		t.Fatalf("switching to the %s view: %q, %v", view, got, err)
	}
}

// screenshot saves the page as name in the artifacts directory.
func screenshot(t *testing.T, tab context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(tab, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(artifactDir(t), name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// waitFor polls the page until expr is true, or fails the test with what
// the page shows.
func waitFor(t *testing.T, tab context.Context, what, expr string, timeout time.Duration) {
	t.Helper()
	err := chromedp.Do(tab, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(timeout)))
	if err != nil {
		peek, cancel := context.WithTimeout(context.WithoutCancel(tab), 5*time.Second)
		defer cancel()
		state, _ := chromedp.Run(peek, chromedp.Evaluate[string](pageState))
		t.Fatalf("waiting for %s: %v\npage: %s", what, err, state)
	}
}
