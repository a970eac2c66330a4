// Command demo is the small HTTP service every example in jobs/ runs. It
// shows what the platform gave it without leaking anything:
//
//	GET /healthz           200, or 500 when FAIL_HEALTH=1
//	GET /                  {"service": $SERVICE_NAME, "alloc": $NOMAD_ALLOC_ID, "host": hostname}
//	GET /env/NAME          sha256 (hex) of the variable's value, 404 when unset
//	GET /call/VAR[/path]   GET http://$VAR/path (an upstream address such as
//	                       127.0.0.1:9091) and relay its status and body;
//	                       VAR is NAME_ADDR or NOMAD_UPSTREAM_ADDR_*, holding
//	                       host:port; errors name VAR, never its value
//	GET /burn?ms=N         spin one CPU for N ms (autoscaling tests)
//	GET /dial?addr=H:P     only with PROBE=1: open a TCP connection, send a
//	                       plain HTTP request, report what happened
//	                       (boundary tests)
//	GET /http?method=M&url=U&body=B  only with PROBE=1: send one request
//	                       without credentials, report the status and the
//	                       start of the answer
//
// It listens on $PORT (default 8080) and stops gracefully on SIGTERM/SIGINT,
// or, with IGNORE_SIGTERM=1, ignores SIGTERM and serves until it is killed,
// as many third-party apps do (the zero-downtime tests use it). With
// arguments it runs one command and exits instead (commands.go), for
// `stackctl exec`: demo version, demo exit N, demo cat.
// With CRASH_AT_START=1 it panics before listening (exit 2, "panic: demo:
// crash at start (CRASH_AT_START=1)" on stderr): a release that crashes at
// start, for the tests of deploy's failure inspector.
package main

import (
	"context"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) > 1 {
		os.Exit(command(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	crashIfAsked(os.LookupEnv)
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	srv := &http.Server{
		Addr:              ":" + port,
		Handler:           newHandler(os.LookupEnv, &http.Client{Timeout: 10 * time.Second}),
		ReadHeaderTimeout: 5 * time.Second,
	}
	stopSignals := []os.Signal{syscall.SIGTERM, syscall.SIGINT}
	if os.Getenv("IGNORE_SIGTERM") == "1" {
		signal.Ignore(syscall.SIGTERM)
		stopSignals = stopSignals[1:]
	}
	ctx, stop := signal.NotifyContext(context.Background(), stopSignals...)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Printf("demo listening on :%s", port)
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		log.Fatal(err)
	}
}

// crashPanic is the recognisable first line a crash at start writes.
const crashPanic = "demo: crash at start (CRASH_AT_START=1)"

// crashIfAsked panics, as a broken release would, when CRASH_AT_START=1.
func crashIfAsked(env lookupEnv) {
	if v, _ := env("CRASH_AT_START"); v == "1" {
		panic(crashPanic)
	}
}
