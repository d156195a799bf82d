package observer

import (
	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/supervisor"
)

// Hooks returns one backplane.Hook that calls each non-nil hook in turn,
// in order, so several consumers (a Recorder, a Logger, a metrics
// collector) subscribe and unsubscribe together, as one:
//
//	remove := backplane.AddHook(observer.Hooks(rec.Record, logger.Record))
//	defer remove()
//
// It returns nil when no hook is non-nil, and the hook itself when only
// one is. The returned hook allocates nothing per event.
func Hooks(hooks ...backplane.Hook) backplane.Hook {
	return fanOut(hooks)
}

// SupervisorHooks is Hooks for supervisor events: one hook for
// supervisor.WithEventHook that calls each non-nil hook in turn, e.g.
//
//	supervisor.WithEventHook(observer.SupervisorHooks(rec.RecordSupervisor, logger.RecordSupervisor))
func SupervisorHooks(hooks ...func(supervisor.Event)) func(supervisor.Event) {
	return fanOut(hooks)
}

// fanOut returns one hook calling each non-nil hook of hs in order: nil if
// there is none, the hook itself if there is one.
func fanOut[H ~func(E), E any](hooks []H) H {
	hs := make([]H, 0, len(hooks))
	for _, h := range hooks {
		if h != nil {
			hs = append(hs, h)
		}
	}
	switch len(hs) {
	case 0:
		return nil
	case 1:
		return hs[0]
	}
	return func(e E) {
		for _, h := range hs {
			h(e)
		}
	}
}
