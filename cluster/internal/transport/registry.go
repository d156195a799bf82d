package transport

import (
	"strings"

	"github.com/nats-io/nats.go"
)

// RegistryBucket returns the name of the JetStream key-value bucket that
// holds the cluster-wide names and groups of cluster: the cluster name
// with '.' written as '_' (bucket names hold no dot), then "_registry".
func RegistryBucket(cluster string) string {
	return strings.ReplaceAll(cluster, ".", "_") + "_registry"
}

// registryPublish returns the subjects a node publishes to in order to use
// the registry bucket of cluster: the JetStream API calls that bind,
// create and read the bucket's stream and make the consumers of its
// watches, the bucket's own subjects (writes and deletes) and the flow
// control of its watches. Nothing else of JetStream: a member cannot
// delete, purge or reconfigure the bucket's stream, nor touch any other.
func registryPublish(cluster string) []string {
	b := RegistryBucket(cluster)
	stream := "KV_" + b
	return []string{
		"$JS.API.INFO",
		"$JS.API.STREAM.INFO." + stream,
		"$JS.API.STREAM.CREATE." + stream,
		"$JS.API.STREAM.MSG.GET." + stream,
		"$JS.API.DIRECT.GET." + stream,
		"$JS.API.DIRECT.GET." + stream + ".>",
		"$JS.API.CONSUMER.*." + stream,
		"$JS.API.CONSUMER.*." + stream + ".>",
		"$KV." + b + ".>",
		"$JS.FC." + stream + ".>",
	}
}

// InboxSubjects is what a node subscribes to for the replies of the
// JetStream API and the deliveries of its watches: the client's inboxes.
const InboxSubjects = "_INBOX.>"

// Conn returns the NATS connection, for the node's use of JetStream on
// it. It must not be closed but by Close.
func (t *Transport) Conn() *nats.Conn { return t.nc }
