package supervisor_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"

	"github.com/backplane-go/backplane/supervisor"
)

func TestSignificant(t *testing.T) {
	type step struct {
		child string
		how   string // "clean", "fail", "terminate"
	}
	tests := []struct {
		name     string
		auto     supervisor.AutoShutdown
		x, y     supervisor.Restart // restart types of the two significant children
		steps    []step
		shutdown bool // the supervisor shut itself down after the last step
	}{
		{"any/transient clean", supervisor.AnySignificant, supervisor.Transient, supervisor.Transient, []step{{"x", "clean"}}, true},
		{"any/transient fault restarts", supervisor.AnySignificant, supervisor.Transient, supervisor.Transient, []step{{"x", "fail"}}, false},
		{"any/temporary fault", supervisor.AnySignificant, supervisor.Temporary, supervisor.Temporary, []step{{"x", "fail"}}, true},
		{"any/terminated by API", supervisor.AnySignificant, supervisor.Transient, supervisor.Transient, []step{{"x", "terminate"}}, false},
		{"any/bystander", supervisor.AnySignificant, supervisor.Transient, supervisor.Transient, []step{{"w", "clean"}}, false},
		{"all/one of two", supervisor.AllSignificant, supervisor.Transient, supervisor.Temporary, []step{{"x", "clean"}}, false},
		{"all/both", supervisor.AllSignificant, supervisor.Transient, supervisor.Temporary, []step{{"x", "clean"}, {"y", "fail"}}, true},
		{"all/other terminated", supervisor.AllSignificant, supervisor.Transient, supervisor.Transient, []step{{"y", "terminate"}, {"x", "clean"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := &recorder{}
				ws := map[string]*worker{"w": newWorker(), "x": newWorker(), "y": newWorker()}
				sup := mustNew(t, rec.option(), supervisor.WithAutoShutdown(tt.auto), supervisor.WithChildren(
					supervisor.ChildSpec{ID: "w", Service: ws["w"], Restart: supervisor.Transient},
					supervisor.ChildSpec{ID: "x", Service: ws["x"], Restart: tt.x, Significant: true},
					supervisor.ChildSpec{ID: "y", Service: ws["y"], Restart: tt.y, Significant: true}))
				s := serve(sup)
				synctest.Wait()
				for _, st := range tt.steps {
					switch st.how {
					case "clean":
						ws[st.child].clean()
					case "fail":
						ws[st.child].fail()
					case "terminate":
						if err := sup.TerminateChild(context.Background(), st.child); err != nil {
							t.Fatal(err)
						}
					}
					synctest.Wait()
				}
				if s.isDone() != tt.shutdown {
					t.Fatalf("shut down: %v, want %v (events %q)", s.isDone(), tt.shutdown, rec.log())
				}
				if tt.shutdown {
					if err := s.wait(); err != nil {
						t.Fatalf("Serve after auto-shutdown: %v", err)
					}
					if rec.count(supervisor.EventAutoShutdown) != 1 {
						t.Errorf("events %q", rec.log())
					}
					return
				}
				stop(t, sup, s)
			})
		})
	}
}

func TestConfigValidation(t *testing.T) {
	w := newWorker()
	sub := mustNew(t)
	tests := []struct {
		name string
		opts []supervisor.Option
	}{
		{"significant permanent", []supervisor.Option{supervisor.WithAutoShutdown(supervisor.AnySignificant),
			supervisor.WithChildren(supervisor.ChildSpec{ID: "a", Service: w, Significant: true})}},
		{"significant under never", []supervisor.Option{
			supervisor.WithChildren(supervisor.ChildSpec{ID: "a", Service: w, Restart: supervisor.Transient, Significant: true})}},
		{"auto-shutdown dynamic", []supervisor.Option{supervisor.WithStrategy(supervisor.Dynamic), supervisor.WithAutoShutdown(supervisor.AllSignificant)}},
		{"empty ID", []supervisor.Option{supervisor.WithChildren(supervisor.ChildSpec{Service: w})}},
		{"duplicate ID", []supervisor.Option{supervisor.WithChildren(supervisor.ChildSpec{ID: "a", Service: w}, supervisor.ChildSpec{ID: "a", Service: w})}},
		{"nil service", []supervisor.Option{supervisor.WithChildren(supervisor.ChildSpec{ID: "a"})}},
		{"bad restart", []supervisor.Option{supervisor.WithChildren(supervisor.ChildSpec{ID: "a", Service: w, Restart: 9})}},
		{"bad shutdown", []supervisor.Option{supervisor.WithChildren(supervisor.ChildSpec{ID: "a", Service: w, Shutdown: -2})}},
		{"bad strategy", []supervisor.Option{supervisor.WithStrategy(9)}},
		{"bad auto", []supervisor.Option{supervisor.WithAutoShutdown(9)}},
		{"negative intensity", []supervisor.Option{supervisor.WithIntensity(-1, 1)}},
		{"zero period", []supervisor.Option{supervisor.WithIntensity(1, 0)}},
		{"backoff max < min", []supervisor.Option{supervisor.WithBackoff(2, 1, 0)}},
		{"jitter > 1", []supervisor.Option{supervisor.WithBackoff(1, 2, 1.5)}},
		{"same supervisor twice", []supervisor.Option{supervisor.WithChildren(
			supervisor.ChildSpec{ID: "a", Service: sub}, supervisor.ChildSpec{ID: "b", Service: sub})}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := supervisor.New(tt.opts...)
			var ce *supervisor.ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("New: %v, want a *ConfigError", err)
			}
		})
	}
	// The valid combinations pass.
	if _, err := supervisor.New(supervisor.WithAutoShutdown(supervisor.AnySignificant), supervisor.WithChildren(
		supervisor.ChildSpec{ID: "a", Service: w, Restart: supervisor.Transient, Significant: true},
		supervisor.ChildSpec{ID: "b", Service: w, Restart: supervisor.Temporary, Significant: true},
		supervisor.ChildSpec{ID: "c", Service: w})); err != nil {
		t.Fatal(err)
	}
}

// TestAddChildValidation: AddChild applies the same rules at run time.
func TestAddChildValidation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sup := mustNew(t)
		s := serve(sup)
		var ce *supervisor.ConfigError
		_, err := sup.AddChild(context.Background(), supervisor.ChildSpec{ID: "a", Service: newWorker(), Restart: supervisor.Transient, Significant: true})
		if !errors.As(err, &ce) {
			t.Fatalf("AddChild significant under Never: %v", err)
		}
		if _, err := sup.AddChild(context.Background(), supervisor.ChildSpec{Service: newWorker()}); !errors.As(err, &ce) {
			t.Fatalf("AddChild empty ID: %v", err)
		}
		stop(t, sup, s)
	})
}
