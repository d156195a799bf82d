package prom_test

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/observer"
	"github.com/backplane-go/backplane/observer/prom"
)

func ExampleNewCollector() {
	rec := observer.NewRecorder()
	remove := backplane.AddHook(rec.Record)
	defer remove()

	reg := prometheus.NewRegistry()
	reg.MustRegister(prom.NewCollector(rec))
	// Serve reg with promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).

	a, b := backplane.New(), backplane.New()
	defer a.Drop()
	_ = a.Link(b, backplane.Peer)
	b.Drop()

	families, _ := reg.Gather()
	for _, f := range families {
		for _, m := range f.GetMetric() {
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
			if v == 0 {
				continue
			}
			fmt.Print(f.GetName())
			for _, l := range m.GetLabel() {
				fmt.Printf("{%s=%q}", l.GetName(), l.GetValue())
			}
			fmt.Println("", v)
		}
	}
	// Output:
	// backplane_devices_alive 1
	// backplane_devices_created_total 2
	// backplane_devices_down 1
	// backplane_disconnects_total{fault="drop"} 1
	// backplane_events_total 4
}
