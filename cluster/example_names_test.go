package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/cluster"
)

// A name for the whole cluster: a device on node "db" takes it, node "api"
// finds it without knowing where it is, and a second registration is
// refused. The name is freed when its device disconnects.
func ExampleNode_RegisterName() {
	db, err := cluster.Start(cluster.Config{Name: "db"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	api, err := cluster.Start(cluster.Config{Name: "api", URL: db.ClientURL(), Secret: db.Secret()})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer api.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// Follow the name from "api".
	events := make(chan cluster.NameEvent, 8)
	stop, err := api.WatchName(ctx, "primary", func(e cluster.NameEvent) { events <- e })
	if err != nil {
		fmt.Println(err)
		return
	}
	defer stop()
	fmt.Println("free:", (<-events).Holder.IsZero())

	// On "db": take the name.
	conn := backplane.New(backplane.WithName("conn"))
	if err := db.RegisterName(ctx, "primary", conn); err != nil {
		fmt.Println(err)
		return
	}
	e := <-events
	fmt.Println("held on:", e.Holder.Node().Name)

	// On "api": find it, and try to take it too.
	line, err := api.WhereIs(ctx, "primary")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("found on:", line.ID().Node().Name)
	other := backplane.New()
	defer other.Drop()
	err = api.RegisterName(ctx, "primary", other)
	var taken *cluster.NameTakenError
	if errors.As(err, &taken) {
		fmt.Println("taken by a device on:", taken.Holder.Node().Name)
	}

	// The device disconnects: the name is free again.
	_ = conn.Disconnect(nil)
	fmt.Println("free:", (<-events).Holder.IsZero())
	// Output:
	// free: true
	// held on: db
	// found on: db
	// taken by a device on: db
	// free: true
}

// A group across the cluster: devices of two nodes join "workers", and
// every node lists them; one leaves when its device disconnects.
func ExampleNode_Join() {
	db, err := cluster.Start(cluster.Config{Name: "db"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	api, err := cluster.Start(cluster.Config{Name: "api", URL: db.ClientURL(), Secret: db.Secret()})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer api.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// Follow the group from "api".
	events := make(chan cluster.GroupEvent, 8)
	stop, err := api.WatchGroup(ctx, "workers", func(e cluster.GroupEvent) { events <- e })
	if err != nil {
		fmt.Println(err)
		return
	}
	defer stop()

	w1, w2 := backplane.New(), backplane.New()
	defer w2.Drop()
	if err := db.Join(ctx, "workers", w1); err != nil {
		fmt.Println(err)
		return
	}
	if err := api.Join(ctx, "workers", w2); err != nil {
		fmt.Println(err)
		return
	}
	for range 2 {
		e := <-events
		fmt.Println("joined:", e.Joined, "from", nodeOf(api, e.Member))
	}
	members, err := api.Members(ctx, "workers")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("members:", len(members))

	_ = w1.Disconnect(nil)
	e := <-events
	fmt.Println("joined:", e.Joined, "from", nodeOf(api, e.Member))
	// Output:
	// joined: true from db
	// joined: true from api
	// members: 2
	// joined: false from db
}

// nodeOf names the node of a device ID as node n sees it: its own devices
// have local IDs.
func nodeOf(n *cluster.Node, id backplane.DeviceID) string {
	if id.Node().IsZero() {
		return n.ID().Name
	}
	return id.Node().Name
}
