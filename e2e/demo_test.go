package e2e_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestDemoPictures runs the demo (cmd/backplane-demo) alone and as three
// nodes, each for a minute ($BACKPLANE_DEMO_WAIT), and then saves a
// screenshot of every view of its observer page: demo-1node-graph.png,
// demo-3nodes-nodes.png and so on, in $BACKPLANE_ARTIFACTS. With
// $BACKPLANE_README_PICTURE set to a path (docs/observer.png), it writes
// the single-node demo's graph there, the README's picture:
// scripts/observer-picture runs it so.
// It takes over two minutes, so it runs only when $BACKPLANE_PICTURES is
// set.
func TestDemoPictures(t *testing.T) {
	if os.Getenv("BACKPLANE_PICTURES") == "" {
		t.Skip("set BACKPLANE_PICTURES=1 to run the demo for a minute and take its pictures (scripts/observer-picture)")
	}
	browser := findBrowser(t)
	wait := time.Minute
	if s := os.Getenv("BACKPLANE_DEMO_WAIT"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("BACKPLANE_DEMO_WAIT=%q: %v", s, err)
		}
		wait = d
	}
	bin := filepath.Join(t.TempDir(), "backplane-demo")
	build := exec.CommandContext(t.Context(), "go", "build", "-o", bin, ".")
	build.Dir = filepath.Join("..", "cmd", "backplane-demo")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the demo: %v\n%s", err, out)
	}
	for _, run := range []struct {
		name string
		args []string
	}{
		{"1node", nil},
		// A node killed after 20 s and started again: the page shows its
		// dead run beside its new incarnation.
		{"3nodes", []string{"-nodes", "3", "-kill-after", "20s"}},
	} {
		t.Run(run.name, func(t *testing.T) {
			demoPictures(t, browser, bin, run.name, wait, run.args...)
		})
	}
}

var observerAt = regexp.MustCompile(`observer at (http://\S+)`)

// demoPictures runs the demo binary with args for wait, and saves the
// screenshots of its page as demo-<name>-<view>.png.
func demoPictures(t *testing.T, browser, bin, name string, wait time.Duration, args ...string) {
	ctx, cancel := context.WithTimeout(t.Context(), wait+3*time.Minute)
	defer cancel()
	cmd := exec.Command(bin, append([]string{"-addr", "127.0.0.1:0", "-seed", "1"}, args...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urls := make(chan string, 1)
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		sc := bufio.NewScanner(out)
		sent := false
		for sc.Scan() {
			if m := observerAt.FindStringSubmatch(sc.Text()); m != nil && !sent {
				urls <- m[1]
				sent = true
			}
		}
	}()
	defer func() {
		// SIGTERM stops the demo and its child nodes cleanly.
		_ = cmd.Process.Signal(syscall.SIGTERM)
		<-copied
		if err := cmd.Wait(); err != nil {
			t.Errorf("the demo: %v", err)
		}
	}()
	var url string
	select {
	case url = <-urls:
	case <-ctx.Done():
		t.Fatal("the demo printed no observer URL")
	}
	t.Logf("%s: %s; waiting %v", name, url, wait)
	timer := time.NewTimer(wait) // the demo's first minute, which the pictures show
	select {
	case <-timer.C:
	case <-ctx.Done():
		timer.Stop()
		t.Fatal(ctx.Err())
	}

	tab, closeBrowser := newBrowser(t, ctx, browser)
	defer closeBrowser()
	if err := chromedp.Do(tab, chromedp.EmulateViewport(1280, 800), chromedp.Navigate(url)); err != nil {
		t.Fatalf("opening %s: %v", url, err)
	}
	waitFor(t, tab, "the page to load", `document.querySelectorAll("#tree li").length > 0`, time.Minute)
	if strings.HasPrefix(name, "3") {
		waitFor(t, tab, "the other nodes", `document.querySelectorAll("#stats .nodes .node").length >= 2`, time.Minute)
	}
	// The layout settles unless the demo keeps changing what it draws;
	// the picture is taken after at most 20 seconds either way.
	settle, stop := context.WithTimeout(tab, 20*time.Second)
	_ = chromedp.Do(settle, chromedp.Poll[chromedp.Void](settled))
	stop()
	// And a moment when no child is down between two generations, if one
	// comes within 15 seconds: the picture shows the tree whole.
	calm, stop := context.WithTimeout(tab, 15*time.Second)
	_ = chromedp.Do(calm, chromedp.Poll[chromedp.Void](`!document.getElementById("tree").textContent.includes("down now")`))
	stop()
	waitFor(t, tab, "labels on the graph", labelsShown, 30*time.Second)
	checkLabels(t, tab)
	graph := fmt.Sprintf("demo-%s-graph.png", name)
	screenshot(t, tab, graph)
	if dst := os.Getenv("BACKPLANE_README_PICTURE"); dst != "" && name == "1node" {
		b, err := os.ReadFile(filepath.Join(artifactDir(t), graph))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("the README's picture: %s", dst)
	}
	for _, view := range []struct{ name, ready string }{
		{"table", `document.querySelector("#table tbody").rows.length > 0`},
		{"charts", `document.querySelectorAll("#charts canvas").length === 4`},
		{"timeline", `document.querySelectorAll("#faults > li").length > 0`},
		{"nodes", `document.querySelectorAll("#nodes tbody tr").length > 0`},
	} {
		setView(t, tab, view.name)
		waitFor(t, tab, "the "+view.name, view.ready, 30*time.Second)
		screenshot(t, tab, fmt.Sprintf("demo-%s-%s.png", name, view.name))
	}
}
