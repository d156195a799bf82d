package cluster

import (
	"testing"
	"time"
)

// The defaults documented on Config's fields, applied in one place.
func TestConfigDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   Config
		want Config
	}{
		{"zero", Config{Name: "a"}, Config{Name: "a", Cluster: "backplane", Listen: "127.0.0.1:0",
			Heartbeat: 100 * time.Millisecond, Timeout: time.Second}},
		{"routes", Config{Name: "a", Routes: []string{"nats://h:1"}}, Config{Name: "a", Cluster: "backplane",
			Listen: "127.0.0.1:0", RouteListen: "127.0.0.1:0", Routes: []string{"nats://h:1"},
			Heartbeat: 100 * time.Millisecond, Timeout: time.Second}},
		{"routes and URL", Config{Name: "a", URL: "nats://h:2", Routes: []string{"nats://h:1"}}, Config{Name: "a",
			Cluster: "backplane", URL: "nats://h:2", Listen: "127.0.0.1:0", Routes: []string{"nats://h:1"},
			Heartbeat: 100 * time.Millisecond, Timeout: time.Second}},
		{"set", Config{Name: "a", Cluster: "c", Listen: "0.0.0.0:4222", RouteListen: "0.0.0.0:6222", Heartbeat: time.Second, Timeout: 5 * time.Second},
			Config{Name: "a", Cluster: "c", Listen: "0.0.0.0:4222", RouteListen: "0.0.0.0:6222", Heartbeat: time.Second, Timeout: 5 * time.Second}},
	}
	for _, tt := range tests {
		got := tt.in.withDefaults()
		if got.Cluster != tt.want.Cluster || got.Listen != tt.want.Listen || got.RouteListen != tt.want.RouteListen ||
			got.Heartbeat != tt.want.Heartbeat || got.Timeout != tt.want.Timeout || got.URL != tt.want.URL {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
		// The transport is handed the same values, and applies no other.
		tc := got.transport()
		if tc.Cluster != got.Cluster || tc.Listen != got.Listen || tc.RouteListen != got.RouteListen ||
			tc.Heartbeat != got.Heartbeat || tc.Timeout != got.Timeout {
			t.Errorf("%s: transport config %+v differs from %+v", tt.name, tc, got)
		}
	}
}
