package cluster_test

import (
	"syscall"
	"testing"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/cluster"
)

// A node process that is SIGKILLed loses its names and its members: the
// node that sees it unreachable frees them.
func TestProcessNamesKill(t *testing.T) {
	p := procNode(t)
	q := spawn(t, "q", p.ClientURL(), p.Secret())
	q.do("gname q-name")
	q.do("gjoin q-group")
	q.do("gjoin q-group")
	ctx := ctxFor(t)
	l, err := waitFor(t, p, "q-name")
	if err != nil {
		t.Fatal(err)
	}
	if l.ID().Node().Name != "q" {
		t.Fatalf("q-name held by %v", l.ID())
	}
	mine := backplane.New()
	defer mine.Drop()
	if err := p.Join(ctx, "q-group", mine); err != nil {
		t.Fatal(err)
	}
	waitCount(t, p, "q-group", 3)
	if err := q.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitHolder(t, p, "q-name", backplane.DeviceID{})
	waitMembers(t, p, "q-group", []backplane.DeviceID{mine.ID()})
}

// waitFor waits until n's copy of the registry knows name, and returns a
// Line to its holder.
func waitFor(t *testing.T, n *cluster.Node, name string) (backplane.Line, error) {
	t.Helper()
	found := make(chan struct{}, 1)
	stop, err := n.WatchName(ctxFor(t), name, func(e cluster.NameEvent) {
		if !e.Holder.IsZero() {
			select {
			case found <- struct{}{}:
			default:
			}
		}
	})
	if err != nil {
		return backplane.Line{}, err
	}
	defer stop()
	select {
	case <-found:
	case <-ctxFor(t).Done():
		t.Fatalf("%s never registered", name)
	}
	return n.WhereIs(ctxFor(t), name)
}

// waitCount waits until n's copy of the registry lists k members of group.
func waitCount(t *testing.T, n *cluster.Node, group string, k int) {
	t.Helper()
	counts := make(chan int, 1024)
	have := 0
	stop, err := n.WatchGroup(ctxFor(t), group, func(e cluster.GroupEvent) {
		if e.Joined {
			have++
		} else {
			have--
		}
		counts <- have
	})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	ctx := ctxFor(t)
	for {
		select {
		case c := <-counts:
			if c == k {
				return
			}
		case <-ctx.Done():
			t.Fatalf("%v: %s never had %d members", n.ID(), group, k)
		}
	}
}
