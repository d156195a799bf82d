package supervisor_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/supervisor"
)

func TestErrorStrings(t *testing.T) {
	f := backplane.ErrorFault(errBoom)
	tests := []struct {
		err  error
		want []string
	}{
		{&supervisor.StartError{Supervisor: "s", Child: "c", Err: errBoom}, []string{`supervisor: child "c" of "s"`, "boom"}},
		{&supervisor.RestartLimitError{Supervisor: "s", MaxRestarts: 3, Period: time.Second, Child: "c", Fault: f}, []string{"more than 3 restarts in 1s", `"c"`, "boom"}},
		{&supervisor.RestartLimitError{Supervisor: "s", Child: "c"}, []string{`"c"`}},
		{&supervisor.ConfigError{Reason: "r"}, []string{"invalid option: r"}},
		{&supervisor.ConfigError{Child: "c", Reason: "r"}, []string{`invalid child "c": r`}},
	}
	for _, tt := range tests {
		s := tt.err.Error()
		for _, w := range tt.want {
			if !strings.Contains(s, w) {
				t.Errorf("%q does not contain %q", s, w)
			}
		}
	}
	if !errors.Is(&supervisor.RestartLimitError{Fault: f}, errBoom) || errors.Unwrap(&supervisor.RestartLimitError{}) != nil {
		t.Error("RestartLimitError.Unwrap")
	}
}

func TestEnumStrings(t *testing.T) {
	tests := []struct{ got, want string }{
		{supervisor.OneForOne.String(), "one_for_one"},
		{supervisor.OneForAll.String(), "one_for_all"},
		{supervisor.RestForOne.String(), "rest_for_one"},
		{supervisor.Dynamic.String(), "dynamic"},
		{supervisor.Strategy(9).String(), "Strategy(9)"},
		{supervisor.Never.String(), "never"},
		{supervisor.AnySignificant.String(), "any_significant"},
		{supervisor.AllSignificant.String(), "all_significant"},
		{supervisor.AutoShutdown(9).String(), "AutoShutdown(9)"},
		{supervisor.Permanent.String(), "permanent"},
		{supervisor.Transient.String(), "transient"},
		{supervisor.Temporary.String(), "temporary"},
		{supervisor.Restart(9).String(), "Restart(9)"},
		{supervisor.ChildRunning.String(), "running"},
		{supervisor.ChildRestarting.String(), "restarting"},
		{supervisor.ChildStopped.String(), "stopped"},
		{supervisor.ChildState(9).String(), "ChildState(9)"},
		{supervisor.RestartLimitReached{}.String(), ": restart limit reached"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
