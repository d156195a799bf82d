package backplane

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// envPassThrough makes the test binary run groupPassThroughChild instead
// of the tests, for TestGroupPanicPassThroughCrashes.
const envPassThrough = "BACKPLANE_TEST_PASSTHROUGH_CHILD"

// TestGroupPanicPassThroughCrashes: a Group's task made
// WithPanicPassThrough crashes the program with its panic, once its device
// is down and the hooks were told; Group.Wait does not return meanwhile,
// and the crash report shows where the task panicked. The crash happens in
// a child process, the test binary run again.
func TestGroupPanicPassThroughCrashes(t *testing.T) {
	if os.Getenv(envPassThrough) == "1" {
		groupPassThroughChild()
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestGroupPanicPassThroughCrashes$", "-test.count=1")
	cmd.Env = append(os.Environ(), envPassThrough+"=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() == 0 {
		t.Fatalf("child exited with %v, want a crash; stdout:\n%s\nstderr:\n%s", err, &stdout, &stderr)
	}
	out := stdout.String()
	if !strings.Contains(out, "hook: disconnected: task panicked: pass-through boom") {
		t.Errorf("the hook was not told before the crash; stdout:\n%s", out)
	}
	if strings.Contains(out, "Wait") {
		t.Errorf("Wait returned, or would have: the Group let go of a task whose panic passes through; stdout:\n%s", out)
	}
	report := stderr.String()
	for _, want := range []string{"panic: pass-through boom", "passThroughTask"} {
		if !strings.Contains(report, want) {
			t.Errorf("crash report lacks %q:\n%s", want, report)
		}
	}
}

// passThroughGroup is the Group of the child process.
var passThroughGroup Group

// passThroughTask panics; its name must appear in the crash report.
//
//go:noinline
func passThroughTask(context.Context) error { panic(probingPanic("pass-through boom")) }

// probingPanic is the child's panic value. The runtime calls its Error
// method to print the crash, after the panicking goroutine's deferred calls
// have run, the Group's among them: at that moment the Group must still
// count the task as running, or Wait would return, as if the task had
// ended, while the program crashes.
type probingPanic string

func (p probingPanic) Error() string {
	g := &passThroughGroup
	g.mu.Lock()
	running := g.running
	g.mu.Unlock()
	if running == 0 {
		fmt.Println("Wait would return: no task running")
	}
	return string(p)
}

func groupPassThroughChild() {
	p := New()
	var dev DeviceID
	ready := make(chan struct{})
	AddHook(func(e Event) {
		if e.Kind != EventDisconnected {
			return // made in this goroutine, during Spawn, before dev is set
		}
		<-ready
		if e.Device == dev && e.Fault != nil {
			fmt.Printf("hook: disconnected: %s\n", strings.TrimPrefix(e.Fault.Error(), "backplane: "))
		}
	})
	l, err := passThroughGroup.Spawn(context.Background(), p, Notify, passThroughTask, WithPanicPassThrough())
	if err != nil {
		fmt.Println("spawn:", err)
		os.Exit(0)
	}
	dev = l.ID()
	close(ready)
	err = passThroughGroup.Wait()
	fmt.Println("Wait returned", err)
	os.Exit(0)
}
