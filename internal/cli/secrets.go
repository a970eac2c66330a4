package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	vault "github.com/hashicorp/vault/api"
	ucli "github.com/urfave/cli/v2"

	"github.com/stackctl/stackctl/internal/compile"
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
				Flags: append(varFlags(), stack,
					&ucli.StringFlag{Name: "from-file", Usage: "read the value from `FILE` instead of stdin"},
					&ucli.BoolFlag{Name: "keep-newline", Usage: "keep a trailing newline of the value"}),
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

// secretRefs compiles the stack at --stack and returns the service's refs.
func secretRefs(c *ucli.Context, service string) (*compile.Bundle, []compile.SecretRef, error) {
	st, p, diags, err := loadStackPaths(c, []string{c.String("stack")})
	if err != nil {
		return nil, nil, err
	}
	printDiagnostics(c, c.App.ErrWriter, p, diags)
	if diags.HasErrors() {
		return nil, nil, silentExit(ExitError)
	}
	b := compile.Compile(st)
	for _, s := range b.Services {
		if s.Name == service {
			return b, s.Secrets, nil
		}
	}
	return nil, nil, usageErrorf("no service %q in %s (use --stack to point at its descriptors)", service, c.String("stack"))
}

func findRef(refs []compile.SecretRef, service, env string) (compile.SecretRef, error) {
	var names []string
	for _, r := range refs {
		if r.Env == env {
			return r, nil
		}
		names = append(names, r.Env)
	}
	if len(names) == 0 {
		return compile.SecretRef{}, usageErrorf("service %s declares no secret block", service)
	}
	return compile.SecretRef{}, usageErrorf("service %s has no secret %q (it has: %s)", service, env, strings.Join(names, ", "))
}

func runSecretsPut(c *ucli.Context) error {
	if c.NArg() != 2 {
		return usageErrorf("secrets put needs SERVICE and ENV_NAME; the value comes from stdin or --from-file, never the command line")
	}
	service, env := c.Args().Get(0), c.Args().Get(1)
	b, refs, err := secretRefs(c, service)
	if err != nil {
		return err
	}
	ref, err := findRef(refs, service, env)
	if err != nil {
		return err
	}
	var src io.Reader = c.App.Reader
	if f := c.String("from-file"); f != "" {
		fh, err := os.Open(f)
		if err != nil {
			return err
		}
		defer fh.Close()
		src = fh
	}
	data, err := io.ReadAll(io.LimitReader(src, 1<<20+1))
	if err != nil {
		return err
	}
	if len(data) > 1<<20 {
		return errors.New("the value is larger than 1 MiB")
	}
	value := string(data)
	if !c.Bool("keep-newline") {
		value = strings.TrimSuffix(strings.TrimSuffix(value, "\n"), "\r")
	}
	if value == "" {
		return usageErrorf("the value is empty; pipe it in, e.g. stackctl secrets put %s %s < file", service, env)
	}
	ctx, cancel := interruptible(c.Context)
	defer cancel()
	cl, err := connect(ctx, true)
	if err != nil {
		return err
	}
	kv := cl.Vault.KVv2(b.Settings.VaultMount)
	// Patch keeps the other keys of the same path; a new path needs Put.
	var sec *vault.KVSecret
	if _, err = kv.Get(ctx, ref.Path); errors.Is(err, vault.ErrSecretNotFound) {
		sec, err = kv.Put(ctx, ref.Path, map[string]any{ref.Key: value})
	} else if err == nil {
		sec, err = kv.Patch(ctx, ref.Path, map[string]any{ref.Key: value})
	}
	if err != nil {
		return fmt.Errorf("write %s/%s: %s", b.Settings.VaultMount, ref.Path, firstLine(err.Error()))
	}
	version := 0
	if sec != nil && sec.VersionMetadata != nil {
		version = sec.VersionMetadata.Version
	}
	fmt.Fprintf(c.App.Writer, "%s: %s stored at %s/%s key %s (version %d, %d bytes)\n", service, env, b.Settings.VaultMount, ref.Path, ref.Key, version, len(value))
	return nil
}

func runSecretsGet(c *ucli.Context) error {
	if c.NArg() != 2 {
		return usageErrorf("secrets get needs SERVICE and ENV_NAME")
	}
	service, env := c.Args().Get(0), c.Args().Get(1)
	b, refs, err := secretRefs(c, service)
	if err != nil {
		return err
	}
	ref, err := findRef(refs, service, env)
	if err != nil {
		return err
	}
	ctx, cancel := interruptible(c.Context)
	defer cancel()
	cl, err := connect(ctx, true)
	if err != nil {
		return err
	}
	sec, err := cl.Vault.KVv2(b.Settings.VaultMount).Get(ctx, ref.Path)
	if err != nil {
		return fmt.Errorf("%s/%s: %s", b.Settings.VaultMount, ref.Path, firstLine(err.Error()))
	}
	v, ok := sec.Data[ref.Key]
	if !ok {
		return fmt.Errorf("%s/%s has no key %s; set it with stackctl secrets put %s %s", b.Settings.VaultMount, ref.Path, ref.Key, service, env)
	}
	if c.Bool("reveal") {
		fmt.Fprintln(c.App.Writer, v)
		return nil
	}
	fmt.Fprintf(c.App.Writer, "%s: set at %s/%s key %s, version %d, updated %s (value hidden; --reveal prints it)\n",
		env, b.Settings.VaultMount, ref.Path, ref.Key, sec.VersionMetadata.Version, sec.VersionMetadata.CreatedTime.UTC().Format("2006-01-02T15:04:05Z"))
	return nil
}

func runSecretsList(c *ucli.Context) error {
	if c.NArg() != 1 {
		return usageErrorf("secrets list needs SERVICE")
	}
	service := c.Args().First()
	b, refs, err := secretRefs(c, service)
	if err != nil {
		return err
	}
	if len(refs) == 0 {
		fmt.Fprintf(c.App.Writer, "%s reads no secrets.\n", service)
		return nil
	}
	ctx, cancel := interruptible(c.Context)
	defer cancel()
	cl, err := connect(ctx, true)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ENV\tPATH\tKEY\tSTATE\tVERSION")
	missing := 0
	for _, r := range refs {
		state, version := "set", "-"
		sec, err := cl.Vault.KVv2(b.Settings.VaultMount).Get(ctx, r.Path)
		switch {
		case errors.Is(err, vault.ErrSecretNotFound):
			state = "MISSING"
			missing++
		case err != nil:
			state = "unreadable: " + firstLine(err.Error())
		default:
			version = fmt.Sprint(sec.VersionMetadata.Version)
			if _, ok := sec.Data[r.Key]; !ok {
				state = "MISSING"
				missing++
			}
		}
		fmt.Fprintf(tw, "%s\t%s/%s\t%s\t%s\t%s\n", r.Env, b.Settings.VaultMount, r.Path, r.Key, state, version)
	}
	tw.Flush()
	if missing > 0 {
		return silentExit(ExitError)
	}
	return nil
}
