package clusterview

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/observer"
)

// startNATS runs a NATS server on a free loopback port for the test.
func startNATS(t *testing.T) string {
	t.Helper()
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("NATS server not ready")
	}
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	return s.ClientURL()
}

func connect(t *testing.T, url string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// node is one node of the test: a recorder fed by hand with its own
// devices, publishing until stopped.
type node struct {
	id   backplane.NodeID
	rec  *observer.Recorder
	devs []*backplane.Device
	stop func()
}

func startNode(t *testing.T, url, name string, inc uint64, devices ...string) *node {
	t.Helper()
	n := &node{id: backplane.NodeID{Name: name, Incarnation: inc}, rec: observer.NewRecorder()}
	for _, dn := range devices {
		d := backplane.New(backplane.WithName(dn))
		t.Cleanup(d.Drop)
		n.devs = append(n.devs, d)
		n.rec.Record(backplane.Event{Kind: backplane.EventCreated, Device: d.ID(), Name: dn})
	}
	nc := connect(t, url)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := Publish(ctx, nc, n.id, n.rec, WithInterval(20*time.Millisecond)); err != nil {
			t.Errorf("Publish: %v", err)
		}
	})
	n.stop = func() { cancel(); wg.Wait() }
	t.Cleanup(n.stop)
	return n
}

// clock is the view's clock, moved by the test.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// TestClusterView runs three nodes over one NATS server. The observer of
// node a shows b's and c's devices and a list of nodes; when c stops, its
// devices turn unreachable and it is not up; when c comes back as a new
// incarnation, its new run appears beside the old one.
func TestClusterView(t *testing.T) {
	url := startNATS(t)
	a := backplane.NodeID{Name: "a", Incarnation: 1}
	c0 := &clock{now: time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)}
	view, err := NewView(connect(t, url), a, WithInterval(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	view.mu.Lock()
	view.now = c0.Now
	view.mu.Unlock()
	defer view.Close()
	rec := observer.NewRecorder()
	h := observer.Handler(rec, observer.WithPeers(view))

	get := func() observer.ClusterView {
		t.Helper()
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "http://127.0.0.1/api/cluster", nil))
		var v observer.ClusterView
		if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &v) != nil {
			t.Fatalf("GET /api/cluster: %d %s", w.Code, w.Body)
		}
		return v
	}
	// until polls /api/cluster until ok holds (messages arrive over the
	// network), or fails the test after ten seconds.
	until := func(what string, ok func(observer.ClusterView) bool) observer.ClusterView {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			v := get()
			if ok(v) {
				return v
			}
			if time.Now().After(deadline) {
				t.Fatalf("waiting for %s: %+v", what, v)
			}
			<-tick.C
		}
	}
	device := func(v observer.ClusterView, id string) (observer.DeviceInfo, bool) {
		for _, d := range v.Devices {
			if d.ID == id {
				return d, true
			}
		}
		return observer.DeviceInfo{}, false
	}
	nodeOf := func(v observer.ClusterView, name, inc string) (observer.ClusterNode, bool) {
		for _, n := range v.Nodes {
			if n.Node == name && n.Incarnation == inc {
				return n, true
			}
		}
		return observer.ClusterNode{}, false
	}
	idOn := func(d *backplane.Device, n *node) string {
		return d.ID().String() + "@" + n.id.Name + "/" + strconv.FormatUint(n.id.Incarnation, 16)
	}

	b := startNode(t, url, "b", 0xb1, "orders", "catalog")
	c := startNode(t, url, "c", 0xc1, "cache")
	cache := idOn(c.devs[0], c)
	v := until("b and c up with their devices", func(v observer.ClusterView) bool {
		nb, okb := nodeOf(v, "b", "b1")
		nc, okc := nodeOf(v, "c", "c1")
		d, okd := device(v, cache)
		return okb && okc && nb.Up && nc.Up && nb.Alive == 2 && okd && d.State == "alive" && d.Name == "cache" && d.Node == "c"
	})
	if d, ok := device(v, idOn(b.devs[1], b)); !ok || d.Name != "catalog" || d.Incarnation != "b1" {
		t.Errorf("catalog on b: %+v %v", d, ok)
	}

	// c stops; once three intervals pass without a word, it is down and its
	// devices unreachable. b, still publishing, stays up.
	c.stop()
	c0.Advance(time.Second)
	v = until("c down, b up", func(v observer.ClusterView) bool {
		nb, _ := nodeOf(v, "b", "b1")
		nc, ok := nodeOf(v, "c", "c1")
		return ok && !nc.Up && nb.Up
	})
	if d, ok := device(v, cache); !ok || d.State != "down" || d.Fault == nil || d.Fault.Kind != "unreachable" {
		t.Errorf("cache after c stopped: %+v", d)
	}

	// c comes back as a new incarnation: a new run, beside the old one.
	c2 := startNode(t, url, "c", 0xc2, "cache")
	cache2 := idOn(c2.devs[0], c2)
	until("c's new incarnation", func(v observer.ClusterView) bool {
		n2, ok2 := nodeOf(v, "c", "c2")
		n1, ok1 := nodeOf(v, "c", "c1")
		d, okd := device(v, cache2)
		return ok2 && n2.Up && ok1 && !n1.Up && okd && d.State == "alive"
	})
	// A run not heard from for a minute is forgotten.
	c0.Advance(2 * time.Minute)
	until("the old run forgotten", func(v observer.ClusterView) bool {
		_, ok1 := nodeOf(v, "c", "c1")
		return !ok1
	})
}

// TestForgedNode: a message on one node's subject that names another node
// is dropped, and so is one claiming to be this node.
func TestForgedNode(t *testing.T) {
	url := startNATS(t)
	nc := connect(t, url)
	a := backplane.NodeID{Name: "a", Incarnation: 1}
	view, err := NewView(nc, a)
	if err != nil {
		t.Fatal(err)
	}
	defer view.Close()
	for subject, name := range map[string]string{Subject + "evil": "b", Subject + "a": "a"} {
		b, _ := json.Marshal(message{Name: name, Incarnation: "1", Snapshot: &observer.Snapshot{}})
		if err := nc.Publish(subject, b); err != nil {
			t.Fatal(err)
		}
	}
	// A good message after them: once it is seen, the others were handled.
	b, _ := json.Marshal(message{Name: "ok", Incarnation: "1", Snapshot: &observer.Snapshot{}})
	if err := nc.Publish(Subject+"ok", b); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		ps := view.PeerSnapshots()
		if len(ps) > 0 {
			if len(ps) != 1 || ps[0].Node != "ok" {
				t.Errorf("peers: %+v", ps)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no peer seen")
		}
		<-tick.C // polling: the order of the messages is the synchronisation
	}
}

func TestBadNode(t *testing.T) {
	for _, name := range []string{"", "a.b", "a*", ">", "a b"} {
		if _, err := NewView(&nats.Conn{}, backplane.NodeID{Name: name}); err == nil {
			t.Errorf("NewView with node %q: no error", name)
		}
	}
}
