package cluster

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/internal/bridge"
)

var (
	// ErrNoRegistry reports that the cluster-wide names and groups cannot
	// be used now: JetStream is not enabled on the NATS server the node
	// uses (an external server must enable it), it is not ready (a routed
	// cluster has a single server, or is still electing its leader), or
	// the registry's bucket has no quorum (this node is on the minority
	// side of a partition). The error also wraps the cause: ctx's, or
	// JetStream's.
	ErrNoRegistry = errors.New("cluster: names and groups unavailable")

	// ErrNameTaken reports a RegisterName of a name that a device holds
	// already, the same device included; the error is a *NameTakenError
	// that names the holder. It is also the error of an UnregisterName of
	// a name held by a device of another node.
	ErrNameTaken = errors.New("cluster: name taken")
)

// NameTakenError says which device holds the name that a RegisterName
// could not take.
type NameTakenError struct {
	Name string
	// Holder is the device that holds the name, as this node's copy of
	// the registry knows it: zero if the holder let go of the name in the
	// meantime.
	Holder backplane.DeviceID
}

// Error describes the failure.
func (e *NameTakenError) Error() string {
	return fmt.Sprintf("cluster: name %q taken by %v", e.Name, e.Holder)
}

// Unwrap returns ErrNameTaken.
func (e *NameTakenError) Unwrap() error { return ErrNameTaken }

// NameEvent tells that a cluster-wide name changed holder (WatchName).
type NameEvent struct {
	// Name is the name.
	Name string
	// Holder is the device that holds the name now, zero if none: the
	// name is free. A device of this node has its local ID; Node.Line
	// gives a Line to any.
	Holder backplane.DeviceID
}

// String describes the event, e.g. "db held by #12@a" or "db free".
func (e NameEvent) String() string {
	if e.Holder.IsZero() {
		return e.Name + " free"
	}
	return fmt.Sprintf("%s held by %v", e.Name, e.Holder)
}

// checkLocal checks the device given to RegisterName or Join: a device of
// this process, not a proxy.
func checkLocal(l backplane.Linkable) (backplane.Line, error) {
	if l == nil {
		return backplane.Line{}, fmt.Errorf("%w: no device", backplane.ErrInvalid)
	}
	line := l.Line()
	switch {
	case line.IsZero():
		return backplane.Line{}, fmt.Errorf("%w: no device", backplane.ErrInvalid)
	case bridge.IsProxy(line):
		return backplane.Line{}, fmt.Errorf("%w: %v is a device of another node", backplane.ErrInvalid, line.ID())
	}
	return line, nil
}

// holdLocal makes l's device known to other nodes and freed from the
// registry when it disconnects.
func (n *Node) holdLocal(l backplane.Line) error {
	if err := n.export(l); err != nil {
		if errors.Is(err, ErrClosed) {
			return err
		}
		return fmt.Errorf("%v: %w", l.ID(), err)
	}
	return n.reg.hold(l)
}

// registryErr wraps err, a failed write to the registry, for ctx.
func registryErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return errorf("cluster: %w: %w", ErrNoRegistry, context.Cause(ctx))
	}
	return errorf("cluster: %w: %w", ErrNoRegistry, err)
}

// RegisterName gives name to the local device l for the whole cluster
// (Erlang's global:register_name): the first registration of a name wins,
// on whichever node it is made, and any other fails with a
// *NameTakenError (ErrNameTaken) naming the holder, until the name is
// freed. It is freed when the device disconnects, when its node becomes
// unreachable from any other node (the one that sees it frees the name),
// or by UnregisterName. When RegisterName returns nil, WhereIs on this node
// finds the device; other nodes find it as soon as their copy of the
// registry follows, normally within a round trip.
//
// A name is 1 to 255 bytes of ASCII letters, digits, '.', '_' and '-',
// neither beginning nor ending with '.', without "..": others fail with
// backplane.ErrInvalid, as do a nil Linkable and a device of another node
// (a proxy). A disconnected device fails with backplane.ErrLinkDown.
// RegisterName blocks until the registry answers: the first call on a node
// binds the registry, creating it if needed (see the package doc). It
// fails with ErrNoRegistry (beside ctx's cause if ctx ended) when the
// registry cannot be reached or has no quorum, and with ErrClosed after
// Close. Cost: one replicated write.
func (n *Node) RegisterName(ctx context.Context, name string, l backplane.Linkable) error {
	ctx, cancel := registryContext(ctx)
	defer cancel()
	if !validRegistryName(name) {
		return errorf("cluster: register name %q: %w: not a name", name, backplane.ErrInvalid)
	}
	line, err := checkLocal(l)
	if err != nil {
		return errorf("cluster: register name %q: %w", name, err)
	}
	kv, err := n.reg.open(ctx)
	if err != nil {
		return errorf("cluster: register name %q: %w", name, err)
	}
	if err := n.holdLocal(line); err != nil {
		return errorf("cluster: register name %q: %w", name, err)
	}
	dev := n.wireID(line.ID())
	rev, err := kv.Create(ctx, nameKeyPrefix+name, formatDevice(dev))
	if errors.Is(err, jetstream.ErrKeyExists) {
		return n.taken(ctx, kv, name)
	}
	if err != nil {
		return errorf("cluster: register name %q: %w", name, registryErr(ctx, err))
	}
	n.reg.waitRev(ctx, rev)
	return nil
}

// taken returns the NameTakenError of name.
func (n *Node) taken(ctx context.Context, kv jetstream.KeyValue, name string) error {
	e := &NameTakenError{Name: name}
	if ent, err := kv.Get(ctx, nameKeyPrefix+name); err == nil {
		if d, ok := parseDevice(ent.Value()); ok {
			e.Holder = n.deviceID(d)
		}
	}
	return e
}

// UnregisterName frees name, which a device of this node holds (Erlang's
// global:unregister_name). It fails with ErrNotFound if no device holds
// the name, with a *NameTakenError (ErrNameTaken) if a device of another
// node does, and otherwise as RegisterName.
func (n *Node) UnregisterName(ctx context.Context, name string) error {
	ctx, cancel := registryContext(ctx)
	defer cancel()
	if !validRegistryName(name) {
		return errorf("cluster: unregister name %q: %w: not a name", name, backplane.ErrInvalid)
	}
	kv, err := n.reg.open(ctx)
	if err != nil {
		return errorf("cluster: unregister name %q: %w", name, err)
	}
	n.reg.mu.Lock()
	e, ok := n.reg.names[name]
	n.reg.mu.Unlock()
	switch {
	case !ok:
		return errorf("cluster: unregister name %q: %w", name, ErrNotFound)
	case e.dev.Node != n.self:
		return &NameTakenError{Name: name, Holder: n.deviceID(e.dev)}
	}
	err = free(ctx, kv, nameKeyPrefix+name, e.rev)
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return errorf("cluster: unregister name %q: %w", name, ErrNotFound) // freed meanwhile
	}
	if err != nil {
		return errorf("cluster: unregister name %q: %w", name, registryErr(ctx, err))
	}
	n.reg.waitFree(ctx, nameKeyPrefix+name, e.rev)
	return nil
}

// WhereIs returns a Line to the device that holds name in the whole
// cluster (Erlang's global:whereis_name), or fails with ErrNotFound if no
// device does. It answers from this node's copy of the registry, without
// asking the registry, so it works on the minority side of a partition
// too, where it gives the last holder known (see the package doc). The
// first call on a node binds the registry and blocks as RegisterName
// does; later calls do not block. It fails with backplane.ErrInvalid for
// a malformed name, and with ErrClosed after Close.
func (n *Node) WhereIs(ctx context.Context, name string) (backplane.Line, error) {
	ctx, cancel := registryContext(ctx)
	defer cancel()
	if !validRegistryName(name) {
		return backplane.Line{}, errorf("cluster: where is %q: %w: not a name", name, backplane.ErrInvalid)
	}
	if _, err := n.reg.open(ctx); err != nil {
		return backplane.Line{}, errorf("cluster: where is %q: %w", name, err)
	}
	n.reg.mu.Lock()
	e, ok := n.reg.names[name]
	n.reg.mu.Unlock()
	if !ok {
		return backplane.Line{}, errorf("cluster: where is %q: %w", name, ErrNotFound)
	}
	l, err := n.Line(n.deviceID(e.dev))
	if err != nil {
		return backplane.Line{}, errorf("cluster: where is %q: %w", name, err)
	}
	return l, nil
}

// Names returns every cluster-wide name and its holder, as this node's
// copy of the registry holds them: nodes agree on it once the registry's
// updates have reached them all. It blocks only to bind the registry, as
// WhereIs. Cost: a copy of the map.
func (n *Node) Names(ctx context.Context) (map[string]backplane.DeviceID, error) {
	ctx, cancel := registryContext(ctx)
	defer cancel()
	if _, err := n.reg.open(ctx); err != nil {
		return nil, errorf("cluster: names: %w", err)
	}
	n.reg.mu.Lock()
	defer n.reg.mu.Unlock()
	out := make(map[string]backplane.DeviceID, len(n.reg.names))
	for name, e := range n.reg.names {
		out[name] = n.deviceID(e.dev)
	}
	return out, nil
}

// WatchName calls fn with the holder of name now, then at every change
// of holder, in order, on a goroutine of the node's, as this node's copy
// of the registry follows the registry: a freed name has a zero Holder.
// Changes that follow each other quickly may reach fn as one. Events wait
// in an unbounded queue while fn runs: it should return soon.
//
// stop ends the watch and waits for a call of fn in progress; fn is not
// called after stop returns. fn must not call stop, nor Close, which
// stops every watch and waits for the calls in progress too. stop is
// idempotent and safe for concurrent use. WatchName blocks only to bind
// the registry, as WhereIs, and fails as WhereIs for a malformed name, a
// nil fn (backplane.ErrInvalid) and after Close.
func (n *Node) WatchName(ctx context.Context, name string, fn func(NameEvent)) (stop func(), err error) {
	return watchRegistry(ctx, n, "watch name", "name", name, fn,
		func(r *registry) map[string]map[*callbacks[NameEvent]]struct{} { return r.nameW },
		func(r *registry) []NameEvent {
			ev := NameEvent{Name: name}
			if e, ok := r.names[name]; ok {
				ev.Holder = n.deviceID(e.dev)
			}
			return []NameEvent{ev}
		})
}

// waitFree waits until the copy no longer holds key at rev, or ctx ends.
func (r *registry) waitFree(ctx context.Context, key string, rev uint64) {
	r.waitUntil(ctx, func() bool {
		var e entry
		var ok bool
		if name, isName := cutName(key); isName {
			e, ok = r.names[name]
		} else if group, isGroup := groupOf(key); isGroup {
			e, ok = r.groups[group][key]
		}
		return !ok || e.rev != rev
	})
}

// cutName returns the name of a name key.
func cutName(key string) (string, bool) {
	if len(key) > len(nameKeyPrefix) && key[:len(nameKeyPrefix)] == nameKeyPrefix {
		return key[len(nameKeyPrefix):], true
	}
	return "", false
}
