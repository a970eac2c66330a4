package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	nomad "github.com/hashicorp/nomad/api"
	ucli "github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/stackctl/stackctl/internal/cluster"
	"github.com/stackctl/stackctl/internal/taskexec"
)

// Exit codes of exec besides the command's own, as docker exec's.
const (
	ExitExecFailed  = 125 // the command could not be run, or the session broke off
	ExitInterrupted = 130 // Ctrl-C (128 + SIGINT) ended the session
)

func execCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "exec",
		Usage:     "run a command in an instance of a service",
		ArgsUsage: "SERVICE -- COMMAND [ARG...]",
		Description: `Runs COMMAND in the newest running instance of SERVICE (or the one --instance
names), in the service's own task (--task connect-proxy-SERVICE for its
sidecar), through Nomad's exec API. The command runs as the image has it:
there is no shell unless the image has one (stackctl exec api -- sh).

-i passes stdin to the command; without it the command reads an empty stdin.
-t gives the command a terminal. When stdin is a terminal, both are on unless
set otherwise (-i=false, -t=false); -i -t with a stdin that is not a terminal
is refused.

Exit status: the command's own exit status when it ran (0-255); 125 when it
could not be run (no such service, no running instance, Nomad refused or
was unreachable, the session broke off), 130 when Ctrl-C ended the session,
2 for bad usage (found before anything is contacted).

It acts for the stack at --stack (default: the working directory) and
refuses a job of that name that another stack deployed or that stackctl
did not deploy (exit status 125).
The token needs the alloc-exec capability in the namespace
(policies/nomad/deployer.hcl grants it).`,
		Flags: append(stackFlags(),
			&ucli.StringFlag{Name: "instance", Usage: "the instance whose allocation ID starts with `ID` (default: the newest running)"},
			&ucli.StringFlag{Name: "task", Usage: "the `TASK` to run in (default: the service's own)"},
			&ucli.BoolFlag{Name: "interactive", Aliases: []string{"i"}, DefaultText: "when stdin is a terminal", Usage: "pass stdin to the command"},
			&ucli.BoolFlag{Name: "tty", Aliases: []string{"t"}, DefaultText: "when stdin is a terminal", Usage: "give the command a terminal"},
		),
		Action: runExec,
	}
}

func runExec(c *ucli.Context) error {
	// Flag parsing stops at SERVICE, so the "--" after it is still there.
	service, command := c.Args().First(), c.Args().Tail()
	if len(command) > 0 && command[0] == "--" {
		command = command[1:]
	}
	if service == "" || len(command) == 0 {
		return usageErrorf("exec takes SERVICE -- COMMAND [ARG...] (flags go before SERVICE)")
	}
	stdin, stdinTTY := c.App.Reader.(*os.File)
	stdinTTY = stdinTTY && term.IsTerminal(int(stdin.Fd()))
	interactive, tty := stdinTTY, stdinTTY
	if c.IsSet("interactive") {
		interactive = c.Bool("interactive")
	}
	if c.IsSet("tty") {
		tty = c.Bool("tty")
	}
	if tty && interactive && !stdinTTY {
		return usageErrorf("-t needs stdin to be a terminal with -i (use -t=false to pipe input)")
	}
	owner, err := actingStack(c, service)
	var ee *exitError
	if errors.As(err, &ee) && ee.code == ExitError {
		ee.code = ExitExecFailed // invalid descriptors: the command could not be run
	}
	if err != nil {
		return err
	}
	ctx, cancel := interruptible(c.Context)
	defer cancel()
	cl, err := connect(ctx, cluster.Needs{})
	if err != nil {
		return &exitError{code: ExitExecFailed, err: err}
	}
	opts := taskexec.Options{
		Namespace: owner.Namespace, Stack: owner.Stack, Service: service, Task: c.String("task"), Instance: c.String("instance"),
		Command: command, TTY: tty, Stdout: c.App.Writer, Stderr: c.App.ErrWriter,
		Chose: func(a *nomad.AllocationListStub, running int) {
			if stdinTTY {
				fmt.Fprintf(c.App.ErrWriter, "In instance %s, the newest of %d running (--instance picks another).\n", cluster.ShortID(a.ID), running)
			}
		},
	}
	if interactive {
		opts.Stdin = c.App.Reader
	}
	if tty && stdinTTY {
		restore, err := rawTerminal(ctx, stdin, &opts)
		if err != nil {
			return &exitError{code: ExitExecFailed, err: err}
		}
		defer restore()
	}
	code, err := taskexec.Run(ctx, cl, opts)
	switch {
	case err != nil && cluster.Interrupted(err):
		return &exitError{code: ExitInterrupted, err: fmt.Errorf("interrupted: the command may still run in the instance")}
	case err != nil:
		return &exitError{code: ExitExecFailed, err: err}
	case code < 0 || code > 255:
		return &exitError{code: ExitExecFailed, err: fmt.Errorf("the command ended with %d, which is no exit status", code)}
	case code != 0:
		return silentExit(code)
	}
	return nil
}

// rawTerminal puts the local terminal in raw mode, so keys reach the
// remote terminal as typed (Ctrl-C included), and sends its size, first
// and on every change. The size is polled: a SIGWINCH handler would need
// a file per platform for what a glance four times a second does.
func rawTerminal(ctx context.Context, stdin *os.File, opts *taskexec.Options) (restore func(), err error) {
	fd := int(stdin.Fd())
	state, err := term.MakeRaw(fd)
	if err != nil {
		return nil, fmt.Errorf("set the terminal to raw mode: %w", err)
	}
	sizes := make(chan nomad.TerminalSize, 1)
	opts.Resize = sizes
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		var last nomad.TerminalSize
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			if w, h, err := term.GetSize(fd); err == nil && (w != last.Width || h != last.Height) {
				last = nomad.TerminalSize{Width: w, Height: h}
				select {
				case sizes <- last:
				case <-ctx.Done():
					return
				}
			}
			select {
			case <-tick.C:
			case <-ctx.Done():
				return
			}
		}
	}()
	return func() {
		cancel()
		_ = term.Restore(fd, state)
	}, nil
}
