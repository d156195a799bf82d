package cluster

import (
	"context"
	"errors"
	"slices"
	"sync"
)

// ErrNoNode reports that a Placement found no node to start a remote child
// on (see RemoteChild): it had no candidates, or none could be used. A
// start that fails with it is a failed start for the supervisor, as any
// other.
var ErrNoNode = errors.New("cluster: no node to place the child on")

// Placement chooses the node that a remote child is started on (see
// RemoteChild). It is called before every start and restart of the child,
// on the supervisor's behalf, with the node that starts the child and a
// context that ends at RemoteSpec.StartTimeout; it must return by then.
// It returns a node name, this node's own included (the child then runs
// here). An error, or an empty name, makes the start fail; a Placement
// that finds no node should return an error wrapping ErrNoNode.
//
// A Placement may be shared by several children and supervisors, and so
// called concurrently: the ones of this package are safe for that.
type Placement func(ctx context.Context, n *Node) (string, error)

// Fixed places every start on the node called node, whether it is up or
// not: while it is down, the starts fail (and count against the
// supervisor's intensity), which makes the supervisor give up unless the
// node comes back soon. Use it for a service that must run on one machine.
func Fixed(node string) Placement {
	return func(context.Context, *Node) (string, error) { return node, nil }
}

// RoundRobin places each start on the next of nodes in turn, skipping the
// nodes known to be down: it picks the first, from the one after the last
// it chose, that is not known down to the node that asks, which is a node
// whose last session with it ended and that it has not heard from since.
// A node lost is so skipped by the restart that follows its loss, since
// its session has ended by then; a node never heard from is tried, and its
// start fails if it does not answer. If every node is known down, it
// picks the next in turn anyway. With no nodes, it fails with ErrNoNode.
// It is safe for concurrent use; children that share one RoundRobin share
// its turn.
func RoundRobin(nodes ...string) Placement {
	nodes = append([]string(nil), nodes...)
	var (
		mu   sync.Mutex
		next int
	)
	return func(_ context.Context, n *Node) (string, error) {
		if len(nodes) == 0 {
			return "", errorf("cluster: round robin: %w: no nodes given", ErrNoNode)
		}
		mu.Lock()
		defer mu.Unlock()
		return n.inTurn(nodes, &next), nil
	}
}

// inTurn picks from nodes (not empty) as RoundRobin does, from *next on,
// and moves *next past the pick.
func (n *Node) inTurn(nodes []string, next *int) string {
	pick := *next % len(nodes)
	for i := range nodes {
		j := (*next + i) % len(nodes)
		if !n.knownDown(nodes[j]) {
			pick = j
			break
		}
	}
	*next = pick + 1
	return nodes[pick]
}

// InGroup places each start on a node that has a member in group (Join),
// in turn as RoundRobin does, over those nodes in name order: the group
// says which nodes offer the work, and a node joins or leaves the
// placement as its members do. A node lost leaves the group with its
// members (see Join), so the restart that follows its loss goes to another
// member's node once this node's copy of the registry knows it, and is
// passed by as a node known down before that. With no members (or no
// registry: ErrNoRegistry) the start fails, wrapping ErrNoNode. It is safe
// for concurrent use.
func InGroup(group string) Placement {
	var (
		mu   sync.Mutex
		next int
	)
	return func(ctx context.Context, n *Node) (string, error) {
		groups, err := n.Groups(ctx)
		if err != nil {
			return "", errorf("cluster: in group %q: %w: %w", group, ErrNoNode, err)
		}
		var nodes []string
		for _, id := range groups[group] {
			name := id.Node().Name
			if id.Node().IsZero() {
				name = n.id.Name // a device of this node has its local ID
			}
			if !slices.Contains(nodes, name) {
				nodes = append(nodes, name)
			}
		}
		if len(nodes) == 0 {
			return "", errorf("cluster: in group %q: %w: the group has no members", group, ErrNoNode)
		}
		slices.Sort(nodes)
		mu.Lock()
		defer mu.Unlock()
		return n.inTurn(nodes, &next), nil
	}
}

// Load returns a load figure of node, as seen from n: the lower, the
// better a place for one more child. LeastLoaded compares them. It is
// called with a start's context, and may be called concurrently for the
// starts of several children.
type Load func(ctx context.Context, n *Node, node string) (float64, error)

// PlacedChildren is the Load of the remote children that n itself has
// placed on node and that still run there (RemoteChild): it needs no
// round trip, but does not count what other nodes placed there, nor
// anything else that runs there. For a cluster-wide figure, give
// LeastLoaded a Load of your own, for example a Lookup of a device that
// each node registers and a task kind that reports its load.
func PlacedChildren(_ context.Context, n *Node, node string) (float64, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return float64(n.placed[node]), nil
}

// LeastLoaded places each start on the node of nodes with the lowest load,
// the first in the list among equals. It considers only the nodes not
// known down (as RoundRobin), or all of them if all are, and skips the
// nodes whose load fails; if every load fails, or nodes is empty, it fails
// with ErrNoNode (wrapping the loads' errors). It calls load once per
// node considered, one after the other, each with the start's context.
func LeastLoaded(load Load, nodes ...string) Placement {
	nodes = append([]string(nil), nodes...)
	return func(ctx context.Context, n *Node) (string, error) {
		if load == nil {
			return "", errorf("cluster: least loaded: %w: nil Load", ErrNoNode)
		}
		cands := make([]string, 0, len(nodes))
		for _, node := range nodes {
			if !n.knownDown(node) {
				cands = append(cands, node)
			}
		}
		if len(cands) == 0 {
			cands = nodes
		}
		best, bestLoad := "", 0.0
		var errs []error
		for _, node := range cands {
			l, err := load(ctx, n, node)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if best == "" || l < bestLoad {
				best, bestLoad = node, l
			}
		}
		switch {
		case best != "":
			return best, nil
		case len(errs) == 0:
			return "", errorf("cluster: least loaded: %w: no nodes given", ErrNoNode)
		}
		return "", errorf("cluster: least loaded: %w: %w", ErrNoNode, errors.Join(errs...))
	}
}

// knownDown reports whether the last session with the node called name
// ended, and it has not been heard from since.
func (n *Node) knownDown(name string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.gone[name]
}

// addPlaced counts a remote child started on node (delta 1) or ended there
// (-1), for PlacedChildren.
func (n *Node) addPlaced(node string, delta int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.placed[node] += delta; n.placed[node] <= 0 {
		delete(n.placed, node)
	}
}
