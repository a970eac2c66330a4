package cli

import (
	"strings"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/stackctl/stackctl/internal/cluster/clustertest"
)

// allocIOCmd is the part of the cluster script command for what tasks
// write and what happens while stackctl logs -f follows them:
//
//	cluster log SERVICE TASK STREAM TEXT...   every instance's TASK writes TEXT on STREAM
//	cluster timeline SERVICE STEP...          start | stop, one per watch of its allocations
func allocIOCmd(ts *testscript.TestScript, fake *clustertest.Cluster, verb string, args []string) {
	switch verb {
	case "log":
		if len(args) < 4 {
			ts.Fatalf("usage: cluster log SERVICE TASK STREAM TEXT...")
		}
		ts.Check(fake.AppendLog("default", args[0], "", args[1], args[2], strings.Join(args[3:], " ")+"\n"))
	case "timeline":
		fake.AddTimeline("default", args[0], args[1:]...)
	}
	ts.Check(fake.Save())
}
