package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// serveUntilSignal serves h on ln until SIGINT or SIGTERM, then shuts the
// server down (5 s grace) and returns the exit code. It is the main loop
// of the small single-server commands (fake-model, sim-provider).
func serveUntilSignal(h http.Handler, ln net.Listener, logger *slog.Logger, what string) int {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shCtx)
	}()
	logger.Info(what+" listening", "addr", ln.Addr().String())
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		logger.Error(what+" stopped", "err", err)
		return exitFail
	}
	return exitOK
}
