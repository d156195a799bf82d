package cluster_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/cluster"
	"github.com/backplane-go/backplane/cluster/internal/netfault"
	"github.com/backplane-go/backplane/internal/bridge"
)

// The multi-process tests run this test binary again as node processes
// (nodeMain, selected by the environment), drive them with commands on
// their standard input, and read what happens on their standard output.

const (
	envNode = "BACKPLANE_CLUSTER_NODE" // the child node's name
	envURL  = "BACKPLANE_CLUSTER_URL"  // the NATS URL it connects to
	// envSecret is the cluster's secret, in the environment: a command
	// line can be read by every user of the machine.
	envSecret = "BACKPLANE_CLUSTER_SECRET"
	// envTimeout, if set, replaces procTimeout as the node's Timeout.
	envTimeout = "BACKPLANE_CLUSTER_TIMEOUT"
)

// procTimeout is the detection time of the nodes in these tests.
const procTimeout = time.Second

// nodeMain is a node process. It offers the task kinds "wait" (Spawn), a
// task that waits for its context, and "report", which also reports its
// start and end. Commands, one per line:
//
//	dev NAME              a managed device registered as NAME; its end is reported
//	fail NAME             NAME's task returns an error
//	watch NAME NODE RNAME a device NAME monitoring RNAME on NODE; messages reported
//	dep NAME NODE RNAME   a managed device NAME, registered, that depends on RNAME on NODE
//	notify NAME NODE RNAME  RNAME on NODE is made to watch local NAME, by a link made here
//	ping NODE             answered "pong NODE" once NODE handled everything sent before
//	tasks PREFIX K        K managed devices PREFIX0..PREFIX<K-1>, registered, each
//	                      running a task that waits for its context; their end
//	                      is not reported; "ok" once every task runs
//	counter NAME N        a device NAME, registered, that disconnects cleanly once
//	                      it has received N Disconnected messages with a
//	                      FaultError (with an error at the first other message)
//	echo SUBJECT          a NATS connection of its own, besides the node's, that
//	                      answers every request on SUBJECT with its data
//	gname NAME            a device holding the cluster-wide name NAME
//	gjoin GROUP           a device that joins GROUP
//
// Reports, one per line: "ok <cmd>", "err <cmd>: <error>", "msg NAME <kind>
// <from> <fault kind>", "end NAME <crash kind> <device> <root>".
func nodeMain() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// "route:URL" embeds a server of its own, joined to URL by a route.
	url, routes := os.Getenv(envURL), []string(nil)
	if r, ok := strings.CutPrefix(url, "route:"); ok {
		url, routes = "", []string{r}
	}
	timeout := procTimeout
	if d, err := time.ParseDuration(os.Getenv(envTimeout)); err == nil {
		timeout = d
	}
	n, err := cluster.Start(cluster.Config{
		Name:      os.Getenv(envNode),
		URL:       url,
		Routes:    routes,
		Secret:    os.Getenv(envSecret),
		Heartbeat: procTimeout / 10,
		Timeout:   timeout,
	})
	if err != nil {
		fmt.Println("fatal", err)
		os.Exit(1)
	}
	err = n.RegisterKind("wait", func(ctx context.Context, _ []byte) error {
		<-ctx.Done()
		return nil
	})
	if err != nil {
		fmt.Println("fatal", err)
		os.Exit(1)
	}
	var (
		out   sync.Mutex
		fails = map[string]chan struct{}{}
		nodes = map[string]backplane.NodeID{} // the nodes looked up, by name
		conns []*nats.Conn                    // echo
		wg    sync.WaitGroup
	)
	say := func(format string, args ...any) {
		out.Lock()
		fmt.Printf(format+"\n", args...)
		out.Unlock()
	}
	// "report ARG" says "run ARG" when it starts and "stop ARG <crash
	// kind>" when its context ends.
	err = n.RegisterKind("report", func(ctx context.Context, arg []byte) error {
		say("run %s", arg)
		<-ctx.Done()
		kind := "none"
		var c *backplane.Crash
		if errors.As(context.Cause(ctx), &c) {
			kind = strings.ReplaceAll(c.Kind.String(), " ", "-")
		}
		say("stop %s %s", arg, kind)
		return nil
	})
	if err != nil {
		fmt.Println("fatal", err)
		os.Exit(1)
	}
	run := func(name string, dev *backplane.Device) {
		fail := make(chan struct{})
		fails[name] = fail
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := dev.Manage(ctx, func(ctx context.Context) error {
				select {
				case <-fail:
					return errors.New(name + " failed")
				case <-ctx.Done():
					return nil
				}
			})
			var c *backplane.Crash
			if errors.As(err, &c) {
				root := ""
				if c.Fault != nil {
					r, _ := c.Fault.Root()
					root = r.String()
				}
				say("end %s %s %v %s", name, strings.ReplaceAll(c.Kind.String(), " ", "-"), c.Device, root)
			} else {
				say("end %s clean", name)
			}
		}()
	}
	lookup := func(node, name string) (backplane.Line, error) {
		l, err := n.Lookup(ctx, node, name)
		if err == nil {
			nodes[node] = l.ID().Node()
		}
		return l, err
	}
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		f := strings.Fields(in.Text())
		if len(f) == 0 {
			continue
		}
		cmd := in.Text()
		err := func() error {
			switch f[0] {
			case "dev", "dep":
				dev := backplane.New(backplane.WithName(f[1]))
				if err := n.Register(f[1], dev); err != nil {
					return err
				}
				if f[0] == "dep" {
					l, err := lookup(f[2], f[3])
					if err != nil {
						return err
					}
					if err := dev.Link(l, backplane.Monitor); err != nil {
						return err
					}
				}
				run(f[1], dev)
			case "fail":
				close(fails[f[1]])
			case "watch":
				l, err := lookup(f[2], f[3])
				if err != nil {
					return err
				}
				w := backplane.New(backplane.WithName(f[1]))
				if err := w.Link(l, backplane.Monitor); err != nil {
					return err
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer w.Drop()
					for {
						m, err := w.Receive(ctx)
						if err != nil {
							return
						}
						fk := "clean"
						if m.Fault() != nil {
							fk = m.Fault().Kind.String()
						}
						say("msg %s %s %v %s", f[1], m.Kind(), m.From(), fk)
					}
				}()
			case "notify":
				l, err := lookup(f[2], f[3])
				if err != nil {
					return err
				}
				dev := backplane.New(backplane.WithName(f[1]))
				if err := n.Register(f[1], dev); err != nil {
					return err
				}
				if err := dev.Link(l, backplane.Notify); err != nil {
					return err
				}
				run(f[1], dev)
			case "tasks":
				k, err := strconv.Atoi(f[2])
				if err != nil {
					return err
				}
				for i := range k {
					name := fmt.Sprintf("%s%d", f[1], i)
					dev := backplane.New(backplane.WithName(name))
					if err := n.Register(name, dev); err != nil {
						dev.Drop()
						return err
					}
					running := make(chan struct{})
					wg.Add(1)
					go func() {
						defer wg.Done()
						_ = dev.Manage(ctx, func(ctx context.Context) error {
							close(running)
							<-ctx.Done()
							return nil
						})
					}()
					select {
					case <-running:
					case <-dev.Done():
					}
				}
			case "counter":
				want, err := strconv.Atoi(f[2])
				if err != nil {
					return err
				}
				dev := backplane.New(backplane.WithName(f[1]))
				if err := n.Register(f[1], dev); err != nil {
					dev.Drop()
					return err
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer dev.Drop()
					for got := 0; got < want; {
						m, err := dev.Receive(ctx)
						if err != nil {
							return
						}
						if m.Kind() != backplane.Disconnected || m.Fault() == nil || m.Fault().Kind != backplane.FaultError {
							_ = dev.Disconnect(fmt.Errorf("counter %s: unexpected %v", f[1], m))
							return
						}
						got++
					}
					_ = dev.Disconnect(nil)
				}()
			case "gname", "gjoin":
				dev := backplane.New(backplane.WithName(f[1]))
				if f[0] == "gname" {
					return n.RegisterName(ctx, f[1], dev)
				}
				return n.Join(ctx, f[1], dev)
			case "echo":
				nc, err := dial(os.Getenv(envURL), os.Getenv(envSecret))
				if err != nil {
					return err
				}
				conns = append(conns, nc)
				if _, err := nc.Subscribe(f[1], func(m *nats.Msg) { _ = m.Respond(m.Data) }); err != nil {
					return err
				}
				return nc.Flush()
			case "ping":
				// While the NATS client reconnects after a partition, a
				// ping fails at once: try again, up to the test's patience.
				pctx, cancel := context.WithTimeout(ctx, wait)
				defer cancel()
				tick := time.NewTicker(procTimeout / 10)
				defer tick.Stop()
				for {
					err := n.Ping(pctx, nodes[f[1]])
					if err == nil {
						break
					}
					select {
					case <-pctx.Done():
						return err
					case <-tick.C:
					}
				}
				say("pong %s", f[1])
				return nil
			default:
				return fmt.Errorf("unknown command")
			}
			return nil
		}()
		if err != nil {
			say("err %s: %v", cmd, err)
		} else if f[0] != "ping" {
			say("ok %s", cmd)
		}
	}
	cancel()
	wg.Wait()
	for _, nc := range conns {
		nc.Close()
	}
	_ = n.Close()
	os.Exit(0)
}

// child is a node process.
type child struct {
	t     *testing.T
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
	done  chan struct{}

	pending []string // lines read but not yet expected
}

// startNode starts this test binary as the node process called name,
// connected to url with the cluster's secret (see nodeMain), with pipes to its standard input and
// output; env is added to its environment.
func startNode(tb testing.TB, name, url, secret string, env ...string) (*exec.Cmd, io.WriteCloser, io.ReadCloser) {
	tb.Helper()
	// TMPDIR: an embedded server's JetStream store goes away with the test
	// even if the process is killed.
	return startProcess(tb, append([]string{envNode + "=" + name, envURL + "=" + url, envSecret + "=" + secret, "TMPDIR=" + tb.TempDir()}, env...)...)
}

// startProcess starts this test binary again, running no test, with env
// added to this process's environment (which says what the process is),
// and with pipes to its standard input and output.
func startProcess(tb testing.TB, env ...string) (*exec.Cmd, io.WriteCloser, io.ReadCloser) {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	return cmd, stdin, stdout
}

// stopNode ends a node process: it closes its input, which makes it leave
// the cluster and exit, and kills it if it has not exited after wait.
func stopNode(cmd *exec.Cmd, stdin io.Closer) {
	_ = stdin.Close()
	_ = cmd.Process.Signal(syscall.SIGCONT) // in case a test stopped it
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	select {
	case <-exited:
	case <-time.After(wait):
		_ = cmd.Process.Kill()
		<-exited
	}
}

// spawn starts a node process called name, connected to url with secret,
// with env added to its environment.
func spawn(t *testing.T, name, url, secret string, env ...string) *child {
	t.Helper()
	cmd, stdin, stdout := startNode(t, name, url, secret, env...)
	c := &child{t: t, name: name, cmd: cmd, stdin: stdin, lines: make(chan string, 1024), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
	}()
	t.Cleanup(c.stop)
	return c
}

// stop ends the process: politely if it still runs, by force otherwise.
func (c *child) stop() {
	stopNode(c.cmd, c.stdin)
	<-c.done
}

// do sends a command and waits for its "ok".
func (c *child) do(format string, args ...any) {
	c.t.Helper()
	cmd := fmt.Sprintf(format, args...)
	if _, err := fmt.Fprintln(c.stdin, cmd); err != nil {
		c.t.Fatalf("%s: %v", c.name, err)
	}
	if strings.HasPrefix(cmd, "ping ") {
		c.expect("pong " + strings.TrimPrefix(cmd, "ping "))
		return
	}
	c.expect("ok " + cmd)
}

// expect waits for a line starting with prefix, failing on an "err" line,
// and returns it. Lines read past stay pending for later expectations.
func (c *child) expect(prefix string) string {
	c.t.Helper()
	for i, l := range c.pending {
		if strings.HasPrefix(l, prefix) {
			c.pending = append(c.pending[:i:i], c.pending[i+1:]...)
			return l
		}
	}
	deadline := time.After(wait)
	for {
		select {
		case l, ok := <-c.lines:
			if !ok {
				c.t.Fatalf("%s exited waiting for %q", c.name, prefix)
			}
			if strings.HasPrefix(l, prefix) {
				return l
			}
			if strings.HasPrefix(l, "err ") || strings.HasPrefix(l, "fatal") {
				c.t.Fatalf("%s: %s", c.name, l)
			}
			c.pending = append(c.pending, l)
		case <-deadline:
			c.t.Fatalf("%s: no %q after %v; read %q", c.name, prefix, wait, c.pending)
		}
	}
}

// none fails if a line starting with prefix has been read and not expected.
func (c *child) none(prefix string) {
	c.t.Helper()
	for more := true; more; {
		select {
		case l, ok := <-c.lines:
			if !ok {
				more = false
				break
			}
			c.pending = append(c.pending, l)
		default:
			more = false
		}
	}
	for _, l := range c.pending {
		if strings.HasPrefix(l, prefix) {
			c.t.Errorf("%s: unexpected %q", c.name, l)
		}
	}
}

// procNode starts this process's node for a multi-process test.
func procNode(t *testing.T) *cluster.Node {
	return start(t, cluster.Config{Name: "p", Heartbeat: procTimeout / 10, Timeout: procTimeout})
}

func lookup(t *testing.T, n *cluster.Node, node, name string) backplane.Line {
	t.Helper()
	l, err := n.Lookup(ctxFor(t), node, name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func ping(t *testing.T, n *cluster.Node, l backplane.Line) {
	t.Helper()
	if err := n.Ping(ctxFor(t), l.ID().Node()); err != nil {
		t.Fatal(err)
	}
}

// Links between processes in every mode, with the ways a device ends.
func TestProcessLinkModes(t *testing.T) {
	p := procNode(t)
	c := spawn(t, "c1", p.ClientURL(), p.Secret())

	// Monitor, error: a watcher here sees the remote task's error.
	c.do("dev e")
	le := lookup(t, p, "c1", "e")
	w := backplane.New()
	defer w.Drop()
	if err := w.Link(le, backplane.Monitor); err != nil {
		t.Fatal(err)
	}
	ping(t, p, le)
	c.do("fail e")
	if m := receive(t, w); m.From() != le.ID() || m.Fault() == nil || m.Fault().Kind != backplane.FaultError ||
		m.Fault().Err.Error() != "e failed" {
		t.Fatalf("monitor error: got %v", m)
	}

	// Monitor, shutdown: the remote task powers off on request, cleanly.
	c.do("dev s")
	ls := lookup(t, p, "c1", "s")
	if err := w.Link(ls, backplane.Monitor); err != nil {
		t.Fatal(err)
	}
	ping(t, p, ls)
	if err := ls.Shutdown(w.ID()); err != nil {
		t.Fatal(err)
	}
	c.expect(fmt.Sprintf("end s power-off %v", bridge.RemoteID(p.ID(), w.ID().Seq())))
	if m := receive(t, w); m.From() != ls.ID() || m.Fault() != nil {
		t.Fatalf("monitor shutdown: got %v", m)
	}

	// Notify, made here: the remote task watches a device of this process
	// and cascades when it faults.
	c.do("dev n")
	ln := lookup(t, p, "c1", "n")
	local := backplane.New()
	if err := local.Link(ln, backplane.Notify); err != nil {
		t.Fatal(err)
	}
	ping(t, p, ln)
	_ = local.Disconnect(errors.New("local failure"))
	from := bridge.RemoteID(p.ID(), local.ID().Seq())
	c.expect(fmt.Sprintf("end n cascade %v %v", from, from))

	// Monitor made there: a remote watcher sees this process's device end.
	pd := backplane.New()
	if err := p.Register("pd", pd); err != nil {
		t.Fatal(err)
	}
	c.do("watch cw p pd")
	c.do("ping p")
	_ = pd.Disconnect(nil)
	c.expect(fmt.Sprintf("msg cw disconnected %v clean", bridge.RemoteID(p.ID(), pd.ID().Seq())))

	// Peer: a task here and a task there; the remote one fails, this one
	// cascades; then the other way round.
	for _, remoteFails := range []bool{true, false} {
		name := fmt.Sprintf("peer-%v", remoteFails)
		c.do("dev %s", name)
		lp := lookup(t, p, "c1", name)
		pt := backplane.New()
		if err := pt.Link(lp, backplane.Peer); err != nil {
			t.Fatal(err)
		}
		ping(t, p, lp)
		if remoteFails {
			res := manage(pt)
			c.do("fail %s", name)
			wantCascade(t, res, lp.ID())
			continue
		}
		_ = pt.Disconnect(errors.New("here"))
		from := bridge.RemoteID(p.ID(), pt.ID().Seq())
		c.expect(fmt.Sprintf("end %s cascade %v %v", name, from, from))
	}
	c.none("msg cw") // told once
}

// SIGKILL a node: every edge to its devices fires once with
// FaultUnreachable, within the detection time.
func TestProcessKill(t *testing.T) {
	p := procNode(t)
	c := spawn(t, "c1", p.ClientURL(), p.Secret())
	c.do("dev x")
	c.do("dev y")
	ls := []backplane.Line{lookup(t, p, "c1", "x"), lookup(t, p, "c1", "y")}
	ws := watchersOf(t, 3, ls)
	ping(t, p, ls[0])
	killed := time.Now()
	if err := c.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	toldUnreachableOnce(t, ws, ls)
	took := time.Since(killed)
	t.Logf("unreachable %v after SIGKILL (detection time %v)", took, procTimeout)
	if took > procTimeout+5*time.Second {
		t.Errorf("detection took %v, configured %v", took, procTimeout)
	}
}

// SIGSTOP a node, then SIGCONT it: both sides end the session and tell
// their watchers once; afterwards the nodes talk again in a new session.
func TestProcessHang(t *testing.T) {
	p := procNode(t)
	c := spawn(t, "c1", p.ClientURL(), p.Secret())
	c.do("dev x")
	lx := lookup(t, p, "c1", "x")
	w := backplane.New()
	defer w.Drop()
	if err := w.Link(lx, backplane.Monitor); err != nil {
		t.Fatal(err)
	}
	pd := backplane.New()
	defer pd.Drop()
	if err := p.Register("pd", pd); err != nil {
		t.Fatal(err)
	}
	c.do("watch cw p pd")
	c.do("ping p")
	ping(t, p, lx)

	stop(t, c.cmd)
	if m := receive(t, w); m.From() != lx.ID() || m.Fault() == nil || m.Fault().Kind != backplane.FaultUnreachable {
		t.Fatalf("got %v, want unreachable", m)
	} else if !strings.HasSuffix(m.Fault().Err.Error(), "unreachable: transport: peer timed out") {
		// A stopped process keeps its connection: only the timeout sees it.
		t.Fatalf("cause %q, want the timeout", m.Fault().Err)
	}
	if err := c.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	pdID := bridge.RemoteID(p.ID(), pd.ID().Seq())
	c.expect(fmt.Sprintf("msg cw disconnected %v unreachable", pdID))

	// A new session: x is still alive there, and links work again.
	c.do("ping p")
	lx2 := lookup(t, p, "c1", "x")
	w2 := backplane.New()
	defer w2.Drop()
	if err := w2.Link(lx2, backplane.Monitor); err != nil {
		t.Fatal(err)
	}
	ping(t, p, lx2)
	c.do("fail x")
	if m := receive(t, w2); m.From() != lx.ID() || m.Fault() == nil || m.Fault().Kind != backplane.FaultError {
		t.Fatalf("after the hang: got %v", m)
	}
	if m, ok := w.TryReceive(); ok {
		t.Errorf("first watcher told again: %v", m)
	}
	c.none("msg cw")
}

// A cascade that crosses three nodes keeps its root.
func TestProcessCascadeThreeNodes(t *testing.T) {
	p := procNode(t)
	c1 := spawn(t, "c1", p.ClientURL(), p.Secret())
	c2 := spawn(t, "c2", p.ClientURL(), p.Secret())
	c1.do("dev x")
	c2.do("dep t2 c1 x")
	c2.do("ping c1")
	lx := lookup(t, p, "c1", "x")
	l2 := lookup(t, p, "c2", "t2")
	t3 := backplane.New()
	if err := t3.Link(l2, backplane.Monitor); err != nil {
		t.Fatal(err)
	}
	ping(t, p, l2)
	res := manage(t3)
	c1.do("fail x")
	c2.expect(fmt.Sprintf("end t2 cascade %v %v", lx.ID(), lx.ID()))
	cr := wantCascade(t, res, l2.ID())
	root, rf := cr.Fault.Root()
	if root != lx.ID() || rf.Kind != backplane.FaultError || rf.Err.Error() != "x failed" {
		t.Fatalf("root %v %v, want %v's error", root, rf, lx.ID())
	}
	noneForged(t, p) // a cascade names another node's devices: not a forgery
}

// partitioned sets up edges both ways between this process's node p and
// the node process c (connected through fw): a watcher here of c's device
// x, and c's watcher cw of pd here. Then it breaks fw in mode ("cut" or
// "blackhole") and checks that both watchers are told Unreachable. It
// returns the watcher here and the Line to x.
func partitioned(t *testing.T, p *cluster.Node, c *child, fw *netfault.Forwarder, mode string) (*backplane.Device, backplane.Line) {
	t.Helper()
	c.do("dev x")
	lx := lookup(t, p, "c1", "x") // retried until interest has propagated
	w := backplane.New()
	t.Cleanup(w.Drop)
	if err := w.Link(lx, backplane.Monitor); err != nil {
		t.Fatal(err)
	}
	pd := backplane.New()
	t.Cleanup(pd.Drop)
	if err := p.Register("pd", pd); err != nil {
		t.Fatal(err)
	}
	c.do("watch cw p pd")
	c.do("ping p")
	ping(t, p, lx)

	if mode == "cut" {
		fw.Cut()
	} else {
		fw.Blackhole()
	}
	if m := receive(t, w); m.From() != lx.ID() || m.Fault() == nil || m.Fault().Kind != backplane.FaultUnreachable {
		t.Fatalf("got %v, want unreachable", m)
	}
	c.expect(fmt.Sprintf("msg cw disconnected %v unreachable", bridge.RemoteID(p.ID(), pd.ID().Seq())))
	return w, lx
}

// forwarder puts a netfault forwarder in front of url.
func forwarder(t *testing.T, url string) *netfault.Forwarder {
	t.Helper()
	fw, err := netfault.Listen(strings.TrimPrefix(url, "nats://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fw.Close() })
	return fw
}

// A partition made by a TCP forwarder between a node and the NATS server:
// blackholed (bytes silently dropped) or cut (connections closed). Both
// sides tell their watchers once; after the network heals, the nodes talk
// again.
func TestProcessPartition(t *testing.T) {
	for _, mode := range []string{"blackhole", "cut"} {
		t.Run(mode, func(t *testing.T) {
			p := procNode(t)
			fw := forwarder(t, p.ClientURL())
			c := spawn(t, "c1", fw.URL(), p.Secret())
			w, lx := partitioned(t, p, c, fw, mode)
			fw.Pass()

			c.do("ping p") // a new session once the client is back
			lx2 := lookup(t, p, "c1", "x")
			if err := w.Link(lx2, backplane.Monitor); err != nil {
				t.Fatal(err)
			}
			ping(t, p, lx2)
			c.do("fail x")
			if m := receive(t, w); m.From() != lx.ID() || m.Fault() == nil || m.Fault().Kind != backplane.FaultError {
				t.Fatalf("after healing: got %v", m)
			}
			if m, ok := w.TryReceive(); ok {
				t.Errorf("told again: %v", m)
			}
			c.none("msg cw")
		})
	}
}

// A partition of the route between two nodes' embedded servers, made by a
// TCP forwarder: blackholed or cut. Both sides tell their watchers once.
func TestProcessRoutePartition(t *testing.T) {
	for _, mode := range []string{"blackhole", "cut"} {
		t.Run(mode, func(t *testing.T) {
			p := start(t, cluster.Config{Name: "p", RouteListen: "127.0.0.1:0", Heartbeat: procTimeout / 10, Timeout: procTimeout})
			fw := forwarder(t, p.RouteURL())
			c := spawn(t, "c1", "route:"+fw.URL(), p.Secret())
			w, _ := partitioned(t, p, c, fw, mode)
			if m, ok := w.TryReceive(); ok {
				t.Errorf("told again: %v", m)
			}
		})
	}
}

// stop sends SIGSTOP to the node process of cmd and returns once the
// kernel reports it stopped: the signal is delivered asynchronously, and
// a process not yet stopped may still answer what is sent to it. The
// wait reports the stop without reaping; the goroutine in cmd.Wait still
// sees the exit.
func stop(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	pid := cmd.Process.Pid
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	var ws syscall.WaitStatus
	for {
		_, err := syscall.Wait4(pid, &ws, syscall.WUNTRACED, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil || !ws.Stopped() {
			t.Fatalf("node process %d not stopped: %v, status %v", pid, err, ws)
		}
		return
	}
}
