package cluster

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/cluster/internal/transport"
	"github.com/backplane-go/backplane/cluster/internal/wire"
)

// The registry holds the cluster-wide names and the groups in one
// JetStream key-value bucket (transport.RegistryBucket), which NATS
// replicates and orders: a name is the key "n/<name>", a membership the
// key "g/<group>/<incarnation>-<seq>" of the member's node incarnation and
// sequence number, and the value of both is the device, as
// "<node> <incarnation> <seq>". Every node watches the whole bucket and
// keeps a copy of it, which answers WhereIs, Names, Members and Groups and
// feeds the watches; it writes only with conditions the bucket checks
// (create-only for names and joins, the revision read for every delete),
// so that nodes that race, or clean up after the same dead node at once,
// never undo each other's work.
//
// Entries are freed by the nodes that see their holder go: the holder's
// node when the device disconnects, and every node that sees the holder's
// node incarnation unreachable (handler.Down). To see that, a node opens a
// session with every incarnation that holds an entry (pingNode) as soon as
// its copy shows one. A delete that fails is tried again (see clean).

const (
	nameKeyPrefix  = "n/"
	groupKeyPrefix = "g/"
	// maxRegistryName is the longest name or group name, in bytes.
	maxRegistryName = wire.MaxNameLen
	// markerTTL is how long the bucket keeps the marker of a deleted
	// entry, so that markers do not pile up.
	markerTTL = time.Minute
	// defaultReplicas is Config.Replicas' default.
	defaultReplicas = 3
	// registryTimeout bounds a call on the registry whose context has no
	// deadline, as JetStream bounds its requests.
	registryTimeout = 5 * time.Second
)

// registryContext returns ctx, bounded by registryTimeout if it has no
// deadline; a nil ctx is context.Background().
func registryContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if ctx == nil {
		ctx = context.Background()
	}
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, registryTimeout)
}

// validRegistryName reports whether s may be a name or a group: 1 to 255
// bytes of ASCII letters, digits, '.', '_' and '-', neither beginning nor
// ending with '.', and without "..": the characters of node names, which
// are also those of a bucket key.
func validRegistryName(s string) bool {
	return len(s) != 0 && len(s) <= maxRegistryName && s[0] != '.' && s[len(s)-1] != '.' &&
		!strings.Contains(s, "..") && transport.NameChars(s)
}

// entry is an entry of the copy: the device that holds it and the
// bucket's revision of it.
type entry struct {
	dev wire.Device
	rev uint64
}

// registry is a node's copy of the bucket and what it needs to keep it.
type registry struct {
	n        *Node
	bucket   string
	replicas int

	sem chan struct{} // held while opening the bucket

	mu      sync.Mutex
	closed  bool
	kv      jetstream.KeyValue // nil until open
	sub     *nats.Subscription // the watch
	ready   chan struct{}      // closed once the copy holds the bucket's values; nil until open
	changed chan struct{}      // closed and replaced at every update applied
	rev     uint64             // the bucket's revision of the last update applied
	names   map[string]entry
	groups  map[string]map[string]entry // group -> key -> member
	holders map[uint64]backplane.Line   // local devices that hold entries, while connected
	watched map[wire.Node]bool          // other incarnations that hold entries, their node pinged
	// downCount counts, per incarnation, the times it was found
	// unreachable (nodeGone); the cleaner forgets the counts it no longer
	// needs.
	downCount map[wire.Node]uint64
	stale     map[string]uint64 // entries to delete: key -> revision
	nameW     map[string]map[*callbacks[NameEvent]]struct{}
	groupW    map[string]map[*callbacks[GroupEvent]]struct{}
	wake      chan struct{} // buffered: wakes the cleaner
	stop      chan struct{} // closed by close

	ctx    context.Context // of the watch and the cleaner's requests, cancelled by close
	cancel context.CancelFunc
}

func newRegistry(n *Node, cluster string, replicas int) *registry {
	ctx, cancel := context.WithCancel(context.Background())
	return &registry{
		ctx:       ctx,
		cancel:    cancel,
		n:         n,
		bucket:    transport.RegistryBucket(cluster),
		replicas:  replicas,
		sem:       make(chan struct{}, 1),
		changed:   make(chan struct{}),
		names:     make(map[string]entry),
		groups:    make(map[string]map[string]entry),
		holders:   make(map[uint64]backplane.Line),
		watched:   make(map[wire.Node]bool),
		downCount: make(map[wire.Node]uint64),
		stale:     make(map[string]uint64),
		nameW:     make(map[string]map[*callbacks[NameEvent]]struct{}),
		groupW:    make(map[string]map[*callbacks[GroupEvent]]struct{}),
		wake:      make(chan struct{}, 1),
		stop:      make(chan struct{}),
	}
}

// open binds the bucket, creating it if none exists, and starts the watch
// that keeps the copy, once; it returns when the copy holds the bucket's
// values. It fails with ErrNoRegistry if JetStream cannot be reached, and
// with ctx's cause if ctx ends first.
func (r *registry) open(ctx context.Context) (jetstream.KeyValue, error) {
	if ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	select {
	case r.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
	r.mu.Lock()
	kv, ready, closed := r.kv, r.ready, r.closed
	r.mu.Unlock()
	if closed {
		<-r.sem
		return nil, ErrClosed
	}
	if kv == nil {
		var err error
		kv, ready, err = r.start(ctx)
		if err != nil {
			<-r.sem
			return nil, err
		}
	}
	<-r.sem
	select {
	case <-ready:
		return kv, nil
	case <-r.stop:
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, errorf("cluster: %w: %w", ErrNoRegistry, context.Cause(ctx))
	}
}

// start binds or creates the bucket and starts its watch. r.sem is held.
func (r *registry) start(ctx context.Context) (jetstream.KeyValue, chan struct{}, error) {
	js, err := jetstream.New(r.n.tr.Conn())
	if err != nil {
		return nil, nil, errorf("cluster: %w: %w", ErrNoRegistry, err)
	}
	kv, err := r.bind(ctx, js)
	if err != nil {
		return nil, nil, err
	}
	var sub *nats.Subscription
	var updates chan *nats.Msg
	var pending uint64
	for {
		// Making the watch's consumer fails while the stream has no
		// leader (a routed cluster electing one, a server restarted
		// under its name catching up): try again, as bind does.
		if sub, updates, pending, err = r.watch(); err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return nil, nil, errorf("cluster: %w: watch: %w (last: %w)", ErrNoRegistry, context.Cause(ctx), err)
		case <-r.stop:
			return nil, nil, ErrClosed
		case <-time.After(r.n.heartbeat):
		}
	}
	ready := make(chan struct{})
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		_ = sub.Unsubscribe()
		return nil, nil, ErrClosed
	}
	r.kv, r.sub, r.ready = kv, sub, ready
	r.n.wg.Add(2)
	r.mu.Unlock()
	go r.follow(updates, ready, pending)
	go r.clean()
	return kv, ready, nil
}

// watch subscribes to every update of the bucket, the latest of each key
// first: an ordered consumer, which NATS makes again from where it
// stopped when it misses its heartbeats, sent every Config.Timeout/2, as
// when the server that held it leaves. Messages go to updates, which is
// closed once the subscription ends; pending is how many the bucket held
// when the watch began. The watch lives as long as the registry: its
// context is the registry's, not the caller's.
func (r *registry) watch() (sub *nats.Subscription, updates chan *nats.Msg, pending uint64, err error) {
	js, err := r.n.tr.Conn().JetStream()
	if err != nil {
		return nil, nil, 0, err
	}
	updates = make(chan *nats.Msg, 256)
	sub, err = js.Subscribe(kvPrefix(r.bucket)+">", func(m *nats.Msg) { updates <- m },
		nats.BindStream(kvStream(r.bucket)), nats.OrderedConsumer(), nats.DeliverLastPerSubject(),
		nats.IdleHeartbeat(max(r.n.timeout/2, minWatchHeartbeat)), nats.Context(r.ctx))
	if err != nil {
		return nil, nil, 0, err
	}
	// The subscription calls its closed handler after its last message.
	sub.SetClosedHandler(func(string) { close(updates) })
	pending, err = sub.InitialConsumerPending()
	if err != nil {
		_ = sub.Unsubscribe()
		return nil, nil, 0, err
	}
	return sub, updates, pending, nil
}

// minWatchHeartbeat is the shortest heartbeat of the watch.
const minWatchHeartbeat = 100 * time.Millisecond

// kvPrefix is the subject prefix of the bucket's keys.
func kvPrefix(bucket string) string { return "$KV." + bucket + "." }

// kvStream is the name of the bucket's stream.
func kvStream(bucket string) string { return "KV_" + bucket }

// bind returns the bucket, creating it with r.replicas copies if none
// exists, or as many as there are JetStream servers if fewer. While
// JetStream is not ready (a routed cluster electing its leader), it tries
// again until ctx ends.
func (r *registry) bind(ctx context.Context, js jetstream.JetStream) (jetstream.KeyValue, error) {
	replicas := r.replicas
	var last error
	for {
		actx, cancel := context.WithTimeout(ctx, time.Second)
		kv, err := js.KeyValue(actx, r.bucket)
		if errors.Is(err, jetstream.ErrBucketNotFound) {
			kv, err = js.CreateKeyValue(actx, jetstream.KeyValueConfig{
				Bucket:         r.bucket,
				Description:    "backplane cluster: names and groups",
				History:        1,
				Storage:        jetstream.MemoryStorage,
				Replicas:       replicas,
				LimitMarkerTTL: markerTTL,
			})
			if errors.Is(err, jetstream.ErrBucketExists) {
				kv, err = js.KeyValue(actx, r.bucket) // another node was first
			}
		}
		cancel()
		if err == nil {
			return kv, nil
		}
		last = err
		var api *jetstream.APIError
		switch {
		case errors.Is(err, jetstream.ErrJetStreamNotEnabled), errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount),
			errors.Is(err, nats.ErrNoResponders): // no server of the account runs JetStream
			return nil, errorf("cluster: %w: %w", ErrNoRegistry, err)
		case replicas > 1 && errors.As(err, &api) && (api.ErrorCode == errInsufficientResources ||
			api.ErrorCode == errNoPeersForPlacement || api.ErrorCode == errReplicasNotSupported):
			replicas-- // fewer JetStream servers than replicas
			continue
		}
		select {
		case <-ctx.Done():
			return nil, errorf("cluster: %w: %w (last: %w)", ErrNoRegistry, context.Cause(ctx), last)
		case <-r.stop:
			return nil, ErrClosed
		case <-time.After(r.n.heartbeat):
		}
	}
}

// JetStream error codes of the server that tell a bucket asked for more
// copies than there are servers to keep them.
const (
	errNoPeersForPlacement   jetstream.ErrorCode = 10005
	errInsufficientResources jetstream.ErrorCode = 10023
	errReplicasNotSupported  jetstream.ErrorCode = 10074
)

// follow applies the bucket's updates to the copy until the watch ends.
// ready is closed once the copy holds what the bucket held when the watch
// began (pending messages).
func (r *registry) follow(updates chan *nats.Msg, ready chan struct{}, pending uint64) {
	defer r.n.wg.Done()
	done := pending == 0
	if done {
		close(ready)
	}
	prefix := kvPrefix(r.bucket)
	for m := range updates {
		meta, err := m.Metadata()
		if err != nil || !strings.HasPrefix(m.Subject, prefix) {
			continue
		}
		r.apply(m.Subject[len(prefix):], meta.Sequence.Stream, isPut(m), m.Data)
		if !done && meta.NumPending == 0 {
			done = true
			close(ready)
		}
	}
}

// isPut reports whether m, a message of the bucket, sets its key rather
// than deletes it: a delete or a purge carries its operation in a header,
// and a marker left by the server its reason.
func isPut(m *nats.Msg) bool {
	return m.Header.Get("KV-Operation") == "" && m.Header.Get("Nats-Marker-Reason") == ""
}

// apply applies one update of the bucket, of key at revision rev, to the
// copy and tells the watches.
func (r *registry) apply(key string, rev uint64, put bool, value []byte) {
	var dev wire.Device
	if put {
		var ok bool
		if dev, ok = parseDevice(value); !ok {
			put = false // not ours: treated as absent
		}
	}
	var ping []wire.Node
	r.mu.Lock()
	defer func() {
		r.mu.Unlock()
		for _, node := range ping {
			if r.n.pingNode(node) != nil {
				r.nodeGone(node)
			}
		}
	}()
	if rev > r.rev {
		r.rev = rev
	}
	close(r.changed)
	r.changed = make(chan struct{})
	switch {
	case strings.HasPrefix(key, nameKeyPrefix):
		name := key[len(nameKeyPrefix):]
		old, had := r.names[name]
		if put {
			r.names[name] = entry{dev: dev, rev: rev}
		} else {
			delete(r.names, name)
		}
		if had != put || old.dev != dev {
			ev := NameEvent{Name: name}
			if put {
				ev.Holder = r.n.deviceID(dev)
			}
			for c := range r.nameW[name] {
				c.push(ev)
			}
		}
	case strings.HasPrefix(key, groupKeyPrefix):
		group, ok := groupOf(key)
		if !ok {
			return
		}
		m := r.groups[group]
		old, had := m[key]
		if put {
			if m == nil {
				m = make(map[string]entry)
				r.groups[group] = m
			}
			m[key] = entry{dev: dev, rev: rev}
		} else if had {
			delete(m, key)
			if len(m) == 0 {
				delete(r.groups, group)
			}
		}
		if had != put {
			ev := GroupEvent{Group: group, Joined: put, Member: r.n.deviceID(old.dev)}
			if put {
				ev.Member = r.n.deviceID(dev)
			}
			for c := range r.groupW[group] {
				c.push(ev)
			}
		}
	default:
		return
	}
	if !put {
		delete(r.stale, key)
		return
	}
	self := r.n.self
	switch {
	case dev.Node == self:
		if _, ok := r.holders[dev.Seq]; !ok {
			r.markStale(key, rev) // its device is gone
		}
	case dev.Node.Name == self.Name:
		r.markStale(key, rev) // this node's earlier incarnation is gone
	case !r.watched[dev.Node]:
		r.watched[dev.Node] = true
		ping = append(ping, dev.Node)
	}
}

// groupOf returns the group of a membership key.
func groupOf(key string) (string, bool) {
	rest := key[len(groupKeyPrefix):]
	i := strings.LastIndexByte(rest, '/')
	if i <= 0 {
		return "", false
	}
	return rest[:i], true
}

// markStale schedules the delete of the entry key at rev. r.mu is held.
func (r *registry) markStale(key string, rev uint64) {
	r.stale[key] = rev
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// nodeGone schedules the delete of every entry held by a device of node,
// an incarnation that this node found unreachable.
func (r *registry) nodeGone(node wire.Node) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.kv == nil || r.closed {
		return
	}
	delete(r.watched, node)
	r.downCount[node]++
	for name, e := range r.names {
		if e.dev.Node == node {
			r.markStale(nameKeyPrefix+name, e.rev)
		}
	}
	for _, m := range r.groups {
		for key, e := range m {
			if e.dev.Node == node {
				r.markStale(key, e.rev)
			}
		}
	}
}

// down is told by the handler that the session with node ended for
// reason.
func (r *registry) down(node wire.Node, reason error) {
	if errors.Is(reason, ErrClosed) {
		return // this node is closing: nothing is known of node
	}
	r.nodeGone(node)
}

// hold records l, a local device, as holding entries until it
// disconnects (deviceGone). It fails if the device is gone already.
func (r *registry) hold(l backplane.Line) error {
	r.mu.Lock()
	r.holders[l.ID().Seq()] = l
	r.mu.Unlock()
	if !l.Alive() {
		r.deviceGone(l.ID().Seq())
		return backplane.ErrLinkDown
	}
	return nil
}

// deviceGone schedules the delete of every entry the local device seq
// holds: it disconnected.
func (r *registry) deviceGone(seq uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.holders[seq]; !ok {
		return
	}
	delete(r.holders, seq)
	dev := wire.Device{Node: r.n.self, Seq: seq}
	for name, e := range r.names {
		if e.dev == dev {
			r.markStale(nameKeyPrefix+name, e.rev)
		}
	}
	for _, m := range r.groups {
		for key, e := range m {
			if e.dev == dev {
				r.markStale(key, e.rev)
			}
		}
	}
}

// clean deletes the stale entries until close. An entry is deleted at
// once when it becomes stale. One that could not be deleted (the bucket
// had no quorum, or could not be reached) is tried again: every
// Config.Timeout if a local device or an earlier incarnation of this node
// held it; otherwise only once the holder's incarnation has been found
// unreachable again since (nodeGone): the holder's node is pinged, every
// Config.Timeout, and the delete is tried when that ping's session fails.
// A node that is back (a partition healed, this node's connection
// restored) answers the ping instead, and keeps its entries.
func (r *registry) clean() {
	defer r.n.wg.Done()
	retry := time.NewTicker(r.n.timeout)
	defer retry.Stop()
	failed := make(map[string]failure) // tried, and failed
	pinged := make(map[string]bool)    // failed, and the holder pinged since
	for {
		tick := false
		select {
		case <-r.stop:
			return
		case <-r.wake:
		case <-retry.C:
			tick = true
		}
		r.mu.Lock()
		kv := r.kv
		work := make(map[string]uint64, len(r.stale))
		for k, rev := range r.stale {
			work[k] = rev
		}
		r.mu.Unlock()
		for key := range failed {
			if _, ok := work[key]; !ok {
				delete(failed, key)
				delete(pinged, key)
			}
		}
		if tick {
			r.pruneDowns(failed)
		}
		for key, rev := range work {
			holder, ok := r.stillStale(key, rev)
			if !ok {
				delete(failed, key)
				delete(pinged, key)
				continue
			}
			if f, ok := failed[key]; ok {
				switch {
				case holder.Name == r.n.self.Name:
					if !tick {
						continue
					}
				case r.downs(holder) == f.downs: // not found unreachable again yet
					if tick && !pinged[key] {
						_ = r.n.pingNode(holder) // a failure is a Down
						pinged[key] = true
					}
					continue
				}
			}
			downs := r.downs(holder)
			ctx, cancel := context.WithTimeout(r.ctx, r.n.timeout)
			err := free(ctx, kv, key, rev)
			cancel()
			delete(pinged, key)
			if err != nil && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
				failed[key] = failure{holder: holder, downs: downs}
				continue
			}
			delete(failed, key)
			r.mu.Lock()
			if r.stale[key] == rev {
				delete(r.stale, key)
			}
			r.mu.Unlock()
		}
	}
}

// failure is a failed delete: the holder's incarnation and how many times
// it had been found unreachable then.
type failure struct {
	holder wire.Node
	downs  uint64
}

// pruneDowns forgets the counts of the incarnations that no failed delete
// refers to.
func (r *registry) pruneDowns(failed map[string]failure) {
	keep := make(map[wire.Node]bool, len(failed))
	for _, f := range failed {
		keep[f.holder] = true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for node := range r.downCount {
		if !keep[node] {
			delete(r.downCount, node)
		}
	}
}

// downs returns how many times node was found unreachable.
func (r *registry) downs(node wire.Node) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.downCount[node]
}

// free deletes the entry key if the bucket's revision of it is still rev:
// whoever frees an entry names the revision it saw, so that an entry
// freed and taken again meanwhile, by this node or any other, stays. It
// fails with jetstream.ErrKeyRevisionMismatch otherwise. The entry's
// marker expires after markerTTL.
func free(ctx context.Context, kv jetstream.KeyValue, key string, rev uint64) error {
	return kv.Purge(ctx, key, jetstream.LastRevision(rev), jetstream.PurgeTTL(markerTTL))
}

// stillStale reports whether the entry key at rev is still to be deleted,
// and the node incarnation that holds it: the entry is unchanged, and
// held by a local device that is gone, or by an incarnation with no
// session live.
func (r *registry) stillStale(key string, rev uint64) (wire.Node, bool) {
	r.mu.Lock()
	if r.stale[key] != rev {
		r.mu.Unlock()
		return wire.Node{}, false
	}
	var e entry
	var ok bool
	if name, isName := strings.CutPrefix(key, nameKeyPrefix); isName {
		e, ok = r.names[name]
	} else if group, isGroup := groupOf(key); isGroup {
		e, ok = r.groups[group][key]
	}
	if !ok || e.rev != rev {
		delete(r.stale, key)
		r.mu.Unlock()
		return wire.Node{}, false
	}
	r.mu.Unlock()
	holder := e.dev.Node
	if holder.Name == r.n.self.Name {
		return holder, true
	}
	r.n.mu.Lock()
	inc, live := r.n.live[holder.Name]
	r.n.mu.Unlock()
	if live && inc == holder.Inc {
		r.mu.Lock()
		if r.stale[key] == rev {
			delete(r.stale, key)
		}
		r.watched[holder] = true
		r.mu.Unlock()
		return holder, false
	}
	return holder, true
}

// waitRev waits until the copy holds the bucket's revision rev, or ctx
// ends.
func (r *registry) waitRev(ctx context.Context, rev uint64) {
	r.waitUntil(ctx, func() bool { return r.rev >= rev })
}

// waitUntil waits until done, called with r.mu held, reports true after
// an update of the copy, or ctx ends, or the registry stops.
func (r *registry) waitUntil(ctx context.Context, done func() bool) {
	for {
		r.mu.Lock()
		ok, changed := done(), r.changed
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return
		case <-r.stop:
			return
		}
	}
}

// close stops the watch, the cleaner and every watch's callbacks. The
// node's WaitGroup waits for their goroutines.
func (r *registry) close() {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.closed = true
	close(r.stop)
	r.cancel()
	sub := r.sub
	var cs []interface{ stop(bool) }
	for _, m := range r.nameW {
		for c := range m {
			cs = append(cs, c)
		}
	}
	for _, m := range r.groupW {
		for c := range m {
			cs = append(cs, c)
		}
	}
	r.mu.Unlock()
	if sub != nil {
		_ = sub.Unsubscribe()
	}
	for _, c := range cs {
		c.stop(false)
	}
}

// formatDevice is the value of an entry: the device that holds it.
func formatDevice(d wire.Device) []byte {
	return []byte(d.Node.Name + " " + strconv.FormatUint(d.Node.Inc, 10) + " " + strconv.FormatUint(d.Seq, 10))
}

// parseDevice parses formatDevice's value.
func parseDevice(b []byte) (wire.Device, bool) {
	f := strings.Fields(string(b))
	if len(f) != 3 || !transport.ValidName(f[0]) {
		return wire.Device{}, false
	}
	inc, err1 := strconv.ParseUint(f[1], 10, 64)
	seq, err2 := strconv.ParseUint(f[2], 10, 64)
	if err1 != nil || err2 != nil || inc == 0 || seq == 0 {
		return wire.Device{}, false
	}
	return wire.Device{Node: wire.Node{Name: f[0], Inc: inc}, Seq: seq}, true
}

// memberKey is the key of d's membership of group.
func memberKey(group string, d wire.Device) string {
	return groupKeyPrefix + group + "/" + strconv.FormatUint(d.Node.Inc, 10) + "-" + strconv.FormatUint(d.Seq, 10)
}
