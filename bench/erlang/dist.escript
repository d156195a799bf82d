#!/usr/bin/env escript
%%
%% Erlang distribution beside the cluster's BenchmarkRemote (issue 15):
%% two nodes on loopback, this one and a peer started with the peer module
%% (`erl -sname`, epmd started as needed), the shapes of
%% cluster/bench_test.go.
%%
%% Usage: dist.escript [Count] [quick]
%%   Count  how many times each measurement is repeated (default 5)
%%   quick  smaller iteration counts, for a fast look
%%
%% Shapes, one line each in the format of `go test -bench`:
%%   BenchmarkRemote/latency/erlang      a message to a process on the peer,
%%       which exits on receiving it, and its 'DOWN' back to the monitor
%%       here: a round trip of two hops. ns/op is the mean round trip;
%%       ns/hop-median and ns/hop-p99 are half the round trip.
%%   BenchmarkRemote/throughput/erlang   a burst: a process here holds
%%       10,000 monitors of one process on the peer, which exits; timed
%%       until the 10,000th 'DOWN' arrived. ns/op is the burst.
%%   BenchmarkRemote/node_killed/erlang  a fresh peer node runs 1,000
%%       processes, each monitored from here; the peer halts at once
%%       (erlang:halt/2 without flushing, as a kill); timed until the
%%       1,000 'DOWN's with noconnection arrived.
%%
%% The processes on the peer run only BIFs (erlang:hibernate/3 waiting for
%% any message, then erlang:exit/1), so no code is loaded there. The suffix
%% of a name is the number of online schedulers. Nothing here asserts a
%% timing.
-mode(compile).

main(Args) ->
    Count = case [A || A <- Args, A =/= "quick"] of
                [C | _] -> list_to_integer(C);
                [] -> 5
            end,
    Quick = lists:member("quick", Args),
    Scale = case Quick of true -> 10; false -> 1 end,
    ok = start_distribution(),
    io:format("goos: erlang~ngoarch: otp~s (erts ~s)~npkg: bench/erlang/dist~n",
              [erlang:system_info(otp_release), erlang:system_info(version)]),
    {ok, Peer, Node} = start_peer(),
    Suffix = integer_to_list(erlang:system_info(schedulers_online)),
    Ops = [
        {"BenchmarkRemote/latency", fun() -> latency(Node, 5000 div Scale) end},
        {"BenchmarkRemote/throughput", fun() -> burst(Node, 10000 div Scale) end},
        {"BenchmarkRemote/node_killed", fun() -> node_killed(1000 div Scale) end}
    ],
    lists:foreach(
      fun({Name, Fun}) ->
              lists:foreach(
                fun(_) ->
                        {Iters, Metrics} = Fun(),
                        report(Name, Suffix, Iters, Metrics)
                end, lists:seq(1, Count))
      end, Ops),
    peer:stop(Peer).

report(Name, Suffix, Iters, Metrics) ->
    Cols = [io_lib:format("\t~.2f ~s", [float(V), U]) || {V, U} <- Metrics],
    io:format("~s/erlang-~s\t~b~s~n", [Name, Suffix, Iters, Cols]).

now_ns() -> erlang:monotonic_time(nanosecond).

%% This node becomes distributed under a name of its own (epmd is started
%% by net_kernel if it does not run).
start_distribution() ->
    _ = os:cmd("epmd -daemon"),
    Name = list_to_atom("bench_dist_" ++ os:getpid()),
    case net_kernel:start(Name, #{name_domain => shortnames}) of
        {ok, _} -> ok;
        {error, {already_started, _}} -> ok;
        Err -> Err
    end.

%% A peer node on this host, connected by distribution (TCP on loopback).
start_peer() ->
    peer:start(#{name => peer:random_name(bench_peer),
                 args => ["-setcookie", atom_to_list(erlang:get_cookie())],
                 wait_boot => 60000}).

%% A process on Node that exits with boom at its first message.
exit_on_message(Node) ->
    spawn(Node, erlang, hibernate, [erlang, exit, [boom]]).

%% Waits until Node has handled everything this process sent it before.
sync(Node) ->
    true = is_pid(rpc:call(Node, erlang, whereis, [init])),
    ok.

latency(Node, N) ->
    Batch = 200,
    Samples = latency_batches(Node, N, Batch, []),
    Sorted = lists:sort(Samples),
    Mean = lists:sum(Samples) / N,
    {N, [{Mean, "ns/op"},
         {percentile(Sorted, 0.5) / 2, "ns/hop-median"},
         {percentile(Sorted, 0.99) / 2, "ns/hop-p99"}]}.

latency_batches(_, 0, _, Acc) -> Acc;
latency_batches(Node, N, Batch, Acc) ->
    K = min(N, Batch),
    Ps = [begin P = exit_on_message(Node), {P, monitor(process, P)} end
          || _ <- lists:seq(1, K)],
    ok = sync(Node),
    Ts = [begin
              T0 = now_ns(),
              P ! go,
              receive {'DOWN', Ref, process, _, boom} -> ok end,
              now_ns() - T0
          end || {P, Ref} <- Ps],
    latency_batches(Node, N - K, Batch, Ts ++ Acc).

percentile(Sorted, Q) ->
    Len = length(Sorted),
    I = max(1, min(Len, round(Q * Len))),
    lists:nth(I, Sorted).

burst(Node, N) ->
    P = exit_on_message(Node),
    [monitor(process, P) || _ <- lists:seq(1, N)],
    ok = sync(Node),
    T0 = now_ns(),
    P ! go,
    wait_down(N, boom),
    Dt = now_ns() - T0,
    {1, [{Dt, "ns/op"}, {N / Dt * 1.0e9, "notifications/s"}, {Dt / N, "ns/notification"}]}.

node_killed(N) ->
    {ok, Peer, Node} = start_peer(),
    [monitor(process, exit_on_message(Node)) || _ <- lists:seq(1, N)],
    ok = sync(Node),
    T0 = now_ns(),
    true = rpc:cast(Node, erlang, halt, [137, [{flush, false}]]),
    wait_down(N, noconnection),
    Dt = now_ns() - T0,
    catch peer:stop(Peer),
    {1, [{Dt, "ns/op"}]}.

wait_down(0, _) -> ok;
wait_down(K, Reason) ->
    receive {'DOWN', _, process, _, Reason} -> wait_down(K - 1, Reason) end.
