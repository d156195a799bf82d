package cluster_test

import (
	"context"
	"fmt"

	"github.com/backplane-go/backplane/cluster"
	"github.com/backplane-go/backplane/supervisor"
)

// A supervisor on node "api" keeps a service running on "w1" or "w2": when
// the node it runs on leaves, the supervisor restarts it on the other.
func ExampleNode_RemoteChild() {
	api, err := cluster.Start(cluster.Config{Name: "api"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer api.Close()
	runs := make(chan string, 4)
	var workers []*cluster.Node
	for _, name := range []string{"w1", "w2"} {
		w, err := cluster.Start(cluster.Config{Name: name, URL: api.ClientURL(), Secret: api.Secret()})
		if err != nil {
			fmt.Println(err)
			return
		}
		defer w.Close()
		// On each worker node: the kind of task the supervisor starts.
		err = w.RegisterKind("indexer", func(ctx context.Context, arg []byte) error {
			runs <- fmt.Sprintf("indexing %s on %s", arg, name)
			<-ctx.Done()
			return nil
		})
		if err != nil {
			fmt.Println(err)
			return
		}
		workers = append(workers, w)
	}

	// On "api": a supervisor whose child runs on w1 or w2, in turn,
	// passing by a node that is down.
	sup, err := supervisor.New(supervisor.WithChildren(api.RemoteChild(cluster.RemoteSpec{
		ID:        "indexer",
		Kind:      "indexer",
		Arg:       []byte("docs"),
		Placement: cluster.RoundRobin("w1", "w2"),
	})))
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sup.Serve(ctx) }()
	fmt.Println(<-runs)

	_ = workers[0].Close() // w1 leaves: the child fails over
	fmt.Println(<-runs)

	cancel() // the supervisor stops, and stops the task on w2
	<-done
	// Output:
	// indexing docs on w1
	// indexing docs on w2
}
