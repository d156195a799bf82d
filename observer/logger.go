package observer

import (
	"context"
	"log/slog"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/supervisor"
)

// Logger writes backplane and supervisor events to a log/slog Logger, one
// record per event, with structured attributes:
//
//	event        the event kind ("disconnected", "child restarted", ...)
//	device       the device, e.g. "#42" (the child, for supervisor events)
//	name         its name, when known
//	peer, mode   the other device and the mode of a link; the requester of a shutdown
//	supervisor   the supervisor, for supervisor events
//	fault        a group: kind, error, and for a panic, panic and stack;
//	             for a cascade, from (the device depended on), root (the
//	             device that started the chain), root_kind and root_error
//
// Levels: created, linked and unlinked are Debug; a clean disconnect, a
// shutdown request and a child start or clean exit are Info; a faulted
// disconnect, a child exit with a fault and a restart are Warn; a panic, a
// reached restart limit, a failed start and an abandoned child are Error. A record whose
// level the slog handler does not enable costs one Enabled call.
//
// The zero Logger is not usable; make one with NewLogger. A Logger is
// safe for concurrent use if its slog handler is (the standard ones are).
// Record is called on the backplane's hot paths: give it a fast handler,
// or a level that leaves out Debug.
type Logger struct {
	l     *slog.Logger
	names *Recorder
}

// LoggerOption configures a Logger made by NewLogger.
type LoggerOption interface {
	applyLogger(*Logger)
}

type loggerOptionFunc func(*Logger)

func (f loggerOptionFunc) applyLogger(l *Logger) { f(l) }

// WithNames makes the Logger look device names up in rec, so that every
// record, not only "created", carries the device's name. Install rec's
// hook before the Logger's (Hooks(rec.Record, logger.Record)) so that a
// device is known by the time it is logged.
func WithNames(rec *Recorder) LoggerOption {
	return loggerOptionFunc(func(l *Logger) { l.names = rec })
}

// NewLogger returns a Logger writing to l (nil: slog.Default()).
func NewLogger(l *slog.Logger, opts ...LoggerOption) *Logger {
	if l == nil {
		l = slog.Default()
	}
	lg := &Logger{l: l}
	for _, o := range opts {
		o.applyLogger(lg)
	}
	return lg
}

// Record logs e. Its signature is backplane.Hook's.
func (lg *Logger) Record(e backplane.Event) {
	level := slog.LevelDebug
	switch e.Kind {
	case backplane.EventDisconnected:
		level = faultLevel(e.Fault, slog.LevelInfo)
	case backplane.EventShutdownRequested:
		level = slog.LevelInfo
	}
	ctx := context.Background()
	if !lg.l.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, 6)
	attrs = append(attrs, slog.String("event", e.Kind.String()), slog.String("device", e.Device.String()))
	name := e.Name
	if name == "" {
		name = lg.name(e.Device)
	}
	if name != "" {
		attrs = append(attrs, slog.String("name", name))
	}
	switch e.Kind {
	case backplane.EventLinked, backplane.EventUnlinked:
		attrs = append(attrs, slog.String("peer", e.Peer.String()), slog.String("mode", e.Mode.String()))
	case backplane.EventShutdownRequested:
		attrs = append(attrs, slog.String("peer", e.Peer.String()))
	}
	if e.Fault != nil {
		attrs = append(attrs, faultAttr(e.Fault))
	}
	lg.l.LogAttrs(ctx, level, "backplane "+e.Kind.String(), attrs...)
}

// RecordSupervisor logs e. Install it with supervisor.WithEventHook, or
// through SupervisorHooks beside a Recorder.
func (lg *Logger) RecordSupervisor(e supervisor.Event) {
	if e == nil {
		return
	}
	f := fieldsOf(e)
	level := slog.LevelInfo
	switch f.typ {
	case supervisor.EventChildExited:
		level = faultLevel(f.fault, slog.LevelInfo)
	case supervisor.EventChildRestarted:
		level = slog.LevelWarn
	case supervisor.EventRestartLimit, supervisor.EventChildAbandoned, supervisor.EventChildStartFailed:
		level = slog.LevelError
	}
	ctx := context.Background()
	if !lg.l.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, 7)
	attrs = append(attrs, slog.String("event", f.typ.String()))
	if !f.child.IsZero() {
		attrs = append(attrs, slog.String("device", f.child.String()))
	}
	name := f.childName
	if name == "" {
		name = lg.name(f.child)
	}
	if name != "" {
		attrs = append(attrs, slog.String("name", name))
	}
	if f.gen > 0 {
		attrs = append(attrs, slog.Uint64("generation", f.gen))
	}
	sup := f.sup.String()
	sname := f.supName
	if sname == "" {
		sname = lg.name(f.sup)
	}
	if sname != "" {
		sup += " " + sname
	}
	attrs = append(attrs, slog.String("supervisor", sup))
	if f.fault != nil {
		attrs = append(attrs, faultAttr(f.fault))
	}
	if f.err != nil {
		attrs = append(attrs, slog.String("error", f.err.Error()))
	}
	lg.l.LogAttrs(ctx, level, "supervisor "+f.typ.String(), attrs...)
}

func (lg *Logger) name(id backplane.DeviceID) string {
	if lg.names == nil || id.IsZero() {
		return ""
	}
	return lg.names.name(id)
}

// name returns the recorded name of id, or "".
func (r *Recorder) name(id backplane.DeviceID) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if d := r.devs[id]; d != nil {
		return d.name
	}
	return ""
}

func faultLevel(f *backplane.Fault, clean slog.Level) slog.Level {
	switch {
	case f == nil:
		return clean
	case f.Kind == backplane.FaultPanic:
		return slog.LevelError
	}
	return slog.LevelWarn
}

// faultAttr describes f as a group. A cascade names its root but does not
// repeat the root's stack, which the root's own record carries.
func faultAttr(f *backplane.Fault) slog.Attr {
	as := make([]any, 0, 8)
	as = append(as, slog.String("kind", f.Kind.String()), slog.String("error", f.Error()))
	switch f.Kind {
	case backplane.FaultPanic:
		as = append(as, slog.Any("panic", f.Value), slog.String("stack", string(f.Stack)))
	case backplane.FaultCascade:
		as = append(as, slog.String("from", f.Device.String()))
		if rd, rf := f.Root(); rf != nil && rf != f {
			as = append(as, slog.String("root", rd.String()), slog.String("root_kind", rf.Kind.String()),
				slog.String("root_error", rf.Error()))
		}
	}
	return slog.Group("fault", as...)
}
