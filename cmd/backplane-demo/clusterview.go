package main

import (
	"context"
	"fmt"
	"net/http"
	"sync"

	"github.com/nats-io/nats.go"

	"github.com/backplane-go/backplane/cluster"
	"github.com/backplane-go/backplane/observer"
	"github.com/backplane-go/backplane/observer/clusterview"
)

// clusterObserver puts a node of a multi-node demo on the observer's page
// of the whole cluster: it publishes the node's recorder over the
// cluster's NATS server (clusterview.Publish) and, on the node that serves
// the page, gathers every other node's (clusterview.View), so that the
// page shows each node's devices, trees and faults, and the list of nodes
// with their incarnations, up or not heard from.
type clusterObserver struct {
	nc   *nats.Conn
	view *clusterview.View // nil on a node that serves no page

	stop context.CancelFunc
	wg   sync.WaitGroup
	once sync.Once
}

// startClusterObserver connects to the NATS server at url with the
// cluster's secret, and publishes rec as node's; with view, it also
// gathers the other nodes'. Stop it with close before closing the node.
func startClusterObserver(node *cluster.Node, url, secret string, rec *observer.Recorder, view bool) (*clusterObserver, error) {
	var opts []nats.Option
	if secret != "" {
		opts = append(opts, nats.Token(secret))
	}
	nc, err := nats.Connect(url, append(opts, nats.Name(node.ID().Name+" observer"))...)
	if err != nil {
		return nil, fmt.Errorf("observer of the cluster: %w", err)
	}
	co := &clusterObserver{nc: nc}
	if view {
		if co.view, err = clusterview.NewView(nc, node.ID()); err != nil {
			nc.Close()
			return nil, err
		}
	}
	ctx, stop := context.WithCancel(context.Background())
	co.stop = stop
	co.wg.Go(func() {
		_ = clusterview.Publish(ctx, nc, node.ID(), rec) // returns nil when stopped; errors only on misuse
	})
	return co, nil
}

// handler is the observer's page of rec, with every other node's devices
// beside them.
func (co *clusterObserver) handler(rec *observer.Recorder) http.Handler {
	opts := []observer.HandlerOption{observer.WithShutdown()}
	if co.view != nil {
		opts = append(opts, observer.WithPeers(co.view))
	}
	return observer.Handler(rec, opts...)
}

// close stops publishing and gathering, waits for the publisher, and
// closes the connection. It is idempotent.
func (co *clusterObserver) close() {
	co.once.Do(func() {
		co.stop()
		co.wg.Wait()
		if co.view != nil {
			_ = co.view.Close()
		}
		co.nc.Close()
	})
}
