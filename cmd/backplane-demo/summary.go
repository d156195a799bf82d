package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/backplane-go/backplane/internal/demo"
)

// summary prints the one-line summary: redrawn in place on a terminal,
// one line per update otherwise.
type summary struct {
	out   io.Writer
	tty   bool
	start time.Time
	extra func() string // if set, more to say at the end of the line
}

// update prints the current stats.
func (s *summary) update(st demo.Stats) {
	if s.tty {
		// \r back to the start of the line, \x1b[K clears what is left.
		fmt.Fprintf(s.out, "\r%s\x1b[K", s.line(st))
		return
	}
	fmt.Fprintln(s.out, s.line(st))
}

// final prints the last stats and ends the line.
func (s *summary) final(st demo.Stats) {
	if s.tty {
		fmt.Fprintf(s.out, "\r%s\x1b[K\n", s.line(st))
	} else {
		fmt.Fprintln(s.out, s.line(st))
	}
	fmt.Fprintln(s.out, "stopped: every supervisor and worker shut down")
}

func (s *summary) line(st demo.Stats) string {
	l := fmt.Sprintf("[%4s] %v", time.Since(s.start).Truncate(time.Second), st)
	if s.extra != nil {
		l += " | " + s.extra()
	}
	return l
}

// isTerminal reports whether f is a terminal (a character device).
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
