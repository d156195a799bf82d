package observer_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them, such
// as an event stream handler that did not end with its request.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
