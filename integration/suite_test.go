//go:build integration

package integration

import "testing"

// TestSuite runs every phase against the one dev stack, in this order:
// each phase leaves the stack as the next expects (the lifecycle deploys,
// scales and breaks things on purpose; the last phase stops an agent). One
// phase alone: go test -tags integration -run 'TestSuite/lifecycle' ./integration
func TestSuite(t *testing.T) {
	for _, phase := range []struct {
		name string
		run  func(*testing.T)
	}{
		{"stack", testStackWiring},
		{"compose-file", testComposeFileValid},
		{"rendered-jobs", testRenderedJobsAcceptedByNomad},
		{"rendered-policies", testRenderedPoliciesAcceptedByVault},
		{"rendered-intentions", testRenderedIntentionsAcceptedByConsul},
		{"example-system", testExampleSystem},
		{"mesh-and-routing", testMeshAndRouting},
		{"boundaries", testBoundaries},
		{"hostile-deployer", testHostileDeployer}, // after boundaries: uses its allocations
		{"lifecycle", testLifecycle},
		{"zero-downtime", testZeroDowntime},
		{"zero-downtime-deploy", testZeroDowntimeDeploy},
		{"healthy-means-routable", testHealthyMeansRoutable},
		{"logs-and-exec", testLogsAndExec},
		{"import-compose", testImportCompose},
		{"stopped-agent", testStoppedAgentIsNamed}, // breaks the stack: last
	} {
		t.Run(phase.name, phase.run)
	}
}
