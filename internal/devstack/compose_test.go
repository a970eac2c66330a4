package devstack

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The env file must select an image for every image variable the compose
// file reads, and only those, or a local run silently falls back to a
// registry image.
func TestComposeEnvCoversTheComposeFile(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "..", "docker-compose.dev.yml"))
	if err != nil {
		t.Fatal(err)
	}
	inFile := map[string]bool{}
	for _, m := range regexp.MustCompile(`\$\{([A-Z_]+_IMAGE)[:}-]`).FindAllStringSubmatch(string(src), -1) {
		inFile[m[1]] = true
	}
	if len(inFile) == 0 {
		t.Fatal("no image variables found in docker-compose.dev.yml")
	}
	inEnv := map[string]bool{}
	for _, line := range strings.Split(ComposeEnv(), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			if v == "" || strings.Contains(v, " ") {
				t.Errorf("%s has a malformed value %q", k, v)
			}
			inEnv[k] = true
		}
	}
	for k := range inFile {
		if !inEnv[k] {
			t.Errorf("the compose file reads %s but compose.env does not set it", k)
		}
	}
	for k := range inEnv {
		if !inFile[k] {
			t.Errorf("compose.env sets %s, which the compose file never reads", k)
		}
	}
}

func TestComposeImageTags(t *testing.T) {
	seen := map[string]bool{}
	for _, ci := range ComposeImages() {
		if ci.Agent.Name == "" {
			t.Fatalf("%s: no agent", ci.EnvVar)
		}
		tag := ci.Tag()
		if !regexp.MustCompile(`^stackctl-[a-z-]+:[0-9]+\.[0-9]+\.[0-9]+$`).MatchString(tag) {
			t.Errorf("%s: tag %q", ci.EnvVar, tag)
		}
		if seen[tag] {
			t.Errorf("tag %s used twice", tag)
		}
		seen[tag] = true
		if !strings.Contains(composeDockerfile(ci), `ENTRYPOINT ["/usr/local/bin/`+ci.Agent.Name+`"]`) {
			t.Errorf("%s: the Dockerfile does not run %s", tag, ci.Agent.Name)
		}
	}
}

func TestDebianMirrorOverride(t *testing.T) {
	t.Setenv("STACKCTL_DEBIAN_MIRROR", "http://mirror.example/debian")
	if got := debianMirror(); got != "http://mirror.example/debian" {
		t.Fatalf("debianMirror() = %q", got)
	}
}
