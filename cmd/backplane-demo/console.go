package main

import (
	"bytes"
	"fmt"
	"io"
	"sync"
)

// console serializes what the processes of a multi-node demo print: the
// summary, event lines, and the lines of the child processes. On a
// terminal an event line first clears the summary being redrawn in place,
// which the next update draws again below it.
type console struct {
	mu  sync.Mutex
	out io.Writer
	tty bool
}

// Write writes p as it is (the summary's redraws go through it).
func (c *console) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out.Write(p)
}

// printf prints one line of its own.
func (c *console) printf(format string, args ...any) {
	c.line(fmt.Sprintf(format, args...))
}

// line prints s as a line of its own.
func (c *console) line(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tty {
		s = "\r\x1b[K" + s
	}
	fmt.Fprintln(c.out, s)
}

// lineWriter is an io.Writer for a child process's output: it prints each
// complete line on the console behind prefix, and what is left of an
// unfinished line at Close.
type lineWriter struct {
	c      *console
	prefix string
	buf    []byte
}

// Write prints the complete lines of p; exec.Cmd calls it from one
// goroutine at a time.
func (w *lineWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.c.line(w.prefix + string(bytes.TrimRight(w.buf[:i], "\r")))
		w.buf = w.buf[i+1:]
	}
	return len(p), nil
}

// flush prints an unfinished last line, once the process has exited.
func (w *lineWriter) flush() {
	if len(w.buf) > 0 {
		w.c.line(w.prefix + string(w.buf))
		w.buf = nil
	}
}
