package cluster_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/cluster"
)

// BenchmarkRemote measures notifications between two processes on loopback:
// this one (node "p", which embeds the NATS server) and a child node process
// (nodeMain) connected to it over TCP. BENCHMARKS.md has the figures.
//
//   - latency: one op is a round trip of two notifications, so that no clock
//     is compared across processes. A device here disconnects with an error;
//     a managed task on the child that watches it cascades; a watcher here
//     that monitors that task receives the Disconnected. ns/op is the mean
//     round trip; ns/hop-median and ns/hop-p99 are half the round trip, from
//     per-op samples.
//   - throughput: one op is a burst. A device on the child watches N devices
//     of this process (links made here, with Notify); this process
//     disconnects all N with an error; the child's device counts the N
//     notifications, then disconnects, which a watcher here receives.
//     ns/local-disconnect is the time of the loop of disconnections here,
//     per device, within the burst; downs/frame is how many notifications
//     a frame carried, on average.
//   - local_baseline: the latency round trip with both ends in this process
//     and no cluster, for the ratio.
//   - nats_baseline: the floor under a hop, a bare NATS request answered by
//     the child.
//   - node_killed: a fresh child node runs N tasks, each monitored by a
//     device here; the child process is killed (SIGKILL); one op is the
//     time until all N Disconnected messages, unreachable, have arrived.
//     The session ends when the child's heartbeats stop for the timeout
//     (procTimeout), so this measures detection, not delivery.
//
// Building the devices, links and tasks of an op, and the Ping that makes
// sure every edge is in place, is outside the timer: it is done in batches,
// before the timed ops that use them.
func BenchmarkRemote(b *testing.B) {
	var env *benchCluster
	parent := b
	cluster := func(b *testing.B) *benchCluster {
		if env == nil {
			env = startBenchCluster(b, parent) // shared; torn down after the last one
		}
		return env
	}
	b.Run("latency", func(b *testing.B) { benchLatency(b, cluster(b)) })
	b.Run("throughput", func(b *testing.B) { benchThroughput(b, cluster(b)) })
	b.Run("local_baseline", benchLocalBaseline)
	b.Run("nats_baseline", func(b *testing.B) { benchNATS(b, cluster(b)) })
	b.Run("node_killed", func(b *testing.B) { benchNodeKilled(b, cluster(b)) })
}

var errBench = errors.New("bench: device failed")

// latencyBatch is how many round trips are prepared at once.
func latencyBatch() int {
	if testing.Short() {
		return 10
	}
	return 200
}

// throughputN is the number of notifications of one throughput op.
func throughputN() int {
	if testing.Short() {
		return 500
	}
	return 10_000
}

func benchLatency(b *testing.B, env *benchCluster) {
	p, c := env.p, env.c
	ctx := env.ctx
	w := backplane.New()
	defer w.Drop()
	samples := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for batch := 0; len(samples) < b.N; batch++ {
		b.StopTimer()
		k := min(latencyBatch(), b.N-len(samples))
		prefix := fmt.Sprintf("lat%d-%d-", env.next(), batch)
		c.do(b, "tasks %s %d", prefix, k)
		srcs := make([]*backplane.Device, k)
		tasks := make([]backplane.Line, k)
		for i := range k {
			lt, err := p.Lookup(ctx, c.name, fmt.Sprintf("%s%d", prefix, i))
			if err != nil {
				b.Fatal(err)
			}
			src := backplane.New()
			if err := src.Link(lt, backplane.Notify); err != nil { // the task watches src
				b.Fatal(err)
			}
			if err := w.Link(lt, backplane.Monitor); err != nil {
				b.Fatal(err)
			}
			srcs[i], tasks[i] = src, lt
		}
		if err := p.Ping(ctx, tasks[0].ID().Node()); err != nil {
			b.Fatal(err)
		}
		samples = roundTrips(ctx, b, w, srcs, tasks, samples)
	}
	reportHops(b, samples)
}

func benchThroughput(b *testing.B, env *benchCluster) {
	p, c := env.p, env.c
	ctx := env.ctx
	n := throughputN()
	var discLoop time.Duration
	var frames uint64
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		name := fmt.Sprintf("count%d", env.next())
		c.do(b, "counter %s %d", name, n)
		lc, err := p.Lookup(ctx, c.name, name)
		if err != nil {
			b.Fatal(err)
		}
		done := backplane.New()
		if err := done.Link(lc, backplane.Monitor); err != nil {
			b.Fatal(err)
		}
		srcs := make([]*backplane.Device, n)
		for i := range srcs {
			srcs[i] = backplane.New()
			if err := srcs[i].Link(lc, backplane.Notify); err != nil { // the counter watches it
				b.Fatal(err)
			}
		}
		if err := p.Ping(ctx, lc.ID().Node()); err != nil {
			b.Fatal(err)
		}
		sent0 := p.Stats().FramesSent
		b.StartTimer()
		t0 := time.Now()
		for _, src := range srcs {
			_ = src.Disconnect(errBench)
		}
		discLoop += time.Since(t0)
		m, err := done.Receive(ctx)
		frames += p.Stats().FramesSent - sent0
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		if m.From() != lc.ID() || m.Fault() != nil {
			b.Fatalf("got %v, want %v to end cleanly after %d notifications", m, lc.ID(), n)
		}
		done.Drop()
	}
	total := float64(n) * float64(b.N)
	b.ReportMetric(float64(discLoop.Nanoseconds())/total, "ns/local-disconnect")
	b.ReportMetric(total/float64(frames), "downs/frame")
	b.ReportMetric(total/b.Elapsed().Seconds(), "notifications/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/total, "ns/notification")
}

// killedN is the number of monitors on the node of one node_killed op.
func killedN() int {
	if testing.Short() {
		return 50
	}
	return 1000
}

func benchNodeKilled(b *testing.B, env *benchCluster) {
	p, ctx := env.p, env.ctx
	n := killedN()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		k := spawnBenchChild(b, b, fmt.Sprintf("k%d", env.next()), p.ClientURL(), p.Secret())
		k.do(b, "tasks t %d", n)
		w := backplane.New()
		var node backplane.NodeID
		for i := range n {
			l, err := p.Lookup(ctx, k.name, fmt.Sprintf("t%d", i))
			if err != nil {
				b.Fatal(err)
			}
			if err := w.Link(l, backplane.Monitor); err != nil {
				b.Fatal(err)
			}
			node = l.ID().Node()
		}
		if err := p.Ping(ctx, node); err != nil { // every Watch is in place
			b.Fatal(err)
		}
		b.StartTimer()
		if err := k.cmd.Process.Kill(); err != nil {
			b.Fatal(err)
		}
		for got := 0; got < n; got++ {
			m, err := w.Receive(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if m.Kind() != backplane.Disconnected || m.Fault() == nil || m.Fault().Kind != backplane.FaultUnreachable {
				b.Fatalf("got %v, want an unreachable Disconnected", m)
			}
		}
		b.StopTimer()
		w.Drop()
	}
}

func benchLocalBaseline(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	w := backplane.New()
	defer w.Drop()
	samples := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for len(samples) < b.N {
		b.StopTimer()
		k := min(latencyBatch(), b.N-len(samples))
		srcs := make([]*backplane.Device, k)
		tasks := make([]*backplane.Device, k)
		ended := make(chan error, k)
		for i := range k {
			src, task := backplane.New(), backplane.New()
			if err := task.Link(src, backplane.Monitor); err != nil {
				b.Fatal(err)
			}
			if err := w.Link(task, backplane.Monitor); err != nil {
				b.Fatal(err)
			}
			running := make(chan struct{})
			go func() {
				ended <- task.Manage(ctx, func(ctx context.Context) error {
					close(running)
					<-ctx.Done()
					return nil
				})
			}()
			<-running
			srcs[i], tasks[i] = src, task
		}
		samples = roundTrips(ctx, b, w, srcs, tasks, samples)
		for range k {
			<-ended
		}
	}
	reportHops(b, samples)
}

// benchNATS is the floor under the latency round trip: a NATS request
// answered by the child (echo), through the same embedded server, without
// the cluster. Both connections are TCP; this process's node talks to its
// server in-process.
func benchNATS(b *testing.B, env *benchCluster) {
	subject := fmt.Sprintf("bench.echo.%d", env.next())
	env.c.do(b, "echo %s", subject)
	nc, err := dial(env.p.ClientURL(), env.p.Secret())
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	data := make([]byte, 64) // about the size of a Down frame
	// The first request sets up the connection's reply subscription.
	if _, err := nc.Request(subject, data, wait); err != nil {
		b.Fatal(err)
	}
	samples := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		if _, err := nc.Request(subject, data, wait); err != nil {
			b.Fatal(err)
		}
		samples = append(samples, time.Since(t0))
	}
	b.StopTimer()
	reportHops(b, samples)
}

// reportHops reports half the median and the 99th percentile of round trips.
func reportHops(b *testing.B, samples []time.Duration) {
	slices.Sort(samples)
	at := func(q float64) float64 {
		i := int(q*float64(len(samples))+0.5) - 1
		return float64(samples[max(0, min(i, len(samples)-1))].Nanoseconds())
	}
	b.ReportMetric(at(0.5)/2, "ns/hop-median")
	b.ReportMetric(at(0.99)/2, "ns/hop-p99")
}

// benchCluster is this process's node and one child node process, shared by
// the sub-benchmarks of one BenchmarkRemote run.
type benchCluster struct {
	ctx context.Context
	p   *cluster.Node
	c   *benchChild
	seq int
}

// next returns a number not returned before, for fresh names on the child.
func (e *benchCluster) next() int { e.seq++; return e.seq }

// startBenchCluster starts the cluster for b, to be torn down with owner.
func startBenchCluster(b, owner *testing.B) *benchCluster {
	ctx, cancel := context.WithCancel(context.Background())
	owner.Cleanup(cancel)
	p, err := cluster.Start(cluster.Config{Name: "p", Heartbeat: procTimeout / 10, Timeout: procTimeout})
	if err != nil {
		b.Fatal(err)
	}
	owner.Cleanup(func() { _ = p.Close() })
	return &benchCluster{ctx: ctx, p: p, c: spawnBenchChild(b, owner, "c1", p.ClientURL(), p.Secret())}
}

// benchChild is a node process driven by a benchmark: the same nodeMain as
// the multi-process tests' child, with a reader that drops the reports the
// benchmarks do not wait for.
type benchChild struct {
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
	done  chan struct{}
}

func spawnBenchChild(b, owner *testing.B, name, url, secret string) *benchChild {
	cmd, stdin, stdout := startNode(b, name, url, secret)
	c := &benchChild{name: name, cmd: cmd, stdin: stdin, lines: make(chan string, 64), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		defer close(c.lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if l := sc.Text(); !strings.HasPrefix(l, "end ") && !strings.HasPrefix(l, "msg ") {
				c.lines <- l
			}
		}
	}()
	owner.Cleanup(func() {
		go func() {
			for range c.lines { // keep the child from blocking on its output
			}
		}()
		stopNode(cmd, stdin)
		<-c.done
	})
	return c
}

// do sends a command and waits for its "ok".
func (c *benchChild) do(b *testing.B, format string, args ...any) {
	b.Helper()
	cmd := fmt.Sprintf(format, args...)
	if _, err := fmt.Fprintln(c.stdin, cmd); err != nil {
		b.Fatalf("%s: %v", c.name, err)
	}
	deadline := time.After(wait)
	for {
		select {
		case l, ok := <-c.lines:
			switch {
			case !ok:
				b.Fatalf("%s exited during %q", c.name, cmd)
			case l == "ok "+cmd:
				return
			case strings.HasPrefix(l, "err ") || strings.HasPrefix(l, "fatal"):
				b.Fatalf("%s: %s", c.name, l)
			}
		case <-deadline:
			b.Fatalf("%s: no answer to %q after %v", c.name, cmd, wait)
		}
	}
}

// roundTrips times the round trips of one batch: each source disconnects
// with an error, and w receives the cascade of the task that watched it.
// It appends one sample per round trip to samples, and checks the messages
// outside the timer.
func roundTrips[L backplane.Linkable](ctx context.Context, b *testing.B, w *backplane.Device, srcs []*backplane.Device, tasks []L, samples []time.Duration) []time.Duration {
	msgs := make([]backplane.Message, len(srcs))
	b.StartTimer()
	for i, src := range srcs {
		t0 := time.Now()
		_ = src.Disconnect(errBench)
		m, err := w.Receive(ctx)
		samples = append(samples, time.Since(t0))
		if err != nil {
			b.Fatal(err)
		}
		msgs[i] = m
	}
	b.StopTimer()
	for i, m := range msgs {
		if m.From() != tasks[i].Line().ID() || m.Fault() == nil || m.Fault().Kind != backplane.FaultCascade {
			b.Fatalf("got %v, want the cascade of %v", m, tasks[i].Line().ID())
		}
	}
	return samples
}
