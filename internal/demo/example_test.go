package demo_test

import (
	"context"
	"fmt"

	"github.com/backplane-go/backplane/internal/demo"
	"github.com/backplane-go/backplane/observer"
)

// A quiet service, without automatic faults: the example injects one.
func Example() {
	svc := demo.New(demo.Config{Pool: 2})
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- svc.Run(ctx) }()
	<-svc.Ready()
	fmt.Println("devices alive:", svc.Stats().Alive)

	mailer, err := svc.Inject(ctx, demo.FaultPanic, "mailer")
	if err != nil {
		fmt.Println(err)
	}
	cancel()
	fmt.Println("stopped:", <-ran)

	s := svc.Recorder().Snapshot(observer.SnapshotOptions{Device: mailer})
	for _, d := range s.Devices {
		if d.ID == mailer.String() {
			fmt.Printf("%s went down: %s\n", d.Name, d.Fault.Error)
		}
	}
	// Output:
	// devices alive: 14
	// stopped: <nil>
	// mailer went down: backplane: task panicked: assignment to entry in nil map
}
