package observer_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/backplane-go/backplane"
	"github.com/backplane-go/backplane/observer"
	"github.com/backplane-go/backplane/supervisor"
)

// logLines decodes the JSON records written to buf.
func logLines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		out = append(out, m)
	}
	return out
}

func TestLogger(t *testing.T) {
	var buf bytes.Buffer
	rec := observer.NewRecorder()
	lg := observer.NewLogger(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), observer.WithNames(rec))
	withHook(t, observer.Hooks(rec.Record, lg.Record))

	root := backplane.New(backplane.WithName("root"))
	mid := backplane.New(backplane.WithName("mid"))
	_ = mid.Link(root, backplane.Monitor)
	_ = root.Disconnect(panicFault("boom"))
	_ = mid.Disconnect(backplane.CascadeFault(root.ID(), root.Fault().(*backplane.Fault)))
	lg.RecordSupervisor(supervisor.ChildAbandoned{Source: supervisor.Source{SupervisorID: root.ID()}, Instance: supervisor.Instance{Device: mid.ID()}})

	lines := logLines(t, &buf)
	if len(lines) != 6 {
		t.Fatalf("%d records, want 6:\n%s", len(lines), buf.String())
	}
	tests := []struct {
		i     int
		level string
		msg   string
		attrs map[string]any
	}{
		{0, "DEBUG", "backplane created", map[string]any{"event": "created", "device": root.ID().String(), "name": "root"}},
		{2, "DEBUG", "backplane linked", map[string]any{"name": "mid", "peer": root.ID().String(), "mode": "monitor"}},
		{3, "ERROR", "backplane disconnected", map[string]any{"name": "root", "fault.kind": "panic", "fault.panic": "boom", "fault.stack": "goroutine 1 [running]:\nmain.work()"}},
		{4, "WARN", "backplane disconnected", map[string]any{"name": "mid", "fault.kind": "cascade", "fault.from": root.ID().String(), "fault.root": root.ID().String(), "fault.root_kind": "panic", "fault.root_error": "backplane: task panicked: boom"}},
		{5, "ERROR", "supervisor child abandoned", map[string]any{"device": mid.ID().String(), "name": "mid", "supervisor": root.ID().String() + " root"}},
	}
	for _, tt := range tests {
		l := lines[tt.i]
		if l["level"] != tt.level || l["msg"] != tt.msg {
			t.Errorf("record %d: %v %q, want %v %q", tt.i, l["level"], l["msg"], tt.level, tt.msg)
		}
		for k, want := range tt.attrs {
			var have any = l
			for _, part := range strings.Split(k, ".") {
				m, _ := have.(map[string]any)
				have = m[part]
			}
			if have != want {
				t.Errorf("record %d: %s = %#v, want %#v", tt.i, k, have, want)
			}
		}
	}
	if _, ok := lines[4]["fault"].(map[string]any)["stack"]; ok {
		t.Error("a cascade record repeats the root's stack")
	}
}

func TestLoggerLevels(t *testing.T) {
	var buf bytes.Buffer
	lg := observer.NewLogger(slog.New(slog.NewJSONHandler(&buf, nil))) // Info and up
	d := backplane.New()
	defer d.Drop()
	lg.Record(backplane.Event{Kind: backplane.EventCreated, Device: d.ID()})
	lg.Record(backplane.Event{Kind: backplane.EventDisconnected, Device: d.ID()})
	lg.Record(backplane.Event{Kind: backplane.EventDisconnected, Device: d.ID(), Fault: backplane.ErrorFault(errors.New("x"))})
	lg.RecordSupervisor(supervisor.ChildRestarted{Source: supervisor.Source{SupervisorID: d.ID()}, Instance: supervisor.Instance{Child: "w"}})
	lg.RecordSupervisor(supervisor.RestartLimitReached{Source: supervisor.Source{SupervisorID: d.ID(), Supervisor: "top"}})
	var levels []string
	for _, l := range logLines(t, &buf) {
		levels = append(levels, l["level"].(string)+" "+l["msg"].(string))
	}
	want := []string{
		"INFO backplane disconnected",
		"WARN backplane disconnected",
		"WARN supervisor child restarted",
		"ERROR supervisor restart limit reached",
	}
	if strings.Join(levels, "\n") != strings.Join(want, "\n") {
		t.Errorf("records:\n%s\nwant:\n%s", strings.Join(levels, "\n"), strings.Join(want, "\n"))
	}
}
