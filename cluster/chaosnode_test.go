package cluster_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/cluster"
	"github.com/backplane-go/backplane/internal/bridge"
)

// The chaos test's node process (chaosMain) runs this test binary again,
// selected by envChaosNode. It holds three kinds of device:
//
//   - targets t0..: managed tasks, registered, that the test ends on
//     command (an error, a clean return, or a cascade from their root);
//     each watches its root, and in a Peer link the remote watcher too;
//   - watchers w0..: plain devices, registered, that only record every
//     Disconnected they receive; they end only with their process;
//   - roots r0..: plain devices that targets depend on (target i on root
//     i mod len(roots)); failing one cascades its targets.
//
// Commands, one per line on standard input, handled in order; only sync,
// ping and stats answer:
//
//	make T W R               T targets, W watchers, R roots; answers "ids t|w|r SEQ..."
//	L A NODE INC SEQ MODE    watcher wA links to the remote device in MODE (monitor, peer)
//	N B NODE INC SEQ         target tB links to the remote device with Notify
//	fail B | clean B         target tB's task returns an error | nil
//	root J                   root rJ disconnects with an error
//	names K                  the first K watchers and targets get a cluster-wide name
//	                         (NODE.wI, NODE.tI) and join a group (gI mod 3, targets)
//	registry TOKEN           answers "registry TOKEN name=N:DEV... group=G:DEV,DEV..."
//	                         from this node's copy of the registry
//	cleanall                 every target's task returns nil
//	ping TOKEN NODE/INC...   pings every node listed; answers "pinged TOKEN"
//	sync TOKEN               answers "synced TOKEN"
//	dropall                  every watcher and root is dropped
//	stats TOKEN [FILE]       answers "stats TOKEN HEAP RSS GOROUTINES PROXIES EXPORTED PEERS
//	                         DROPPED" after a GC (see cluster.Stats); writes the
//	                         goroutines' stacks to FILE
//
// Reports: "up NAME INC", "m A FROM FAULT UNIXNANO" (watcher wA was told
// FROM ended with FAULT), "e B FAULT" (target tB ended), "node up|down
// NODE UNIXNANO [REASON]" (Config.OnNode), "reg name=N|group=G DEV
// UNIXNANO" (a name or membership confirmed), "err CMD: ERROR". Devices are written
// NAME/INC/SEQ and faults by chaosFault.
const (
	envChaosNode      = "BACKPLANE_CHAOS_NODE"      // the node's name
	envChaosURL       = "BACKPLANE_CHAOS_URL"       // the NATS URL it connects to
	envChaosHeartbeat = "BACKPLANE_CHAOS_HEARTBEAT" // Config.Heartbeat
	envChaosTimeout   = "BACKPLANE_CHAOS_TIMEOUT"   // Config.Timeout
)

// chaosTask is a target device and the switch that ends its task.
type chaosTask struct {
	dev  *backplane.Device
	end  chan error // buffered: the task's result
	once sync.Once
}

func (c *chaosTask) finish(err error) { c.once.Do(func() { c.end <- err }) }

// chaosMain is a node process of TestChaos.
func chaosMain() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out sync.Mutex
	w := bufio.NewWriterSize(os.Stdout, 64<<10)
	say := func(format string, args ...any) {
		out.Lock()
		fmt.Fprintf(w, format+"\n", args...)
		out.Unlock()
	}
	// Reports are buffered, for 100,000 of them; the buffer is flushed
	// often, and before every answer, so that an answer follows every
	// report made before it.
	flush := func() {
		out.Lock()
		_ = w.Flush()
		out.Unlock()
	}
	hb, _ := time.ParseDuration(os.Getenv(envChaosHeartbeat))
	to, _ := time.ParseDuration(os.Getenv(envChaosTimeout))
	n, err := cluster.Start(cluster.Config{
		Name:      os.Getenv(envChaosNode),
		URL:       os.Getenv(envChaosURL),
		Secret:    os.Getenv(envSecret),
		Heartbeat: hb,
		Timeout:   to,
		OnNode: func(e cluster.NodeEvent) {
			if e.Up {
				say("node up %s/%d %d", e.Node.Name, e.Node.Incarnation, time.Now().UnixNano())
				return
			}
			say("node down %s/%d %d %s", e.Node.Name, e.Node.Incarnation, time.Now().UnixNano(),
				strings.ReplaceAll(fmt.Sprint(e.Reason), " ", "_"))
		},
	})
	if err != nil {
		fmt.Println("fatal", err)
		os.Exit(1)
	}
	self := n.ID()
	idOf := func(id backplane.DeviceID) string {
		node := id.Node()
		if node.IsZero() {
			node = self
		}
		return fmt.Sprintf("%s/%d/%d", node.Name, node.Incarnation, id.Seq())
	}
	say("up %s %d", self.Name, self.Incarnation)
	flush()

	var (
		wg       sync.WaitGroup
		targets  []*chaosTask
		watchers []*backplane.Device
		roots    []*backplane.Device
	)
	flusher := time.NewTicker(50 * time.Millisecond)
	wg.Add(1)
	go func() { // reports reach the test within a tick
		defer wg.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case <-flusher.C:
				flush()
			}
		}
	}()
	build := func(nt, nw, nr int) error {
		for i := range nr {
			r := backplane.New(backplane.WithName(fmt.Sprintf("r%d", i)))
			roots = append(roots, r)
		}
		for i := range nw {
			name := fmt.Sprintf("w%d", i)
			d := backplane.New(backplane.WithName(name))
			if err := n.Register(name, d); err != nil {
				return err
			}
			watchers = append(watchers, d)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer d.Drop()
				for {
					m, err := d.Receive(ctx)
					if err != nil {
						return
					}
					if m.Kind() == backplane.Disconnected {
						say("m %d %s %s %d", i, idOf(m.From()), chaosFault(m.Fault(), idOf), time.Now().UnixNano())
					}
				}
			}()
		}
		for i := range nt {
			name := fmt.Sprintf("t%d", i)
			d := backplane.New(backplane.WithName(name))
			if err := n.Register(name, d); err != nil {
				return err
			}
			if err := d.Link(roots[i%nr], backplane.Monitor); err != nil {
				return err
			}
			tg := &chaosTask{dev: d, end: make(chan error, 1)}
			targets = append(targets, tg)
			running := make(chan struct{})
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := d.Manage(ctx, func(ctx context.Context) error {
					close(running)
					select {
					case err := <-tg.end:
						return err
					case <-ctx.Done():
						return nil
					}
				})
				if ctx.Err() != nil {
					return // the process is ending
				}
				var c *backplane.Crash
				switch {
				case err == nil:
					say("e %d clean", i)
				case errors.As(err, &c):
					say("e %d %s", i, chaosFault(c.Fault, idOf))
				default:
					say("e %d other:%s", i, strings.ReplaceAll(err.Error(), " ", "_"))
				}
			}()
			<-running
		}
		for _, set := range []struct {
			kind string
			ids  []backplane.DeviceID
		}{
			{"t", seqs(targets, func(t *chaosTask) backplane.DeviceID { return t.dev.ID() })},
			{"w", seqs(watchers, (*backplane.Device).ID)},
			{"r", seqs(roots, (*backplane.Device).ID)},
		} {
			var b strings.Builder
			b.WriteString("ids " + set.kind)
			for _, id := range set.ids {
				b.WriteString(" " + strconv.FormatUint(id.Seq(), 10))
			}
			say("%s", b.String())
		}
		return nil
	}
	// hold registers the name, or joins the group, of key ("name=N",
	// "group=G") for d, trying again while the name is taken (by a killed
	// incarnation not yet found gone) or the registry cannot be reached,
	// until it succeeds or d ends; it reports "reg KEY DEV UNIXNANO".
	hold := func(key string, d *backplane.Device) {
		kind, name, _ := strings.Cut(key, "=")
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				var err error
				if kind == "name" {
					err = n.RegisterName(ctx, name, d)
					var taken *cluster.NameTakenError
					if errors.As(err, &taken) && taken.Holder == d.ID() {
						err = nil // an earlier try that seemed to fail did not
					}
				} else {
					err = n.Join(ctx, name, d)
				}
				if err == nil {
					say("reg %s %s %d", key, idOf(d.ID()), time.Now().UnixNano())
					return
				}
				select {
				case <-ctx.Done():
					return
				case <-d.Done():
					return
				case <-time.After(hb):
				}
			}
		}()
	}
	remote := func(node, inc, seq string) (backplane.Line, error) {
		i, err := strconv.ParseUint(inc, 10, 64)
		if err != nil {
			return backplane.Line{}, err
		}
		s, err := strconv.ParseUint(seq, 10, 64)
		if err != nil {
			return backplane.Line{}, err
		}
		return n.Line(bridge.RemoteID(backplane.NodeID{Name: node, Incarnation: i}, s))
	}
	index := func(s string, max int) (int, error) {
		i, err := strconv.Atoi(s)
		if err != nil || i < 0 || i >= max {
			return 0, fmt.Errorf("bad index %q", s)
		}
		return i, nil
	}

	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	for in.Scan() {
		cmd := in.Text()
		f := strings.Fields(cmd)
		if len(f) == 0 {
			continue
		}
		err := func() error {
			switch {
			case f[0] == "make" && len(f) == 4:
				var k [3]int
				for j := range k {
					v, err := strconv.Atoi(f[j+1])
					if err != nil || v < 1 {
						return fmt.Errorf("bad count %q", f[j+1])
					}
					k[j] = v
				}
				return build(k[0], k[1], k[2])
			case f[0] == "L" && len(f) == 6:
				a, err := index(f[1], len(watchers))
				if err != nil {
					return err
				}
				l, err := remote(f[2], f[3], f[4])
				if err != nil {
					return err
				}
				mode := backplane.Monitor
				if f[5] == "peer" {
					mode = backplane.Peer
				}
				return watchers[a].Link(l, mode)
			case f[0] == "N" && len(f) == 5:
				b, err := index(f[1], len(targets))
				if err != nil {
					return err
				}
				l, err := remote(f[2], f[3], f[4])
				if err != nil {
					return err
				}
				return targets[b].dev.Link(l, backplane.Notify)
			case (f[0] == "fail" || f[0] == "clean") && len(f) == 2:
				b, err := index(f[1], len(targets))
				if err != nil {
					return err
				}
				if f[0] == "fail" {
					targets[b].finish(fmt.Errorf("t%d failed", b))
				} else {
					targets[b].finish(nil)
				}
			case f[0] == "root" && len(f) == 2:
				j, err := index(f[1], len(roots))
				if err != nil {
					return err
				}
				_ = roots[j].Disconnect(fmt.Errorf("r%d failed", j))
			case f[0] == "dropall":
				for _, d := range watchers {
					d.Drop()
				}
				for _, r := range roots {
					r.Drop()
				}
			case f[0] == "names" && len(f) == 2:
				k, err := strconv.Atoi(f[1])
				if err != nil {
					return err
				}
				for i := range min(k, len(watchers)) {
					hold("name="+fmt.Sprintf("%s.w%d", self.Name, i), watchers[i])
					hold("group="+fmt.Sprintf("g%d", i%3), watchers[i])
				}
				for i := range min(k, len(targets)) {
					hold("name="+fmt.Sprintf("%s.t%d", self.Name, i), targets[i].dev)
					hold("group=targets", targets[i].dev)
				}
			case f[0] == "registry" && len(f) == 2:
				names, err := n.Names(ctx)
				if err != nil {
					return err
				}
				groups, err := n.Groups(ctx)
				if err != nil {
					return err
				}
				var b strings.Builder
				b.WriteString("registry " + f[1])
				for name, id := range names {
					b.WriteString(" name=" + name + ":" + idOf(id))
				}
				for g, ids := range groups {
					b.WriteString(" group=" + g + ":")
					for j, id := range ids {
						if j > 0 {
							b.WriteString(",")
						}
						b.WriteString(idOf(id))
					}
				}
				flush()
				say("%s", b.String())
			case f[0] == "cleanall":
				for _, t := range targets {
					t.finish(nil)
				}
			case f[0] == "ping" && len(f) >= 2:
				// Every node is pinged until it answers, up to the
				// test's patience: a session may be coming back.
				pctx, cancel := context.WithTimeout(ctx, 2*wait)
				defer cancel()
				for _, s := range f[2:] {
					name, inc, _ := strings.Cut(s, "/")
					i, err := strconv.ParseUint(inc, 10, 64)
					if err != nil {
						return err
					}
					for {
						err := n.Ping(pctx, backplane.NodeID{Name: name, Incarnation: i})
						if err == nil {
							break
						}
						if pctx.Err() != nil {
							return fmt.Errorf("ping %s: %w", s, err)
						}
						select { // a session ends at once while NATS reconnects
						case <-pctx.Done():
						case <-time.After(hb):
						}
					}
				}
				flush()
				say("pinged %s", f[1])
			case f[0] == "sync" && len(f) == 2:
				flush()
				say("synced %s", f[1])
			case f[0] == "stats" && (len(f) == 2 || len(f) == 3):
				runtime.GC()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				st := n.Stats()
				say("stats %s %d %d %d %d %d %d %d", f[1], ms.HeapAlloc, rss(), runtime.NumGoroutine(),
					st.Proxies, st.Exported, st.Peers, st.Dropped)
				if len(f) == 3 { // the goroutines, to find a leak
					if err := os.WriteFile(f[2], goroutines(), 0o644); err != nil {
						return err
					}
				}
			default:
				return errors.New("unknown command")
			}
			return nil
		}()
		if err != nil {
			say("err %s: %s", cmd, strings.ReplaceAll(err.Error(), "\n", " "))
		}
		if f[0] == "sync" || f[0] == "ping" || f[0] == "stats" || err != nil {
			flush()
		}
	}
	cancel()
	flusher.Stop()
	for _, r := range roots {
		r.Drop()
	}
	wg.Wait()
	_ = n.Close()
	flush()
	os.Exit(0)
}

// seqs returns the IDs of xs.
func seqs[T any](xs []T, id func(T) backplane.DeviceID) []backplane.DeviceID {
	ids := make([]backplane.DeviceID, len(xs))
	for i, x := range xs {
		ids[i] = id(x)
	}
	return ids
}

// chaosFault writes f in one word: "clean", "unreachable", "nodevice"
// (unreachable with ErrNoDevice), "error:TEXT",
// "cascade:FROM:ROOT:ROOTFAULT" (the root's fault being one of the
// others), or the kind's name. idOf writes a device.
func chaosFault(f *backplane.Fault, idOf func(backplane.DeviceID) string) string {
	if f == nil {
		return "clean"
	}
	switch f.Kind {
	case backplane.FaultError:
		return "error:" + strings.ReplaceAll(f.Err.Error(), " ", "_")
	case backplane.FaultUnreachable:
		if errors.Is(f, cluster.ErrNoDevice) {
			return "nodevice" // its node did not know the device
		}
		return "unreachable"
	case backplane.FaultCascade:
		root, rf := f.Root()
		return "cascade:" + idOf(f.Device) + ":" + idOf(root) + ":" + chaosFault(rf, idOf)
	}
	return f.Kind.String()
}

// goroutines returns the stacks of every goroutine.
func goroutines() []byte {
	b := make([]byte, 1<<20)
	for {
		n := runtime.Stack(b, true)
		if n < len(b) {
			return b[:n]
		}
		b = make([]byte, 2*len(b))
	}
}

// rss returns the process's resident set size in bytes, from
// /proc/self/status (0 where there is none).
func rss() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
