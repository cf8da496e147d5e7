package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
)

// serveHTTP serves srv on ln until stopHTTP; a stop is not an error.
func serveHTTP(srv *http.Server, ln net.Listener) error {
	err := srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// stopHTTP stops srv serving ln gracefully: the listener closes first,
// then Shutdown drains the connections within ctx.
//
// The order matters. Shutdown turns keep-alives off (responses say
// "Connection: close", idle connections are closed) before its listener
// close reaches the kernel, which waits for the accept goroutine to run.
// A client told to close redials at once; while the socket still
// listens, the kernel completes that connection into the accept queue,
// and closing the socket then resets it: "connection reset by peer" for
// a request the server never read. With the socket closed first every
// such redial is refused, which a client can tell apart and retry
// elsewhere (docs/ARCHITECTURE.md, "Shutdown").
func stopHTTP(ctx context.Context, srv *http.Server, ln net.Listener) error {
	if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("close listener: %w", err)
	}
	// Shutdown closes the listener again unless Serve has already
	// returned: that second close's error means nothing.
	if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, net.ErrClosed) {
		return err
	}
	return nil
}
