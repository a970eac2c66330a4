package composeimport

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2/hclwrite"
)

// FuzzImport feeds arbitrary compose files to the importer: it must not
// panic or hang, whatever it accepts is formatted and names every service
// it writes (Import itself has already validated it with the spec
// loader), and every secrets command it prints is one line.
func FuzzImport(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*/compose*.yaml")
	seeds = append(seeds, "../../examples/compose/compose.yaml")
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("services:\n  a:\n    image: a:1\n    environment:\n      B_URL: http://b:80/\n  b:\n    image: b:1\n"))
	// Hostile projects (hostile_test.go): files outside the project,
	// non-regular files, names that would split a printed command, work
	// without bound. Each is refused with an error, never read or hung on.
	const app = "services:\n  a:\n    image: a:1\n"
	for _, s := range []string{
		app + "    env_file: /etc/shadow\n",
		app + "    env_file: [/proc/self/environ]\n",
		app + "    env_file:\n      - path: ../../x.env\n        required: false\n",
		app + "    label_file: /etc/passwd\n",
		"include:\n  - /etc/passwd\n" + app,
		"include:\n  - path: inc.yaml\n    env_file: /etc/shadow\n    project_directory: /\n" + app,
		"services:\n  a:\n    image: a:1\n    extends:\n      file: /dev/stdin\n      service: b\n",
		"services:\n  a:\n    image: a:1\n    extends:\n      file: ${HOME}/.docker/config.yaml\n      service: b\n",
		app + "    secrets: [k]\nsecrets:\n  k:\n    file: ~/.ssh/id_rsa\n",
		app + "configs:\n  c:\n    file: /etc/passwd\n",
		app + "    secrets: [k]\nsecrets:\n  k:\n    environment: \"X\\nrm -rf ~ #\"\n",
		app + "    secrets: [k]\n    environment:\n      \"X\\n$(id)_FILE\": /run/secrets/k\nsecrets:\n  k:\n    environment: K\n",
		app + "    environment:\n      B_URL: \"http://b:80/\\e[2J\"\n  b:\n    image: b:1\n",
		app + "    ports: [\"1-65535:1-65535\"]\n",
		app + "    x-deep: " + strings.Repeat("[", 2000) + strings.Repeat("]", 2000) + "\n",
		billionLaughs() + app + "    command: *i\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		dir := t.TempDir()
		file := filepath.Join(dir, "compose.yaml")
		if err := os.WriteFile(file, src, 0o644); err != nil {
			t.Fatal(err)
		}
		res, diags := Import(context.Background(), Options{Files: []string{file}, OutDir: "out", Environ: []string{}, ProjectName: "fuzz"})
		if diags.HasErrors() {
			return
		}
		if len(res.Services) == 0 {
			t.Fatal("success without a service")
		}
		for n, b := range res.Files {
			if !bytes.Equal(b, hclwrite.Format(b)) {
				t.Fatalf("%s is not formatted:\n%s", n, b)
			}
		}
		for _, p := range res.Secrets {
			if cmd := p.Command("out"); strings.ContainsAny(cmd, "\n\r") {
				t.Fatalf("a secrets command spans lines: %q", cmd)
			}
		}
	})
}

// billionLaughs is YAML whose aliases expand to 9^9 strings.
func billionLaughs() string {
	s := "x-a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		s += "x-" + n + ": &" + n + " [" + strings.TrimSuffix(strings.Repeat("*"+prev+", ", 9), ", ") + "]\n"
		prev = n
	}
	return s
}
