package supervisor_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/backplane-go/backplane/supervisor"
	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them.
// BACKPLANE_SUPERVISOR_INPLACE=off runs them all with every restart made
// by the supervisor's loop, none in place by the child's goroutine: CI
// runs the suite both ways, so that both restart paths pass the same
// tests.
func TestMain(m *testing.M) {
	switch v := os.Getenv("BACKPLANE_SUPERVISOR_INPLACE"); v {
	case "", "on":
	case "off":
		supervisor.SetInPlace(false)
	default:
		fmt.Fprintf(os.Stderr, "BACKPLANE_SUPERVISOR_INPLACE=%q: want on or off\n", v)
		os.Exit(2)
	}
	goleak.VerifyTestMain(m)
}
