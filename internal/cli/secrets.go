package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/stackctl/stackctl/internal/cluster"
	"github.com/stackctl/stackctl/internal/compile"
	"github.com/stackctl/stackctl/internal/deploy"
	"github.com/stackctl/stackctl/internal/rollout"
	"github.com/stackctl/stackctl/internal/secrets"
)

// Secret values enter through stdin or a file and leave only through
// `get --reveal`: never argv (visible in ps and shell history), never logs.
func secretsCommand() *ucli.Command {
	stack := &ucli.StringFlag{Name: "stack", Value: ".", Usage: "descriptor `PATH` that declares the service"}
	return &ucli.Command{
		Name:  "secrets",
		Usage: "manage the Vault secrets a service reads (values via stdin or file only)",
		Subcommands: []*ucli.Command{
			{
				Name:      "put",
				Usage:     "store the value of one of the service's secrets (read from stdin or --from-file)",
				ArgsUsage: "SERVICE ENV_NAME",
				Description: `On a terminal the value is read without echo. It must fit one line of the
env file Nomad's template writes (64 KiB, escapes included).

Then every running service of the stack that reads that Vault path and key
rolls onto the new value through a Nomad rolling deployment (its job as it
runs, with the meta key stackctl-secrets changed: a hash of KV versions,
never a value), watched as deploy watches. --no-roll only stores the value:
running instances keep the old one until they start again.`,
				Flags: append(varFlags(), stack,
					&ucli.StringFlag{Name: "from-file", Usage: "read the value from `FILE` instead of stdin"},
					&ucli.BoolFlag{Name: "keep-newline", Usage: "keep a trailing newline of the value"},
					&ucli.BoolFlag{Name: "no-roll", Usage: "store the value only; running instances keep the old one until they start again"},
					serviceFlag(),
					&ucli.DurationFlag{Name: "timeout", Value: 10 * time.Minute, Usage: "stop waiting for a running deployment, and then for the roll, after `DURATION` each"}),
				Action: runSecretsPut,
			},
			{
				Name:      "get",
				Usage:     "show a secret's metadata; its value only with --reveal",
				ArgsUsage: "SERVICE ENV_NAME",
				Flags:     append(varFlags(), stack, &ucli.BoolFlag{Name: "reveal", Usage: "print the value itself"}),
				Action:    runSecretsGet,
			},
			{
				Name:      "list",
				Usage:     "list the service's secrets and whether each is set",
				ArgsUsage: "SERVICE",
				Flags:     append(varFlags(), stack),
				Action:    runSecretsList,
			},
		},
	}
}

// stackBundle compiles the stack at --stack.
func stackBundle(c *ucli.Context) (*compile.Bundle, error) {
	st, p, diags, err := loadStackPaths(c, []string{c.String("stack")})
	if err != nil {
		return nil, err
	}
	printDiagnostics(c, c.App.ErrWriter, p, diags)
	if diags.HasErrors() {
		return nil, silentExit(ExitError)
	}
	return compile.Compile(st), nil
}

// secretRef finds SERVICE's secret ENV_NAME in the stack at --stack.
func secretRef(c *ucli.Context) (secrets.Ref, *compile.Bundle, error) {
	b, err := stackBundle(c)
	if err != nil {
		return secrets.Ref{}, nil, err
	}
	ref, err := secrets.Find(b, c.Args().Get(0), c.Args().Get(1))
	return ref, b, usageError(err)
}

// usageError makes a "no such service or secret" a usage error.
func usageError(err error) error {
	var unknown *secrets.UnknownError
	if errors.As(err, &unknown) {
		return usageErrorf("%v (use --stack to point at its descriptors)", err)
	}
	return err
}

func runSecretsPut(c *ucli.Context) error {
	if c.NArg() != 2 {
		return usageErrorf("secrets put needs SERVICE and ENV_NAME; the value comes from stdin or --from-file, never the command line")
	}
	ref, b, err := secretRef(c)
	if err != nil {
		return err
	}
	readers := secrets.Readers(b, ref)
	for _, name := range c.StringSlice("service") {
		if !slices.Contains(readers, name) {
			return usageErrorf("--service %s: it does not read %s key %s (its readers: %s)", name, ref.Location(), ref.Key, strings.Join(readers, ", "))
		}
	}
	value, err := readSecretValue(c, ref)
	if err != nil {
		return err
	}
	// Refused before anything is contacted.
	var bad *secrets.ValueError
	if err := secrets.CheckValue(ref, value); errors.As(err, &bad) {
		return usageErrorf("%v", err)
	}
	ctx, cancel := interruptible(c.Context)
	defer cancel()
	cl, err := connect(ctx, cluster.Needs{Vault: true})
	if err != nil {
		return err
	}
	version, err := secrets.Put(ctx, cl, ref, value)
	if err != nil {
		return err
	}
	out := c.App.Writer
	fmt.Fprintf(out, "%s: %s stored at %s key %s (version %d, %d bytes)\n", ref.Service, ref.Env, ref.Location(), ref.Key, version, len(value))
	if c.Bool("no-roll") {
		for _, name := range readers {
			fmt.Fprintf(out, "%s: not rolled (--no-roll): running instances keep the old value until they start again "+
				"(the next deploy that replaces them, a restart or a reschedule); instances started from now on read version %d\n", name, version)
		}
		return nil
	}
	rots, err := deploy.Rotate(ctx, cl, deploy.RotateOptions{
		Bundle: b, Secret: ref, Services: c.StringSlice("service"), Timeout: c.Duration("timeout"), Report: newReporter(out),
	})
	writeRotations(out, rots, c.Duration("timeout"))
	var failed *rollout.FailedError
	if err != nil && !errors.Is(err, deploy.ErrUnfinished) && !errors.As(err, &failed) {
		return fmt.Errorf("%w\nThe value is stored (version %d); instances that did not roll keep the old value until they start again", err, version)
	}
	return rolloutExit(err)
}

// writeRotations ends a rotation: each rolled service's outcome, in the
// words of deploy, and the new value live where it is healthy.
func writeRotations(out io.Writer, rots []*deploy.Rotation, timeout time.Duration) {
	var ws []deploy.Watched
	for _, r := range rots {
		if r.Watched != nil {
			ws = append(ws, *r.Watched)
		}
	}
	if len(ws) == 0 {
		return
	}
	writeWatched(out, ws, timeout)
	for _, w := range ws {
		if !w.Stopped && w.Err == nil && w.Result.Outcome == rollout.Healthy {
			fmt.Fprintf(out, "%s: every instance has the new value\n", w.Service)
		}
	}
}

// readSecretValue reads the value from --from-file, or from stdin without
// echo when stdin is a terminal.
func readSecretValue(c *ucli.Context, ref secrets.Ref) (string, error) {
	var src io.Reader = c.App.Reader
	if f := c.String("from-file"); f != "" {
		fh, err := os.Open(f)
		if err != nil {
			return "", err
		}
		defer fh.Close()
		src = fh
	} else if v, ok, err := readHidden(c.App.Reader, c.App.ErrWriter, fmt.Sprintf("Value of %s for %s (not echoed): ", ref.Env, ref.Service)); ok || err != nil {
		return v, err
	}
	// One byte past the longest storable line is enough to refuse it.
	data, err := io.ReadAll(io.LimitReader(src, compile.MaxSecretLine+1))
	if err != nil {
		return "", err
	}
	value := string(data)
	if !c.Bool("keep-newline") {
		value = strings.TrimSuffix(strings.TrimSuffix(value, "\n"), "\r")
	}
	return value, nil
}

func runSecretsGet(c *ucli.Context) error {
	if c.NArg() != 2 {
		return usageErrorf("secrets get needs SERVICE and ENV_NAME")
	}
	ref, _, err := secretRef(c)
	if err != nil {
		return err
	}
	ctx, cancel := interruptible(c.Context)
	defer cancel()
	cl, err := connect(ctx, cluster.Needs{Vault: true})
	if err != nil {
		return err
	}
	v, err := secrets.Get(ctx, cl, ref)
	if err != nil {
		return err
	}
	if c.Bool("reveal") {
		fmt.Fprintln(c.App.Writer, v.Value)
		return nil
	}
	fmt.Fprintf(c.App.Writer, "%s: set at %s key %s, version %d, updated %s (value hidden; --reveal prints it)\n",
		ref.Env, ref.Location(), ref.Key, v.Version, v.Created.UTC().Format("2006-01-02T15:04:05Z"))
	return nil
}

func runSecretsList(c *ucli.Context) error {
	if c.NArg() != 1 {
		return usageErrorf("secrets list needs SERVICE")
	}
	b, err := stackBundle(c)
	if err != nil {
		return err
	}
	service := c.Args().First()
	refs, err := secrets.Refs(b, service)
	if err != nil {
		return usageError(err)
	}
	if len(refs) == 0 {
		fmt.Fprintf(c.App.Writer, "%s reads no secrets.\n", service)
		return nil
	}
	ctx, cancel := interruptible(c.Context)
	defer cancel()
	cl, err := connect(ctx, cluster.Needs{Vault: true})
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ENV\tPATH\tKEY\tSTATE\tVERSION")
	bad := 0
	for i, chk := range secrets.List(ctx, cl, refs) {
		state, version := "set", "-"
		switch {
		case chk.Err != "":
			state = "unreadable: " + chk.Err
			bad++
		case !chk.KeyExists:
			state = "MISSING"
			bad++
		case chk.Unverified:
			state = "set (path present; the token may not read the key)"
		}
		if chk.PathExists {
			version = fmt.Sprint(chk.Version)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", chk.Env, refs[i].Location(), chk.Key, state, version)
	}
	tw.Flush()
	if bad > 0 {
		return silentExit(ExitError)
	}
	return nil
}
