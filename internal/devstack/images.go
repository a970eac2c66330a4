package devstack

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Image is a local image built from a Go program in this repository: a
// static binary (CGO_ENABLED=0) in a FROM scratch image, because no image
// registry can be assumed reachable.
type Image struct {
	Tag        string // repository:tag
	Package    string // Go package, relative to the repo root
	Binary     string // name of the binary in the build context
	Dockerfile string // relative to the repo root
}

// PauseImage is the infra container Nomad's docker driver starts for every
// bridge-mode group (infra_image), replacing the default that would be
// pulled from a registry.
var PauseImage = Image{Tag: "stackctl-pause:1.0.0", Package: "./images/pause", Binary: "pause", Dockerfile: "images/pause/Dockerfile"}

// DemoImage is the example application every example service runs.
var DemoImage = Image{Tag: "stackctl-demo:1.0.0", Package: "./examples/demo", Binary: "demo", Dockerfile: "images/demo/Dockerfile"}

// Images lists what `dev install` builds.
var Images = []Image{PauseImage, DemoImage}

// sourceLabel carries the hash of what an image was built from, so a
// rebuild is skipped when nothing changed.
const sourceLabel = "org.stackctl.source-sha256"

// BuildImage builds img from the checkout at repo unless an image with the
// same binary and Dockerfile already exists.
func BuildImage(ctx context.Context, repo string, img Image, out io.Writer) error {
	ctxDir, err := os.MkdirTemp("", "stackctl-image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(ctxDir)

	bin := filepath.Join(ctxDir, img.Binary)
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, img.Package)
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build %s: %v\n%s", img.Package, err, b)
	}
	dockerfile, err := os.ReadFile(filepath.Join(repo, img.Dockerfile))
	if err != nil {
		return err
	}
	binBytes, err := os.ReadFile(bin)
	if err != nil {
		return err
	}
	return buildLabelled(ctx, ctxDir, img.Tag, dockerfile, hashStrings(string(binBytes), string(dockerfile)), out)
}

// buildLabelled builds tag from the context directory ctxDir with
// dockerfile, labelled with sum (the hash of its inputs), unless the image
// already carries that label.
func buildLabelled(ctx context.Context, ctxDir, tag string, dockerfile []byte, sum string, out io.Writer) error {
	if imageLabel(ctx, tag) == sum {
		fmt.Fprintf(out, "image %s: up to date\n", tag)
		return nil
	}
	if err := os.WriteFile(filepath.Join(ctxDir, "Dockerfile"), dockerfile, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(out, "image %s: building\n", tag)
	b, err := exec.CommandContext(ctx, "docker", "build", "-q", "--label", sourceLabel+"="+sum,
		"-t", tag, ctxDir).CombinedOutput()
	if err != nil {
		return fmt.Errorf("docker build %s: %v\n%s", tag, err, b)
	}
	return nil
}

// hashStrings hashes an image's inputs for its source label.
func hashStrings(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// imageLabel is the source hash an image was built from ("" when absent).
func imageLabel(ctx context.Context, tag string) string {
	b, err := exec.CommandContext(ctx, "docker", "image", "inspect", "-f",
		`{{index .Config.Labels "`+sourceLabel+`"}}`, tag).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// ImageExists reports whether tag is in the local image store.
func ImageExists(ctx context.Context, tag string) bool {
	return exec.CommandContext(ctx, "docker", "image", "inspect", tag).Run() == nil
}
