package demo

import (
	"context"
	"strconv"

	"github.com/backplane-go/backplane/supervisor"
)

// scaler is the autoscaler: a worker that also fills the pool when it
// starts and resizes it when told to.
type scaler struct {
	worker
}

// Start fills the pool up to Config.Pool connections. The api supervisor
// waits for it, so the pool is full before the next child starts.
func (sc *scaler) Start(ctx context.Context) error {
	sc.svc.fillPool(ctx)
	return nil
}

// fillPool adds connections until the pool has Config.Pool of them.
func (s *Service) fillPool(ctx context.Context) {
	n, err := s.tree.pool.Count(ctx)
	if err != nil {
		return // the pool is restarting: we will be restarted after it
	}
	for range s.cfg.Pool - n.Active {
		if s.addConn(ctx) != nil {
			return
		}
	}
}

// addConn adds one connection to the pool.
func (s *Service) addConn(ctx context.Context) error {
	id := connPrefix + strconv.FormatUint(s.conns.Add(1), 10)
	_, err := s.tree.pool.AddChild(ctx, supervisor.ChildSpec{
		ID:       id,
		Service:  &worker{svc: s, name: id, deps: []string{"sessions"}},
		Restart:  supervisor.Transient,
		Shutdown: s.cfg.Grace,
	})
	return err
}

// resize grows the pool by one connection or shrinks it by one, within
// 1..Config.MaxPool, stopping the oldest connection to shrink it.
func (s *Service) resize(ctx context.Context, delta int) {
	children, err := s.tree.pool.Children(ctx)
	if err != nil {
		return
	}
	var running []string
	for _, c := range children {
		if c.State == supervisor.ChildRunning {
			running = append(running, c.ID)
		}
	}
	switch {
	case delta > 0 && len(running) < s.cfg.MaxPool:
		_ = s.addConn(ctx)
	case delta < 0 && len(running) > 1:
		_ = s.tree.pool.TerminateChild(ctx, running[0])
	default:
		return
	}
	s.mu.Lock()
	s.resizes++
	s.mu.Unlock()
}
