package cli

import (
	"fmt"
	"io"
	"os"

	nomad "github.com/hashicorp/nomad/api"
	"github.com/mattn/go-isatty"
	ucli "github.com/urfave/cli/v2"

	"github.com/stackctl/stackctl/internal/cluster"
	"github.com/stackctl/stackctl/internal/logs"
)

func logsCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "logs",
		Usage:     "show the logs of every instance of a service, interleaved; -f to follow",
		ArgsUsage: "SERVICE",
		Description: `Reads the task logs of every running instance (Nomad allocation) of SERVICE,
stdout and stderr, through Nomad's log API. Each line is printed whole, after
its instance's short allocation ID and its stream:

    1f2e3d4c err | listening on :8080

With -f, lines are printed as the tasks write them, and instances that start
later join; following ends with Ctrl-C, or by itself once the service is
stopped and its last instances' logs were read.

Nomad keeps no time with a log line, so --since chooses instances, not lines:
it adds the instances that stopped within DURATION to the running ones, each
with its whole log. --tail N prints the last N lines of each log (counted in
its last (N+1)x512 bytes: fewer when lines are longer).

On a terminal, the prefix is coloured per instance (not with NO_COLOR) and
control characters a task wrote are shown escaped (\x1b); into a pipe or a
file, lines are written as the task wrote them.
It acts for the stack at --stack (default: the working directory) and
refuses a job of that name that another stack deployed or that stackctl
did not deploy.
The token needs the read-logs capability in the namespace
(policies/nomad/deployer.hcl grants it).
Exit status: 0 read (or interrupted while following), 1 no such service or
no instance to read, a refusal or a failure, 2 bad usage.`,
		Flags: append(stackFlags(),
			&ucli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "keep printing what the instances write, and follow new instances"},
			&ucli.DurationFlag{Name: "since", DefaultText: "running instances only", Usage: "also read instances that stopped less than `DURATION` ago (e.g. 30m)"},
			&ucli.IntFlag{Name: "tail", Value: -1, DefaultText: "all", Usage: "print the last `N` lines of each log"},
			&ucli.BoolFlag{Name: "stdout", DefaultText: "both streams", Usage: "only stdout"},
			&ucli.BoolFlag{Name: "stderr", DefaultText: "both streams", Usage: "only stderr"},
			&ucli.StringFlag{Name: "instance", Usage: "only the instance whose allocation ID starts with `ID`"},
			&ucli.StringFlag{Name: "task", Usage: "the `TASK` to read (default: the service's own; connect-proxy-SERVICE is its sidecar)"},
		),
		Action: runLogs,
	}
}

func runLogs(c *ucli.Context) error {
	if c.NArg() != 1 {
		return usageErrorf("logs takes one SERVICE (flags go before it)")
	}
	if c.Duration("since") < 0 {
		return usageErrorf("--since must be a positive duration, not %s", c.Duration("since"))
	}
	streams := []string{"stdout", "stderr"}
	switch {
	case c.Bool("stdout") && !c.Bool("stderr"):
		streams = []string{"stdout"}
	case c.Bool("stderr") && !c.Bool("stdout"):
		streams = []string{"stderr"}
	}
	owner, err := actingStack(c, c.Args().First())
	if err != nil {
		return err
	}
	ctx, cancel := interruptible(c.Context)
	defer cancel()
	cl, err := connect(ctx, cluster.Needs{})
	if err != nil {
		return err
	}
	out := newLogPrinter(c.App.Writer, c.App.ErrWriter)
	err = logs.Read(ctx, cl, logs.Options{
		Namespace: owner.Namespace, Stack: owner.Stack, Service: owner.Service, Task: c.String("task"),
		Streams: streams, Follow: c.Bool("follow"), Since: c.Duration("since"), Tail: c.Int("tail"),
		Instance: c.String("instance"),
	}, out)
	if err != nil && cluster.Interrupted(err) {
		return nil
	}
	return err
}

// logPrinter writes lines after their instance's prefix; on a terminal it
// colours the prefix and escapes what the task wrote.
type logPrinter struct {
	w, notes io.Writer
	terminal bool
	color    bool
	colors   map[string]string // by allocation ID
}

// streamTags mark a line's stream in its prefix.
var streamTags = map[string]string{"stdout": "out", "stderr": "err"}

// prefixColors are ANSI colours given to instances in turn.
var prefixColors = []string{"36", "33", "32", "35", "34", "31"}

func newLogPrinter(w, notes io.Writer) *logPrinter {
	p := &logPrinter{w: w, notes: notes, colors: map[string]string{}}
	if f, ok := w.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
		p.terminal = true
		p.color = os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb"
	}
	return p
}

func (p *logPrinter) prefix(a *nomad.AllocationListStub, stream string) string {
	s := cluster.ShortID(a.ID) + " " + streamTags[stream] + " |"
	if !p.color {
		return s
	}
	col, ok := p.colors[a.ID]
	if !ok {
		col = prefixColors[len(p.colors)%len(prefixColors)]
		p.colors[a.ID] = col
	}
	return "\x1b[" + col + "m" + s + "\x1b[0m"
}

func (p *logPrinter) Line(l logs.Line) {
	text := string(l.Text)
	if p.terminal {
		text = logs.Printable(l.Text)
	}
	if text == "" {
		fmt.Fprintln(p.w, p.prefix(l.Alloc, l.Stream))
		return
	}
	fmt.Fprintln(p.w, p.prefix(l.Alloc, l.Stream), text)
}

func (p *logPrinter) Notice(a *nomad.AllocationListStub, text string) {
	if a != nil {
		text = cluster.ShortID(a.ID) + ": " + text
	}
	fmt.Fprintln(p.notes, text)
}
