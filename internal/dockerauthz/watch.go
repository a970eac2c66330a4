package dockerauthz

import (
	"context"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// WatchEngine calls stop once the engine whose PID pidFile holds is gone,
// after it was seen running: the plugin serves one engine's lifetime and
// leaves nothing behind when the stack stops the engine.
func WatchEngine(ctx context.Context, pidFile string, stop func()) {
	seen := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
		alive := false
		if b, err := os.ReadFile(pidFile); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
				alive = syscall.Kill(pid, 0) == nil
			}
		}
		switch {
		case alive:
			seen = true
		case seen:
			stop()
			return
		}
	}
}
