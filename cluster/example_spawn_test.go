package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/cluster"
)

// Node "worker" offers a kind of task; node "api" starts one there, linked
// to a device of its own, and is told how it ended.
func ExampleNode_Spawn() {
	api, err := cluster.Start(cluster.Config{Name: "api"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer api.Close()
	worker, err := cluster.Start(cluster.Config{Name: "worker", URL: api.ClientURL(), Secret: api.Secret()})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer worker.Close()

	// On "worker": the kinds of task other nodes may start here.
	err = worker.RegisterKind("resize", func(ctx context.Context, arg []byte) error {
		return fmt.Errorf("cannot resize %s: unsupported format", arg)
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	// On "api": start one, monitored by a device of this node. The link is
	// made before the task runs, so its end cannot be missed.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	parent := backplane.New()
	defer parent.Drop()
	line, err := api.Spawn(ctx, "worker", "resize", []byte("cat.bmp"), parent, backplane.Monitor)
	if err != nil {
		fmt.Println(err)
		return
	}
	m, err := parent.Receive(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%v %s %v: %v\n", m.From() == line.ID(), m.From().Node().Name, m.Fault().Kind, m.Fault().Err)

	_, err = api.Spawn(ctx, "worker", "transcode", nil, parent, backplane.Monitor)
	fmt.Println(errors.Is(err, cluster.ErrUnknownKind))
	// Output:
	// true worker error: cannot resize cat.bmp: unsupported format
	// true
}
