// Command loadgen sends a bounded HTTP load to a loopback address at a fixed
// rate and prints what came back (internal/loadgen):
//
//	go run ./bench/loadgen -url http://127.0.0.1:8000/ -host shop.localhost -rate 600 -duration 60s
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/stackctl/stackctl/internal/loadgen"
)

func main() {
	var o loadgen.Options
	flag.StringVar(&o.URL, "url", "http://127.0.0.1:8000/", "target (loopback only)")
	flag.StringVar(&o.Host, "host", "", "Host header")
	flag.IntVar(&o.Rate, "rate", 600, "requests per second")
	flag.IntVar(&o.Clients, "clients", 8, "concurrent clients")
	flag.DurationVar(&o.Duration, "duration", 60*time.Second, "how long")
	flag.BoolVar(&o.KeepAlive, "keepalive", true, "reuse connections")
	asJSON := flag.Bool("json", false, "print the report as JSON")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, err := loadgen.Run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(2)
	}
	if *asJSON {
		_ = json.NewEncoder(os.Stdout).Encode(rep)
	} else {
		fmt.Println(rep)
	}
	if rep.Failed() > 0 {
		os.Exit(1)
	}
}
