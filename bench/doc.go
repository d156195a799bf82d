// Package bench holds the side-by-side benchmarks of issue 3: backplane
// against plain Go baselines and against other Go supervision and actor
// libraries, under the same benchmark names for every system, so that one
// run of bench/compare can print them as one table.
//
// It is a module of its own so that the peers never become dependencies of
// the library. The package has no exported API; everything is in the
// _test.go files:
//
//   - task_test.go: BenchmarkTask (monitor_error_notify, spawn_exit)
//   - fanout_test.go: BenchmarkFanout (devices_100k, tasks_1k)
//   - cascade_test.go: BenchmarkCascade (chain_100k)
//   - linkscale_test.go: BenchmarkLinkScale (edges_10, edges_1000, edges_100000)
//   - memory_test.go: BenchmarkMemory (device, edge, task)
//   - million_test.go: BenchmarkMillion (devices_edges)
//   - scale_test.go: BenchmarkScale (n=1000 to n=1000000, backplane and plain)
//
// Sub-benchmarks are named after the system: backplane, plain (a plain Go
// baseline), protoactor (github.com/asynkron/protoactor-go) and suture
// (github.com/thejerf/suture/v4). The Erlang side is erlang/bench.escript,
// and erlang/dist.escript for the cluster's BenchmarkRemote (two Erlang
// nodes on loopback). The 100k and 1M shapes are skipped under -short.
//
// Three commands read the outputs: cmd/table prints one table of every
// operation and system, cmd/scaleplot the per-scale table of
// BenchmarkScale with an SVG plot of it, and cmd/seedrust the seed suite
// against the Rust crate's figures scaled by plain Go's yardsticks (the
// script seedcheck measures both, interleaved, and runs it).
package bench
