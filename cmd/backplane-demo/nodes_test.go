package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/backplane-go/backplane/observer"
)

// lines collects what a demo prints, line by line, for tests to wait on.
type lines struct {
	mu      sync.Mutex
	partial []byte
	all     []string
	changed chan struct{} // closed and replaced at each new line
}

func newLines() *lines { return &lines{changed: make(chan struct{})} }

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		i := strings.IndexByte(string(l.partial), '\n')
		if i < 0 {
			break
		}
		l.all = append(l.all, string(l.partial[:i]))
		l.partial = l.partial[i+1:]
		close(l.changed)
		l.changed = make(chan struct{})
	}
	return len(p), nil
}

// wait returns the first line that matches re, waiting for it up to
// timeout.
func (l *lines) wait(t *testing.T, re *regexp.Regexp, timeout time.Duration) string {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for i := 0; ; {
		l.mu.Lock()
		for ; i < len(l.all); i++ {
			if re.MatchString(l.all[i]) {
				s := l.all[i]
				l.mu.Unlock()
				return s
			}
		}
		changed := l.changed
		l.mu.Unlock()
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("no line matching %q within %v; output:\n%s", re, timeout, l.text())
		}
	}
}

func (l *lines) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.all, "\n") + string(l.partial)
}

// waitFor is how long the multi-node test waits for anything: generous,
// for a loaded machine and a race-enabled binary started three times.
const waitFor = 60 * time.Second

// TestRunNodes runs the demo as three processes (this test binary, run
// again as the children), and follows it: the frontends find the remote
// backends and the observer shows them linked, a backend's fault cascades
// across the cluster, the last child is killed and its frontend goes down
// with an Unreachable fault, the child is started again and found again.
// At the end every child process has exited.
func TestRunNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	o := options{nodes: 3, seed: 7, interval: 300 * time.Millisecond, pool: 2, refresh: 20 * time.Millisecond,
		killAfter: 200 * time.Millisecond, restartAfter: 300 * time.Millisecond}
	ts := &testServer{t: t}
	out := newLines()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- runNodes(ctx, o, out, ts.serve) }()
	stopped := false
	defer func() {
		if !stopped { // a failed wait: stop the demo before the test ends
			cancel()
			<-done
		}
	}()

	up := out.wait(t, regexp.MustCompile(`^demo-1: cluster up: `), waitFor)
	for _, want := range []string{"orders -> store #", "@demo-2", "catalog -> cache #", "@demo-3"} {
		if !strings.Contains(up, want) {
			t.Errorf("%q lacks %q", up, want)
		}
	}
	// The observer shows the proxies of the remote backends, each linked
	// to a local frontend that monitors it.
	live := getSnapshot(t, ts.url)
	names := map[string]string{}
	for _, d := range live.Devices {
		names[d.ID] = d.Name
	}
	remoteLinked := 0
	for _, d := range live.Devices {
		if !strings.HasPrefix(d.Node, "demo-") || d.State != "alive" {
			continue
		}
		for _, l := range d.Links {
			if n := names[l.Peer]; (n == "orders" || n == "catalog") && l.Mode == "notify" {
				remoteLinked++
			}
		}
	}
	if remoteLinked == 0 {
		t.Errorf("no remote device linked to a frontend in the observer's snapshot: %+v", live.Devices)
	}
	// The page shows the whole cluster: the other nodes, up, with their
	// own supervisors and backends.
	untilCluster(t, ts.url, "demo-2 and demo-3 up with their backends", func(v observer.ClusterView) bool {
		return runs(v, "demo-2", true) == 1 && runs(v, "demo-3", true) == 1 &&
			aliveOn(v, "demo-2", "store") && aliveOn(v, "demo-3", "cache") && aliveOn(v, "demo-3", "backend")
	})

	out.wait(t, regexp.MustCompile(`^demo-1: (orders|catalog) #\d+ went down: cascade from #\d+@demo-[23]: .*\[root on demo-[23]\]$`), waitFor)
	out.wait(t, regexp.MustCompile(`^demo-1: killed demo-3 \(pid \d+\) with SIGKILL`), waitFor)
	out.wait(t, regexp.MustCompile(`^demo-1: catalog #\d+ went down: cascade from #\d+@demo-3: device unreachable: .*\[Unreachable`), waitFor)
	// The worker supervised here that ran on demo-3 moves to demo-2.
	out.wait(t, regexp.MustCompile(`^demo-1: worker-2 went down with demo-3: Unreachable`), waitFor)
	out.wait(t, regexp.MustCompile(`^demo-1: worker-2 moves from demo-3 to demo-2$`), waitFor)
	feed := getSnapshot(t, ts.url).Faults
	out.wait(t, regexp.MustCompile(`^demo-3: started again as pid \d+`), waitFor)
	out.wait(t, regexp.MustCompile(`^demo-1: catalog found cache on demo-3 again: #\d+@demo-3$`), waitFor)
	// The killed run of demo-3 is down on the page, its new one up.
	untilCluster(t, ts.url, "demo-3's killed run down and its new one up", func(v observer.ClusterView) bool {
		return runs(v, "demo-3", false) >= 1 && runs(v, "demo-3", true) == 1 && aliveOn(v, "demo-3", "cache")
	})

	// The fault feed has the cascades from the other nodes: a remote root,
	// and an Unreachable one. (Read at once: the feed is a ring, which the
	// demo's own faults keep turning.)
	var remoteRoot, unreachable bool
	for _, e := range feed {
		f := e.Fault
		if f == nil {
			continue
		}
		if f.Kind == "unreachable" || (f.Root != nil && f.Root.Kind == "unreachable") {
			unreachable = true
		}
		if f.Kind == "cascade" && strings.Contains(f.RootDevice, "@demo-") {
			remoteRoot = true
		}
	}
	if !remoteRoot || !unreachable {
		t.Errorf("fault feed: a cascade with a remote root %v, an unreachable fault %v; want both", remoteRoot, unreachable)
	}

	cancel()
	select {
	case err := <-done:
		stopped = true
		if err != nil {
			t.Fatalf("runNodes: %v", err)
		}
	case <-time.After(waitFor):
		t.Fatalf("runNodes did not return; output:\n%s", out.text())
	}
	text := out.text()
	if !strings.Contains(text, "stopped: 2 child processes exited") {
		t.Errorf("output lacks the final line:\n%s", text)
	}

	// Every child process has exited, and been waited for.
	pids := regexp.MustCompile(`^demo-[23]: (?:started again as )?pid (\d+)`)
	n := 0
	for _, line := range strings.Split(text, "\n") {
		m := pids.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		n++
		pid, _ := strconv.Atoi(m[1])
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("child pid %d: kill -0: %v, want ESRCH", pid, err)
		}
	}
	if n < 3 {
		t.Errorf("%d child processes started, want at least 3 (two, and the killed one again):\n%s", n, text)
	}

	if ts.snap.Stats.Alive != 0 {
		t.Errorf("%d devices still alive after runNodes returned", ts.snap.Stats.Alive)
	}
	if t.Failed() {
		t.Logf("output:\n%s", text)
	}
}

// untilCluster polls the page's api/cluster until ok holds, or fails the
// test after waitFor.
func untilCluster(t *testing.T, url, what string, ok func(observer.ClusterView) bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var v observer.ClusterView
	for {
		resp, err := http.Get(url + "api/cluster")
		if err != nil {
			t.Fatal(err)
		}
		v = observer.ClusterView{}
		err = json.NewDecoder(resp.Body).Decode(&v)
		resp.Body.Close()
		if err == nil && resp.StatusCode == http.StatusOK && ok(v) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: status %d, %v, nodes %+v", what, resp.StatusCode, err, v.Nodes)
		}
		<-tick.C
	}
}

// runs counts the runs of node in v that are up (or not).
func runs(v observer.ClusterView, node string, up bool) int {
	n := 0
	for _, x := range v.Nodes {
		if x.Node == node && x.Up == up {
			n++
		}
	}
	return n
}

// aliveOn reports whether v has a device named name alive on an up run of node.
func aliveOn(v observer.ClusterView, node, name string) bool {
	for _, d := range v.Devices {
		if d.Node == node && d.Name == name && d.State == "alive" {
			return true
		}
	}
	return false
}

func TestTopology(t *testing.T) {
	ls := topology(6)
	if len(ls) != 5 {
		t.Fatalf("topology(6): %d links, want 5", len(ls))
	}
	if got, want := ls[0], (link{frontend: "orders", node: "demo-2", backend: "store"}); got != want {
		t.Errorf("first link %+v, want %+v", got, want)
	}
	if got, want := ls[4], (link{frontend: "orders-2", node: "demo-6", backend: "store-2"}); got != want {
		t.Errorf("fifth link %+v, want %+v", got, want)
	}
	if ls := topology(1); len(ls) != 0 {
		t.Errorf("topology(1): %v", ls)
	}
}

// A child is handed the cluster's secret in its environment, never on its
// command line, which every user of the machine can read.
func TestChildSecret(t *testing.T) {
	c := childConfig{node: "demo-2", url: "nats://127.0.0.1:1", secret: "s3cret", backend: "store", fail: time.Second}
	p := newProc(c, "/bin/true", &console{out: newLines()}, 0)
	cmd, stdin, done, err := p.start()
	if err != nil {
		t.Fatal(err)
	}
	_ = stdin.Close()
	<-done
	if !slices.Contains(cmd.Env, envSecret+"=s3cret") {
		t.Errorf("environment %q lacks the secret", cmd.Env)
	}
	if strings.Contains(strings.Join(cmd.Args, " "), "s3cret") {
		t.Errorf("the secret is on the command line: %q", cmd.Args)
	}
}
