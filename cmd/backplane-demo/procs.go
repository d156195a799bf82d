package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"time"
)

// stopGrace is how long a child process is given to stop after its
// standard input is closed, before it is killed.
const stopGrace = 5 * time.Second

// proc keeps one child process of a multi-node demo running: it starts it,
// reports its end, starts it again (a new incarnation of its node) after
// restartAfter if it died, and stops it when its context is done.
type proc struct {
	cfg          childConfig
	exe          string        // the binary to run: this process's own
	con          *console      // where its lines and the child's go
	restartAfter time.Duration // 0: never start it again

	mu   sync.Mutex
	cur  *os.Process // the running process; nil between two
	pids []int       // every process started, in order
}

// newProc returns a proc for the child c; run starts it.
func newProc(c childConfig, exe string, con *console, restartAfter time.Duration) *proc {
	return &proc{cfg: c, exe: exe, con: con, restartAfter: restartAfter}
}

// run keeps the child running until ctx is done, then stops it: it closes
// the child's standard input, waits stopGrace for it to exit and kills it
// if it has not. It returns once the last process has exited and its
// output has been copied; the error is that of the first start.
func (p *proc) run(ctx context.Context) error {
	for first := true; ; first = false {
		cmd, stdin, done, err := p.start()
		if err != nil {
			if first {
				return err
			}
			p.con.printf("%s: cannot start again: %v", p.cfg.node, err)
			return nil
		}
		pid := cmd.Process.Pid
		if first {
			p.con.printf("%s: pid %d, backend %q (kill -9 %d to see the Unreachable cascade)", p.cfg.node, pid, p.cfg.backend, pid)
		} else {
			p.con.printf("%s: started again as pid %d, a new incarnation", p.cfg.node, pid)
		}
		select {
		case err := <-done:
			p.exited()
			if ctx.Err() == nil {
				p.con.printf("%s: pid %d exited: %v", p.cfg.node, pid, describeExit(err))
			}
		case <-ctx.Done():
			p.stop(cmd, stdin, done)
			return nil
		}
		if p.restartAfter <= 0 {
			<-ctx.Done()
			return nil
		}
		if ctx.Err() == nil {
			p.con.printf("%s: starting it again in %v", p.cfg.node, p.restartAfter)
		}
		t := time.NewTimer(p.restartAfter)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// start starts one process of the child. done receives the result of its
// Wait, which a goroutine of its own calls; run always receives it.
func (p *proc) start() (*exec.Cmd, io.WriteCloser, <-chan error, error) {
	out := &lineWriter{c: p.con, prefix: p.cfg.node + ": "}
	cmd := exec.Command(p.exe)
	cmd.Env = childEnv(p.cfg)
	cmd.Stdout, cmd.Stderr = out, out
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, nil, err
	}
	p.mu.Lock()
	p.cur = cmd.Process
	p.pids = append(p.pids, cmd.Process.Pid)
	p.mu.Unlock()
	done := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		out.flush()
		done <- err
	}()
	return cmd, stdin, done, nil
}

// exited records that the current process has exited.
func (p *proc) exited() {
	p.mu.Lock()
	p.cur = nil
	p.mu.Unlock()
}

// stop asks the process to stop by closing its standard input, and kills
// it if it has not exited after stopGrace.
func (p *proc) stop(cmd *exec.Cmd, stdin io.Closer, done <-chan error) {
	_ = stdin.Close()
	t := time.NewTimer(stopGrace)
	defer t.Stop()
	select {
	case err := <-done:
		if err != nil {
			p.con.printf("%s: pid %d: %v", p.cfg.node, cmd.Process.Pid, describeExit(err))
		}
	case <-t.C:
		p.con.printf("%s: pid %d did not stop within %v: killed", p.cfg.node, cmd.Process.Pid, stopGrace)
		_ = cmd.Process.Kill()
		<-done
	}
	p.exited()
}

// kill kills the running process with SIGKILL, as `kill -9` would, and
// returns its PID; 0 if none runs.
func (p *proc) kill() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cur == nil {
		return 0
	}
	if err := p.cur.Kill(); err != nil {
		return 0
	}
	return p.cur.Pid
}

// isUp reports whether a process of the child is running.
func (p *proc) isUp() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cur != nil
}

// PIDs returns the PIDs of every process of the child started so far.
func (p *proc) PIDs() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]int(nil), p.pids...)
}

// describeExit says how a process ended, from its Wait.
func describeExit(err error) string {
	if err == nil {
		return "exited cleanly"
	}
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		return ee.ProcessState.String() // "signal: killed", "exit status 1"
	}
	return fmt.Sprint(err)
}
