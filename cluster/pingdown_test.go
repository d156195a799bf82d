package cluster_test

import (
	"errors"
	"syscall"
	"testing"

	"github.com/backplane-go/backplane/cluster"
)

// A Ping in flight when the session ends fails with ErrUnreachable then,
// not when its context ends: its request or answer may have been lost with
// the session. (Found by TestChaos: a ping sent just before a session
// ended waited for its whole context.)
func TestProcessPingSessionEnds(t *testing.T) {
	p := procNode(t)
	c := spawn(t, "c1", p.ClientURL(), p.Secret())
	c.do("dev x")
	lx := lookup(t, p, "c1", "x")
	ping(t, p, lx)
	stop(t, c.cmd)
	defer func() { _ = c.cmd.Process.Signal(syscall.SIGCONT) }()
	ctx := ctxFor(t)
	err := p.Ping(ctx, lx.ID().Node())
	if !errors.Is(err, cluster.ErrUnreachable) || ctx.Err() != nil {
		t.Fatalf("ping of a stopped node: %v (context: %v), want ErrUnreachable when the session ends", err, ctx.Err())
	}
}
