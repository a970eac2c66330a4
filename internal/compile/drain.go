package compile

import "time"

// How an instance leaves without failing a request, whatever the app does
// with SIGTERM. When Nomad stops an allocation (a rollout, a scale-in, the
// autoscaler, `nomad alloc stop`), it first deregisters the group's
// services from Consul, then waits the group's shutdown_delay, then signals
// the main task and waits up to its kill_timeout, and only then stops the
// sidecar (client/allocrunner: main tasks before sidecars). So:
//
//   - DrainDelay is how long every reader of the Consul catalog may take to
//     stop sending new requests to the instance. Traefik watches the
//     catalog with blocking queries (an answer the moment the instance is
//     deregistered) and applies a new configuration once its provider
//     throttle has passed (TraefikThrottle, set on the platform job);
//     sidecars' upstream lists come from blocking queries too. Twice the
//     throttle covers a change that arrives just after Traefik applied the
//     previous one; CatalogLag covers Consul's answer and a loaded node.
//   - StopTimeout is how long requests already in flight may still run
//     after SIGTERM; an app that ignores the signal is killed after it.
//
// The sidecar outlives the app, so requests in flight through it finish.
const (
	TraefikThrottle = time.Second
	CatalogLag      = 2 * time.Second
	DrainDelay      = 2*TraefikThrottle + CatalogLag
	StopTimeout     = 10 * time.Second
)
