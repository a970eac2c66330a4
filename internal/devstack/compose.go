package devstack

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/stackctl/stackctl/internal/outdir"
)

// Compose images: docker-compose.dev.yml names official images by default
// and takes other ones from environment variables. Where no registry is
// reachable, these local images stand in for them: the pinned agents built
// by `dev install` on a Debian base made with debootstrap (the source-built
// agents link glibc, and the compose file runs shell one-liners and
// iptables in them).

// ComposeBaseTag is the Debian base every agent image starts from.
const ComposeBaseTag = "stackctl-base:bookworm"

// composeBasePackages go into the base: CA roots for TLS clients, iptables
// and iproute2 for Nomad's bridge networking (the CNI plugins call them).
var composeBasePackages = []string{"ca-certificates", "iptables", "iproute2"}

// ComposeImage is one agent image and the compose variable that selects it.
type ComposeImage struct {
	EnvVar string
	Agent  Agent
	// Also are agents copied in beside the main one: Nomad's image carries
	// the consul CLI, for debugging from its container (the built-in
	// Connect proxy runs in its own image, ProxyImageTag).
	Also []Agent
}

// Tag is repository:version without the leading "v".
func (ci ComposeImage) Tag() string {
	return "stackctl-" + ci.Agent.Name + ":" + strings.TrimPrefix(ci.Agent.Version, "v")
}

// ComposeImages lists the images docker-compose.dev.yml can be given.
func ComposeImages() []ComposeImage {
	by := func(n string) Agent { a, _ := AgentByName(n); return a }
	return []ComposeImage{
		{EnvVar: "CONSUL_IMAGE", Agent: by("consul")},
		{EnvVar: "VAULT_IMAGE", Agent: by("vault")},
		{EnvVar: "NOMAD_IMAGE", Agent: by("nomad"), Also: []Agent{by("consul")}},
		{EnvVar: "TRAEFIK_IMAGE", Agent: by("traefik")},
		{EnvVar: "AUTOSCALER_IMAGE", Agent: by("nomad-autoscaler")},
	}
}

// composeDockerfile is the whole recipe of an agent image: the binaries in
// /usr/local/bin, the agent as entrypoint (as in the official images, the
// compose file passes only the arguments).
func composeDockerfile(ci ComposeImage) string {
	return fmt.Sprintf("FROM %s\nCOPY bin/ /usr/local/bin/\nENTRYPOINT [\"/usr/local/bin/%s\"]\n",
		ComposeBaseTag, ci.Agent.Name)
}

// ComposeEnv is the env file that selects the local images, for
// `docker compose --env-file`.
func ComposeEnv() string {
	var b strings.Builder
	b.WriteString("# Written by `stackctl dev install --compose-images`: the local agent images.\n")
	lines := []string{}
	for _, ci := range ComposeImages() {
		lines = append(lines, ci.EnvVar+"="+ci.Tag())
	}
	lines = append(lines, "PAUSE_IMAGE="+PauseImage.Tag)
	sort.Strings(lines)
	b.WriteString(strings.Join(lines, "\n") + "\n")
	return b.String()
}

// BuildComposeImages builds the base and the agent images, skipping any
// whose inputs are unchanged, and writes ComposeEnv to envFile.
func BuildComposeImages(ctx context.Context, in *Installer, workDir, envFile string, out io.Writer) error {
	if err := buildComposeBase(ctx, workDir, out); err != nil {
		return err
	}
	for _, ci := range ComposeImages() {
		if err := buildComposeImage(ctx, in, ci, out); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Dir(envFile), 0o755); err != nil {
		return err
	}
	return outdir.WriteFile(envFile, []byte(ComposeEnv()), 0o644)
}

func buildComposeBase(ctx context.Context, workDir string, out io.Writer) error {
	sum := hashStrings(append([]string{"bookworm", "minbase"}, composeBasePackages...)...)
	if imageLabel(ctx, ComposeBaseTag) == sum {
		fmt.Fprintf(out, "image %s: up to date\n", ComposeBaseTag)
		return nil
	}
	if _, err := exec.LookPath("debootstrap"); err != nil {
		if err := aptInstall(ctx, out, "debootstrap"); err != nil {
			return fmt.Errorf("the base image needs debootstrap: %w", err)
		}
	}
	if err := os.MkdirAll(workDir, 0o755); err != nil {
		return err
	}
	root, err := os.MkdirTemp(workDir, "rootfs-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	fmt.Fprintf(out, "image %s: debootstrap bookworm (about a minute)\n", ComposeBaseTag)
	cmd := exec.CommandContext(ctx, "debootstrap", "--variant=minbase",
		"--include="+strings.Join(composeBasePackages, ","), "bookworm", root, debianMirror())
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("debootstrap: %v\n%s", err, lastLines(string(b), 15))
	}
	// Package caches are dead weight in an image.
	for _, glob := range []string{"var/cache/apt/archives/*.deb", "var/lib/apt/lists/*"} {
		matches, _ := filepath.Glob(filepath.Join(root, glob))
		for _, m := range matches {
			os.RemoveAll(m)
		}
	}
	tar := exec.CommandContext(ctx, "tar", "-C", root, "-c", ".")
	imp := exec.CommandContext(ctx, "docker", "import", "--change", "LABEL "+sourceLabel+"="+sum,
		"--change", `CMD ["/bin/bash"]`, "-", ComposeBaseTag)
	pipe, err := tar.StdoutPipe()
	if err != nil {
		return err
	}
	imp.Stdin = pipe
	var impOut strings.Builder
	imp.Stdout, imp.Stderr = &impOut, &impOut
	if err := imp.Start(); err != nil {
		return err
	}
	if err := tar.Run(); err != nil {
		_ = imp.Wait()
		return fmt.Errorf("tar of the base rootfs: %w", err)
	}
	if err := imp.Wait(); err != nil {
		return fmt.Errorf("docker import %s: %v\n%s", ComposeBaseTag, err, impOut.String())
	}
	return nil
}

func buildComposeImage(ctx context.Context, in *Installer, ci ComposeImage, out io.Writer) error {
	dockerfile := composeDockerfile(ci)
	ctxDir, err := os.MkdirTemp("", "stackctl-compose-image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(ctxDir)
	if err := os.Mkdir(filepath.Join(ctxDir, "bin"), 0o755); err != nil {
		return err
	}
	// The pinned version names a binary exactly, so the label hashes the
	// versions and the recipe rather than hundreds of MB of binaries.
	parts := []string{dockerfile, imageLabel(ctx, ComposeBaseTag)}
	for _, a := range append([]Agent{ci.Agent}, ci.Also...) {
		src, err := in.Resolve(ctx, a)
		if err != nil {
			return fmt.Errorf("image %s: %w (run `stackctl dev install` first)", ci.Tag(), err)
		}
		if err := linkOrCopy(src, filepath.Join(ctxDir, "bin", a.Name)); err != nil {
			return err
		}
		parts = append(parts, a.Name+"@"+a.Version+"@"+src)
	}
	return buildLabelled(ctx, ctxDir, ci.Tag(), []byte(dockerfile), hashStrings(parts...), out)
}

// linkOrCopy puts src at dst without reading it when both are on one
// file system (the build context only needs a name for it).
func linkOrCopy(src, dst string) error {
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	r, err := os.Open(src)
	if err != nil {
		return err
	}
	defer r.Close()
	w, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, r); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

// debianMirror is the archive debootstrap downloads from: the one apt
// already uses when it can be read, else Debian's CDN.
func debianMirror() string {
	if m := os.Getenv("STACKCTL_DEBIAN_MIRROR"); m != "" {
		return m
	}
	for _, f := range []string{"/etc/apt/sources.list.d/debian.sources", "/etc/apt/sources.list"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			fields := strings.Fields(line)
			if len(fields) == 0 || (fields[0] != "deb" && fields[0] != "URIs:") {
				continue
			}
			for _, f := range fields[1:] {
				if strings.HasPrefix(f, "http") && strings.HasSuffix(strings.TrimSuffix(f, "/"), "/debian") {
					return strings.TrimSuffix(f, "/")
				}
			}
		}
	}
	return "http://deb.debian.org/debian"
}
