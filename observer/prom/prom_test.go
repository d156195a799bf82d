package prom_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/observer"
	"github.com/backplane-go/backplane/observer/prom"
	"github.com/backplane-go/backplane/supervisor"
)

// feed installs rec as the hook, makes three devices, links two of them
// and takes one down in a cascade, then restores the previous hook.
func feed(t *testing.T, rec *observer.Recorder) (cleanup func()) {
	t.Helper()
	remove := backplane.AddHook(rec.Record)
	defer remove()
	a, b, c := backplane.New(), backplane.New(), backplane.New()
	_ = a.Link(b, backplane.Peer)
	_ = b.Link(c, backplane.Monitor)
	_ = c.Disconnect(errors.New("boom"))
	_ = a.Line().Shutdown(backplane.DeviceID{})
	rec.RecordSupervisor(supervisor.ChildRestarted{Source: supervisor.Source{SupervisorID: a.ID()}, Instance: supervisor.Instance{Device: b.ID()}})
	rec.RecordSupervisor(supervisor.ChildAbandoned{Source: supervisor.Source{SupervisorID: a.ID()}, Instance: supervisor.Instance{Device: b.ID()}})
	return func() {
		a.Drop()
		b.Drop()
	}
}

func TestCollector(t *testing.T) {
	rec := observer.NewRecorder()
	defer feed(t, rec)()
	c := prom.NewCollector(rec)

	want := `
# HELP backplane_abandoned_total Children abandoned by supervisors: their goroutine ignored its context.
# TYPE backplane_abandoned_total counter
backplane_abandoned_total 1
# HELP backplane_devices_alive Devices connected.
# TYPE backplane_devices_alive gauge
backplane_devices_alive 2
# HELP backplane_disconnects_total Disconnects by fault kind (clean: none).
# TYPE backplane_disconnects_total counter
backplane_disconnects_total{fault="cascade"} 0
backplane_disconnects_total{fault="clean"} 0
backplane_disconnects_total{fault="drop"} 0
backplane_disconnects_total{fault="error"} 1
backplane_disconnects_total{fault="killed"} 0
backplane_disconnects_total{fault="panic"} 0
backplane_disconnects_total{fault="unreachable"} 0
# HELP backplane_links Linked pairs of devices.
# TYPE backplane_links gauge
backplane_links 1
# HELP backplane_restarts_total Children restarted by supervisors.
# TYPE backplane_restarts_total counter
backplane_restarts_total 1
# HELP backplane_shutdown_requests_total Shutdown requests.
# TYPE backplane_shutdown_requests_total counter
backplane_shutdown_requests_total 1
`
	names := []string{"backplane_abandoned_total", "backplane_devices_alive", "backplane_disconnects_total",
		"backplane_links", "backplane_restarts_total", "backplane_shutdown_requests_total"}
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(c); n != 18 {
		t.Errorf("%d metrics, want 18", n)
	}
	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

func TestCollectorRegistry(t *testing.T) {
	rec := observer.NewRecorder()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(prom.NewCollector(rec, prom.WithNamespace("app"), prom.WithConstLabels(prometheus.Labels{"node": "a"})))
	defer feed(t, rec)()
	want := `
# HELP app_devices_created_total Devices created.
# TYPE app_devices_created_total counter
app_devices_created_total{node="a"} 3
# HELP app_devices_down Disconnected devices the recorder still keeps.
# TYPE app_devices_down gauge
app_devices_down{node="a"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "app_devices_created_total", "app_devices_down"); err != nil {
		t.Error(err)
	}
	// A second collector for the same names is refused by the registry.
	if err := reg.Register(prom.NewCollector(rec, prom.WithNamespace("app"), prom.WithConstLabels(prometheus.Labels{"node": "a"}))); err == nil {
		t.Error("registered the same metrics twice")
	}
}
