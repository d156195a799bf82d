package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"syscall"
	"time"
)

// serveFunc starts serving h and returns its base URL and a function that
// stops serving; run calls it once and stops it before returning.
type serveFunc func(h http.Handler) (url string, stop func(), err error)

// listenTCP serves on addr.
func listenTCP(addr string) serveFunc {
	return func(h http.Handler) (string, func(), error) {
		ln, err := net.Listen("tcp", addr)
		if errors.Is(err, syscall.EADDRINUSE) {
			return "", nil, fmt.Errorf("%s is already in use (another demo running?): choose another address, e.g. -addr 127.0.0.1:0 for any free port", addr)
		}
		if err != nil {
			return "", nil, err
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = srv.Serve(ln) // returns http.ErrServerClosed after Close
		}()
		stop := func() {
			// Close, not Shutdown: the page's event stream never goes idle.
			_ = srv.Close()
			<-done
		}
		return "http://" + ln.Addr().String() + "/", stop, nil
	}
}
