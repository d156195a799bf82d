#!/usr/bin/env escript
%%! +P 2000000 -smp enable
%%
%% The Erlang/OTP side of bench/compare: the operations of the Go
%% benchmarks in ../ (issue 3), done with processes, monitors and links.
%%
%% Usage: bench.escript [Count] [quick]
%%        bench.escript scale N...
%%   Count  how many times each measurement is repeated (default 5)
%%   quick  smaller iteration counts, for a fast look
%%   scale  only the chain of BenchmarkScale, once for each N (run it in a
%%          fresh VM per N, as the Go rows are: bench/compare does)
%%
%% Output: one line per measurement in the format of `go test -bench`, so
%% that the same tools read both, e.g.
%%   BenchmarkTask/spawn_exit/erlang-2  200000  1712.0 ns/op
%% The suffix is the number of online schedulers. Nothing here asserts a
%% timing.
-mode(compile).

main(["scale" | Ns]) ->
    io:format("goos: erlang~ngoarch: otp~s (erts ~s)~npkg: bench/erlang~n",
              [erlang:system_info(otp_release), erlang:system_info(version)]),
    Suffix = integer_to_list(erlang:system_info(schedulers_online)),
    lists:foreach(
      fun(NStr) ->
              N = list_to_integer(NStr),
              report("BenchmarkScale/n=" ++ NStr, Suffix, 1, scale(N))
      end, Ns);
main(Args) ->
    Count = case [A || A <- Args, A =/= "quick"] of
                [C | _] -> list_to_integer(C);
                [] -> 5
            end,
    Quick = lists:member("quick", Args),
    Scale = case Quick of true -> 10; false -> 1 end,
    io:format("goos: erlang~ngoarch: otp~s (erts ~s)~npkg: bench/erlang~n",
              [erlang:system_info(otp_release), erlang:system_info(version)]),
    Ops = [
        {"BenchmarkTask/monitor_error_notify",
         fun() -> monitor_error_notify(200000 div Scale) end},
        {"BenchmarkTask/spawn_exit",
         fun() -> spawn_exit(200000 div Scale) end},
        {"BenchmarkFanout/devices_100k",
         fun() -> fanout_procs(100000) end},
        {"BenchmarkFanout/devices_100k@one_process",
         fun() -> fanout_one_process(100000) end},
        {"BenchmarkFanout/tasks_1k",
         fun() -> fanout_tasks(1000, 50 div min(Scale, 5)) end},
        {"BenchmarkCascade/chain_100k",
         fun() -> chain(100000) end},
        {"BenchmarkLinkScale/edges_10",
         fun() -> link_scale(10, 200000 div Scale) end},
        {"BenchmarkLinkScale/edges_1000",
         fun() -> link_scale(1000, 200000 div Scale) end},
        {"BenchmarkLinkScale/edges_100000",
         fun() -> link_scale(100000, 200000 div Scale) end},
        {"BenchmarkMemory/device",
         fun() -> mem_process(100000 div Scale, "B/device") end},
        {"BenchmarkMemory/task",
         fun() -> mem_process(100000 div Scale, "B/task") end},
        {"BenchmarkMemory/edge",
         fun() -> mem_monitor(100000 div Scale) end}
    ],
    Suffix = integer_to_list(erlang:system_info(schedulers_online)),
    lists:foreach(
      fun({Name, Fun}) ->
              lists:foreach(
                fun(_) ->
                        {Iters, Metrics} = Fun(),
                        report(Name, Suffix, Iters, Metrics)
                end, lists:seq(1, Count))
      end, Ops).

%% A name "Op@shape" is printed as Op/erlang_shape, otherwise Op/erlang.
report(Name, Suffix, Iters, Metrics) ->
    Full = case string:split(Name, "@") of
               [Op, Shape] -> Op ++ "/erlang_" ++ Shape;
               [Op] -> Op ++ "/erlang"
           end,
    Cols = [io_lib:format("\t~.2f ~s", [float(V), U]) || {V, U} <- Metrics],
    io:format("~s-~s\t~b~s~n", [Full, Suffix, Iters, Cols]).

now_ns() -> erlang:monotonic_time(nanosecond).

%% Per iteration: a fresh watcher process starts a task it monitors; the
%% task exits with an error; the watcher gets 'DOWN' and tells us.
monitor_error_notify(N) ->
    Self = self(),
    T0 = now_ns(),
    watch_loop(Self, N),
    Dt = now_ns() - T0,
    {N, [{Dt / N, "ns/op"}]}.

watch_loop(_, 0) -> ok;
watch_loop(Self, K) ->
    spawn(fun() ->
                  {_, Ref} = spawn_monitor(fun() -> exit(boom) end),
                  receive {'DOWN', Ref, process, _, boom} -> Self ! done end
          end),
    receive done -> ok end,
    watch_loop(Self, K - 1).

%% spawn_monitor a process that returns at once; wait for its 'DOWN'.
spawn_exit(N) ->
    T0 = now_ns(),
    spawn_exit_loop(N),
    Dt = now_ns() - T0,
    {N, [{Dt / N, "ns/op"}]}.

spawn_exit_loop(0) -> ok;
spawn_exit_loop(K) ->
    {_, Ref} = spawn_monitor(fun() -> ok end),
    receive {'DOWN', Ref, process, _, _} -> ok end,
    spawn_exit_loop(K - 1).

%% One source monitored by N watcher processes exits with an error; timed
%% until every watcher has received its 'DOWN' (the last one to count it
%% tells us).
fanout_procs(N) ->
    Self = self(),
    Src = spawn(fun() -> receive go -> exit(boom) end end),
    Counter = atomics:new(1, []),
    Watchers = [spawn(fun() ->
                              Ref = monitor(process, Src),
                              Self ! ready,
                              receive {'DOWN', Ref, process, _, boom} ->
                                      case atomics:add_get(Counter, 1, 1) of
                                          N -> Self ! all_told;
                                          _ -> ok
                                      end
                              end,
                              receive stop -> ok end
                      end) || _ <- lists:seq(1, N)],
    wait_n(ready, N),
    T0 = now_ns(),
    Src ! go,
    receive all_told -> ok end,
    Dt = now_ns() - T0,
    [W ! stop || W <- Watchers],
    {1, [{Dt, "ns/op"}, {Dt / N, "ns/notification"}]}.

%% The same fan-out with all N monitors held by one process (this one):
%% every 'DOWN' lands in one mailbox.
fanout_one_process(N) ->
    Src = spawn(fun() -> receive go -> exit(boom) end end),
    [monitor(process, Src) || _ <- lists:seq(1, N)],
    T0 = now_ns(),
    Src ! go,
    wait_down(N),
    Dt = now_ns() - T0,
    {1, [{Dt, "ns/op"}, {Dt / N, "ns/notification"}]}.

%% N tasks linked to one source; the source exits with an error and the
%% links take every task down. We monitor the tasks to see them go; timed
%% until all are gone. Rounds repetitions are averaged.
fanout_tasks(N, Rounds) ->
    Dts = [fanout_tasks_once(N) || _ <- lists:seq(1, Rounds)],
    Dt = lists:sum(Dts) / Rounds,
    {Rounds, [{Dt, "ns/op"}, {Dt / N, "ns/notification"}]}.

fanout_tasks_once(N) ->
    Self = self(),
    Src = spawn(fun() ->
                        [spawn_link(fun() -> Self ! {task, self()},
                                             receive never -> ok end
                                    end) || _ <- lists:seq(1, N)],
                        receive go -> exit(boom) end
                end),
    Tasks = [receive {task, P} -> P end || _ <- lists:seq(1, N)],
    [monitor(process, P) || P <- Tasks],
    T0 = now_ns(),
    Src ! go,
    wait_down(N),
    now_ns() - T0.

%% A chain of N linked processes; the last exits with an error; timed until
%% the first is gone.
chain(N) ->
    Self = self(),
    Head = spawn(fun() -> chain_link(Self, N - 1) end),
    Tail = receive {tail, T} -> T end,
    Ref = monitor(process, Head),
    T0 = now_ns(),
    Tail ! go,
    receive {'DOWN', Ref, process, _, _} -> ok end,
    Dt = now_ns() - T0,
    {1, [{Dt, "ns/op"}, {Dt / (N - 1), "ns/hop"}]}.

chain_link(Self, 0) ->
    Self ! {tail, self()},
    receive go -> exit(boom) end;
chain_link(Self, K) ->
    spawn_link(fun() -> chain_link(Self, K - 1) end),
    receive never -> ok end.

%% The shape of BenchmarkScale (bench/scale_test.go): a chain of N linked
%% processes, each spawned by the one before it; the last exits with an
%% error and the links take the chain down to the first, which a monitor
%% here sees. Phases, per process: create (until the last one runs),
%% cascade (until the 'DOWN' of the first), collect (until the VM's
%% process count is back where it was, then a collection of this
%% process); gc-cycles/op is 0: each process has its own heap, collected
%% alone.
scale(N) ->
    Self = self(),
    Base = erlang:system_info(process_count),
    T0 = now_ns(),
    Head = spawn(fun() -> chain_link(Self, N - 1) end),
    Tail = receive {tail, T} -> T end,
    T1 = now_ns(),
    Ref = monitor(process, Head),
    Tail ! go,
    receive {'DOWN', Ref, process, _, _} -> ok end,
    T2 = now_ns(),
    wait_count(Base),
    true = garbage_collect(),
    T3 = now_ns(),
    [{T3 - T0, "ns/op"},
     {(T1 - T0) / N, "create-ns/device"},
     {(T2 - T1) / N, "cascade-ns/device"},
     {(T3 - T2) / N, "collect-ns/device"},
     {(T3 - T0) / N, "total-ns/device"},
     {0, "gc-cycles/op"}].

%% Waits until no more than Base processes are alive.
wait_count(Base) ->
    case erlang:system_info(process_count) > Base of
        true -> erlang:yield(), wait_count(Base);
        false -> ok
    end.

%% monitor + demonitor of one more process, with N monitors already held
%% on the same target.
link_scale(N, Iters) ->
    Target = spawn(fun() -> receive stop -> ok end end),
    Refs = [monitor(process, Target) || _ <- lists:seq(1, N)],
    T0 = now_ns(),
    link_scale_loop(Target, Iters),
    Dt = now_ns() - T0,
    [demonitor(R, [flush]) || R <- Refs],
    Target ! stop,
    {Iters, [{Dt / Iters, "ns/op"}]}.

link_scale_loop(_, 0) -> ok;
link_scale_loop(Target, K) ->
    Ref = monitor(process, Target),
    demonitor(Ref),
    link_scale_loop(Target, K - 1).

%% Bytes per idle process: the mean of process_info(P, memory) (stack,
%% heap and process structure) over N processes waiting in receive.
mem_process(N, Unit) ->
    Ps = [spawn(fun() -> receive stop -> ok end end) || _ <- lists:seq(1, N)],
    Total = lists:sum([element(2, process_info(P, memory)) || P <- Ps]),
    [P ! stop || P <- Ps],
    {1, [{Total / N, Unit}]}.

%% Bytes per monitor: a holder process sets N monitors on one target; the
%% growth of both processes' memory (process_info memory counts their
%% monitor structures), each measured after a collection, divided by N.
mem_monitor(N) ->
    Self = self(),
    Target = spawn(fun() -> receive stop -> ok end end),
    Holder = spawn(fun() ->
                           Before = settled_memory(self()) + settled_memory(Target),
                           monitor_n(Target, N),
                           After = settled_memory(self()) + settled_memory(Target),
                           Self ! {monitor_bytes, After - Before},
                           receive stop -> ok end
                   end),
    Bytes = receive {monitor_bytes, B} -> B end,
    Holder ! stop,
    Target ! stop,
    {1, [{Bytes / N, "B/edge"}]}.

monitor_n(_, 0) -> ok;
monitor_n(Target, K) ->
    _ = monitor(process, Target),
    monitor_n(Target, K - 1).

settled_memory(P) ->
    true = garbage_collect(P),
    {memory, M} = process_info(P, memory),
    M.

wait_n(_, 0) -> ok;
wait_n(Msg, K) -> receive Msg -> wait_n(Msg, K - 1) end.

wait_down(0) -> ok;
wait_down(K) -> receive {'DOWN', _, process, _, _} -> wait_down(K - 1) end.
