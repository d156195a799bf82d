package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/cluster"
)

// A device on node "api" monitors node "db" itself, and OnNode tells of
// db's sessions coming and going.
func ExampleNode_NodeLine() {
	events := make(chan cluster.NodeEvent, 16)
	api, err := cluster.Start(cluster.Config{Name: "api", OnNode: func(e cluster.NodeEvent) { events <- e }})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer api.Close()
	db, err := cluster.Start(cluster.Config{Name: "db", URL: api.ClientURL(), Secret: api.Secret()})
	if err != nil {
		fmt.Println(err)
		return
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	line, err := api.NodeLine(ctx, backplane.NodeID{Name: "db"}) // the incarnation up now
	if err != nil {
		fmt.Println(err)
		return
	}
	watcher := backplane.New()
	defer watcher.Drop()
	if err := watcher.Link(line, backplane.Monitor); err != nil {
		fmt.Println(err)
		return
	}
	e := <-events
	fmt.Println(e.Node.Name, "up:", e.Up)

	_ = db.Close() // or it crashes, hangs, or is cut off
	m, err := watcher.Receive(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.Kind(), m.From().Node().Name, m.Fault().Kind, errors.Is(m.Fault(), cluster.ErrUnreachable))
	e = <-events
	fmt.Println(e.Node.Name, "up:", e.Up)
	// Output:
	// db up: true
	// disconnected db unreachable true
	// db up: false
}
