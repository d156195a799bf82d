package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/cluster"
)

// Two nodes in one process, for the example; in production each runs in its
// own process, on its own machine. A task on node "api" depends on a device
// on node "db", and cascades when it fails.
func Example() {
	db, err := cluster.Start(cluster.Config{Name: "db"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	// "db" generated the cluster's secret; "api" joins with it.
	api, err := cluster.Start(cluster.Config{Name: "api", URL: db.ClientURL(), Secret: db.Secret()})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer api.Close()

	// On "db": a device, registered under a name.
	conn := backplane.New(backplane.WithName("conn"))
	defer conn.Drop()
	if err := db.Register("conn", conn); err != nil {
		fmt.Println(err)
		return
	}

	// On "api": find it, and run a task that depends on it.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	line, err := api.Lookup(ctx, "db", "conn")
	if err != nil {
		fmt.Println(err)
		return
	}
	task := backplane.New()
	if err := task.Link(line, backplane.Monitor); err != nil {
		fmt.Println(err)
		return
	}
	if err := api.Ping(ctx, line.ID().Node()); err != nil { // the watch is in place on "db"
		fmt.Println(err)
		return
	}

	_ = conn.Disconnect(errors.New("connection reset"))
	err = task.Manage(ctx, func(ctx context.Context) error {
		<-ctx.Done()
		return nil
	})
	var crash *backplane.Crash
	if errors.As(err, &crash) {
		root, fault := crash.Fault.Root()
		fmt.Println(crash.Kind, "from a device on", root.Node().Name+":", fault.Err)
	}
	// Output:
	// cascade from a device on db: connection reset
}
