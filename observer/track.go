package observer

import (
	"errors"

	"github.com/backplane-go/backplane"
)

// Track makes the recorder hold a Line to each device, so that the page
// can request its shutdown (see WithShutdown). Devices created while the
// recorder is installed are tracked from their EventCreated already; Track
// is for those made before. It takes a *backplane.Device, a
// backplane.Line, or anything else with a Line, such as a
// *supervisor.Supervisor once it is served. A value with a Name method
// also gives the device's name. Devices that are already down are ignored; the Line is
// dropped when the device disconnects, and a Line never keeps a device
// from being dropped.
func (r *Recorder) Track(devices ...backplane.Linkable) {
	for _, x := range devices {
		if x == nil {
			continue
		}
		l := x.Line()
		if l.IsZero() || !l.Alive() {
			continue
		}
		name := ""
		if n, ok := x.(interface{ Name() string }); ok {
			name = n.Name()
		}
		r.mu.Lock()
		r.initLocked()
		d := r.devLocked(l.ID(), r.cfg.now().UnixNano())
		if d != nil && !d.down {
			d.line = l
			if d.name == "" {
				d.name = name
			}
		}
		r.mu.Unlock()
	}
}

// Errors of RequestShutdown.
var (
	// ErrUnknownDevice: the recorder has no such device (never seen, or
	// forgotten).
	ErrUnknownDevice = errors.New("observer: unknown device")
	// ErrNotTracked: the recorder holds no Line to the device (see Track).
	ErrNotTracked = errors.New("observer: device not tracked; no line to it")
	// ErrDown: the device has already disconnected.
	ErrDown = errors.New("observer: device is down")
)

// RequestShutdown asks a tracked device to shut down, through
// backplane.Line.Shutdown on behalf of the zero DeviceID (outside any
// device). It does not wait for the device to stop.
func (r *Recorder) RequestShutdown(id backplane.DeviceID) error {
	r.mu.Lock()
	r.initLocked()
	d := r.devs[id]
	var l backplane.Line
	if d != nil {
		l = d.line
	}
	r.mu.Unlock()
	switch {
	case d == nil:
		return ErrUnknownDevice
	case d.down:
		return ErrDown
	case l.IsZero():
		return ErrNotTracked
	}
	if err := l.Shutdown(backplane.DeviceID{}); err != nil {
		if errors.Is(err, backplane.ErrLinkDown) {
			return ErrDown
		}
		return err
	}
	return nil
}
