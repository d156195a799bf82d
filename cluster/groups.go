package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/backplane-go/backplane"
)

// ErrNotMember reports a Leave of a group that the device is not a member
// of.
var ErrNotMember = errors.New("cluster: not a member of the group")

// GroupEvent tells that a device joined or left a group (WatchGroup).
type GroupEvent struct {
	// Group is the group.
	Group string
	// Member is the device. A device of this node has its local ID;
	// Node.Line gives a Line to any.
	Member backplane.DeviceID
	// Joined is true when the device joined, false when it left (by
	// Leave, by disconnecting, or with its node).
	Joined bool
}

// String describes the event, e.g. "#12@a joined workers".
func (e GroupEvent) String() string {
	if e.Joined {
		return fmt.Sprintf("%v joined %s", e.Member, e.Group)
	}
	return fmt.Sprintf("%v left %s", e.Member, e.Group)
}

// Join makes the local device l a member of group, for the whole cluster
// (Erlang's pg:join): every node lists it in Members. A device may be a
// member of many groups; joining a group it is a member of already does
// nothing, so that one Leave undoes any number of Joins (pg counts them
// instead). The device leaves every group when it disconnects, and when
// its node becomes unreachable from any other node. A group exists while
// it has members.
//
// When Join returns nil, Members on this node lists the device; other
// nodes list it as soon as their copy of the registry follows. A group's
// name follows the rules of a name (RegisterName); Join fails as
// RegisterName for bad input, when the registry cannot be reached
// (ErrNoRegistry) and after Close. Cost: one replicated write.
func (n *Node) Join(ctx context.Context, group string, l backplane.Linkable) error {
	ctx, cancel := registryContext(ctx)
	defer cancel()
	if !validRegistryName(group) {
		return errorf("cluster: join %q: %w: not a group name", group, backplane.ErrInvalid)
	}
	line, err := checkLocal(l)
	if err != nil {
		return errorf("cluster: join %q: %w", group, err)
	}
	kv, err := n.reg.open(ctx)
	if err != nil {
		return errorf("cluster: join %q: %w", group, err)
	}
	if err := n.holdLocal(line); err != nil {
		return errorf("cluster: join %q: %w", group, err)
	}
	dev := n.wireID(line.ID())
	rev, err := kv.Create(ctx, memberKey(group, dev), formatDevice(dev))
	switch {
	case errors.Is(err, jetstream.ErrKeyExists):
		return nil // a member already
	case err != nil:
		return errorf("cluster: join %q: %w", group, registryErr(ctx, err))
	}
	n.reg.waitRev(ctx, rev)
	return nil
}

// Leave removes the local device l from group (Erlang's pg:leave). It
// fails with ErrNotMember if the device is not a member as this node's
// copy of the registry knows, and otherwise as Join.
func (n *Node) Leave(ctx context.Context, group string, l backplane.Linkable) error {
	ctx, cancel := registryContext(ctx)
	defer cancel()
	if !validRegistryName(group) {
		return errorf("cluster: leave %q: %w: not a group name", group, backplane.ErrInvalid)
	}
	line, err := checkLocal(l)
	if err != nil {
		return errorf("cluster: leave %q: %w", group, err)
	}
	kv, err := n.reg.open(ctx)
	if err != nil {
		return errorf("cluster: leave %q: %w", group, err)
	}
	key := memberKey(group, n.wireID(line.ID()))
	n.reg.mu.Lock()
	e, ok := n.reg.groups[group][key]
	n.reg.mu.Unlock()
	if !ok {
		return errorf("cluster: leave %q: %v: %w", group, line.ID(), ErrNotMember)
	}
	err = free(ctx, kv, key, e.rev)
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return errorf("cluster: leave %q: %v: %w", group, line.ID(), ErrNotMember) // left meanwhile
	}
	if err != nil {
		return errorf("cluster: leave %q: %w", group, registryErr(ctx, err))
	}
	n.reg.waitFree(ctx, key, e.rev)
	return nil
}

// Members returns Lines to the members of group across the cluster, as
// this node's copy of the registry knows them, ordered by ID (Erlang's
// pg:get_members); none if the group has no members. A member of another
// node is reached through a proxy (Node.Line), which fires with
// FaultUnreachable if its node is gone. It blocks only to bind the
// registry, as WhereIs, and fails as WhereIs. Cost: a Line per member; use
// Groups for the IDs alone.
func (n *Node) Members(ctx context.Context, group string) ([]backplane.Line, error) {
	ctx, cancel := registryContext(ctx)
	defer cancel()
	if !validRegistryName(group) {
		return nil, errorf("cluster: members of %q: %w: not a group name", group, backplane.ErrInvalid)
	}
	if _, err := n.reg.open(ctx); err != nil {
		return nil, errorf("cluster: members of %q: %w", group, err)
	}
	ids := n.memberIDs(group)
	out := make([]backplane.Line, 0, len(ids))
	for _, id := range ids {
		l, err := n.Line(id)
		if err != nil {
			if errors.Is(err, ErrClosed) {
				return nil, errorf("cluster: members of %q: %w", group, err)
			}
			continue // a local member that disconnected meanwhile
		}
		out = append(out, l)
	}
	return out, nil
}

// memberIDs returns the IDs of group's members, ordered.
func (n *Node) memberIDs(group string) []backplane.DeviceID {
	n.reg.mu.Lock()
	m := n.reg.groups[group]
	ids := make([]backplane.DeviceID, 0, len(m))
	for _, e := range m {
		ids = append(ids, n.deviceID(e.dev))
	}
	n.reg.mu.Unlock()
	slices.SortFunc(ids, compareIDs)
	return ids
}

// compareIDs orders IDs by node name, incarnation, then sequence number.
func compareIDs(a, b backplane.DeviceID) int {
	if c := strings.Compare(a.Node().Name, b.Node().Name); c != 0 {
		return c
	}
	switch an, bn := a.Node().Incarnation, b.Node().Incarnation; {
	case an < bn:
		return -1
	case an > bn:
		return 1
	}
	switch {
	case a.Seq() < b.Seq():
		return -1
	case a.Seq() > b.Seq():
		return 1
	}
	return 0
}

// Groups returns every group that has members, with the IDs of its
// members ordered as in Members, as this node's copy of the registry holds
// them: nodes agree on it once the registry's updates have reached them
// all. It blocks only to bind the registry, as WhereIs.
func (n *Node) Groups(ctx context.Context) (map[string][]backplane.DeviceID, error) {
	ctx, cancel := registryContext(ctx)
	defer cancel()
	if _, err := n.reg.open(ctx); err != nil {
		return nil, errorf("cluster: groups: %w", err)
	}
	n.reg.mu.Lock()
	groups := make([]string, 0, len(n.reg.groups))
	for g := range n.reg.groups {
		groups = append(groups, g)
	}
	n.reg.mu.Unlock()
	out := make(map[string][]backplane.DeviceID, len(groups))
	for _, g := range groups {
		if ids := n.memberIDs(g); len(ids) > 0 {
			out[g] = ids
		}
	}
	return out, nil
}

// WatchGroup calls fn with a GroupEvent (Joined) for every member of
// group now, then at every join and leave, in order, on a goroutine of
// the node's, as this node's copy of the registry follows the registry.
// It is stopped as WatchName's watch, and fails as Members, and with
// backplane.ErrInvalid for a nil fn.
func (n *Node) WatchGroup(ctx context.Context, group string, fn func(GroupEvent)) (stop func(), err error) {
	return watchRegistry(ctx, n, "watch group", "group name", group, fn,
		func(r *registry) map[string]map[*callbacks[GroupEvent]]struct{} { return r.groupW },
		func(r *registry) []GroupEvent {
			var ids []backplane.DeviceID
			for _, e := range r.groups[group] {
				ids = append(ids, n.deviceID(e.dev))
			}
			slices.SortFunc(ids, compareIDs)
			evs := make([]GroupEvent, len(ids))
			for i, id := range ids {
				evs[i] = GroupEvent{Group: group, Member: id, Joined: true}
			}
			return evs
		})
}
