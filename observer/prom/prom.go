// Package prom exports the totals of an observer.Recorder as Prometheus
// metrics. It is a module of its own so that users of the backplane who do
// not want client_golang never download it.
//
//	rec := observer.NewRecorder()
//	remove := backplane.AddHook(rec.Record)
//	defer remove()
//	prometheus.MustRegister(prom.NewCollector(rec))
//
// The metrics, with the default namespace "backplane":
//
//	backplane_devices_alive                 gauge    devices connected
//	backplane_devices_down                  gauge    disconnected devices the recorder still keeps
//	backplane_links                         gauge    linked pairs of devices
//	backplane_devices_created_total         counter  devices created
//	backplane_disconnects_total{fault=...}  counter  disconnects by fault kind ("clean" for none)
//	backplane_shutdown_requests_total       counter  shutdown requests
//	backplane_child_starts_total            counter  children started by supervisors
//	backplane_child_exits_total             counter  children that ended
//	backplane_restarts_total                counter  children restarted by supervisors
//	backplane_restart_limits_total          counter  supervisors that reached their restart limit
//	backplane_abandoned_total               counter  children abandoned (their goroutine ignored its context)
//	backplane_events_total                  counter  events recorded
//
// Counters count from when the Recorder was made. The supervisor metrics
// move only when supervisor events are fed to the Recorder
// (Recorder.RecordSupervisor).
package prom

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/observer"
)

// Collector is a prometheus.Collector that reads an observer.Recorder's
// Stats at each scrape. It adds nothing to the backplane's hot paths: the
// Recorder counts, the Collector only reads (one short lock per scrape).
//
// Make one with NewCollector; the zero Collector is not usable. It is safe
// for concurrent use.
type Collector struct {
	rec *observer.Recorder

	alive, down, links, created, disconnects, shutdowns *prometheus.Desc
	starts, exits, restarts, limits, abandoned, events  *prometheus.Desc
}

var _ prometheus.Collector = (*Collector)(nil)

// Option configures a Collector made by NewCollector.
type Option interface {
	apply(*config)
}

type config struct {
	namespace string
	labels    prometheus.Labels
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithNamespace sets the metrics' namespace (the name prefix); default
// "backplane".
func WithNamespace(ns string) Option { return optionFunc(func(c *config) { c.namespace = ns }) }

// WithConstLabels adds constant labels to every metric.
func WithConstLabels(l prometheus.Labels) Option {
	return optionFunc(func(c *config) { c.labels = l })
}

// NewCollector returns a Collector for rec. The defaults: namespace
// "backplane", no constant labels.
func NewCollector(rec *observer.Recorder, opts ...Option) *Collector {
	cfg := config{namespace: "backplane"}
	for _, o := range opts {
		o.apply(&cfg)
	}
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(cfg.namespace, "", name), help, labels, cfg.labels)
	}
	return &Collector{
		rec:         rec,
		alive:       d("devices_alive", "Devices connected."),
		down:        d("devices_down", "Disconnected devices the recorder still keeps."),
		links:       d("links", "Linked pairs of devices."),
		created:     d("devices_created_total", "Devices created."),
		disconnects: d("disconnects_total", "Disconnects by fault kind (clean: none).", "fault"),
		shutdowns:   d("shutdown_requests_total", "Shutdown requests."),
		starts:      d("child_starts_total", "Children started by supervisors."),
		exits:       d("child_exits_total", "Children of supervisors that ended."),
		restarts:    d("restarts_total", "Children restarted by supervisors."),
		limits:      d("restart_limits_total", "Supervisors that reached their restart limit."),
		abandoned:   d("abandoned_total", "Children abandoned by supervisors: their goroutine ignored its context."),
		events:      d("events_total", "Events recorded."),
	}
}

// Describe sends the descriptions of every metric.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.alive, c.down, c.links, c.created, c.disconnects, c.shutdowns,
		c.starts, c.exits, c.restarts, c.limits, c.abandoned, c.events} {
		ch <- d
	}
}

// faultKinds are the disconnect kinds always exported, zero or not, so
// that every series exists from the first scrape.
var faultKinds = []string{
	"clean",
	backplane.FaultDrop.String(),
	backplane.FaultError.String(),
	backplane.FaultPanic.String(),
	backplane.FaultCascade.String(),
	backplane.FaultKilled.String(),
	backplane.FaultUnreachable.String(),
}

// Collect reads the recorder's Stats and sends every metric.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	s := c.rec.Stats()
	gauge := func(d *prometheus.Desc, v int) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v))
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge(c.alive, s.Alive)
	gauge(c.down, s.Down)
	gauge(c.links, s.Links)
	counter(c.created, s.Created)
	for _, k := range faultKinds {
		counter(c.disconnects, s.Disconnects[k], k)
	}
	for k, n := range s.Disconnects {
		if !known(k) {
			counter(c.disconnects, n, k)
		}
	}
	counter(c.shutdowns, s.ShutdownRequests)
	counter(c.starts, s.ChildStarts)
	counter(c.exits, s.ChildExits)
	counter(c.restarts, s.Restarts)
	counter(c.limits, s.RestartLimits)
	counter(c.abandoned, s.Abandoned)
	counter(c.events, s.Events)
}

func known(kind string) bool {
	for _, k := range faultKinds {
		if k == kind {
			return true
		}
	}
	return false
}
