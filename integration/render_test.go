//go:build integration

package integration

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	consul "github.com/hashicorp/consul/api"
	nomad "github.com/hashicorp/nomad/api"
)

// Every example renders to a job the real Nomad parses, validates and can
// place, in both forms (HCL and the JSON register payload).
func testRenderedJobsAcceptedByNomad(t *testing.T) {
	dir := renderExamples(t)
	for _, svc := range renderedServices(t, dir) {
		t.Run(svc, func(t *testing.T) {
			job := stack.parseJobFile(t, filepath.Join(dir, svc, "job.nomad.hcl"), "")
			if *job.ID != svc {
				t.Errorf("job ID %q, want %q", *job.ID, svc)
			}
			resp, _, err := stack.Nomad.Jobs().Validate(job, nil)
			if err != nil {
				t.Fatalf("validate HCL job: %v", err)
			}
			if resp.Error != "" || len(resp.ValidationErrors) > 0 {
				t.Errorf("Nomad rejected the HCL job: %s %v", resp.Error, resp.ValidationErrors)
			}

			// The JSON payload is {"Job": {...}}, the shape of /v1/jobs and
			// of /v1/validate/job.
			b, err := os.ReadFile(filepath.Join(dir, svc, "job.json"))
			if err != nil {
				t.Fatal(err)
			}
			var payload struct{ Job *nomad.Job }
			dec := json.NewDecoder(strings.NewReader(string(b)))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&payload); err != nil || payload.Job == nil {
				t.Fatalf("job.json is not a register payload: %v", err)
			}
			resp, _, err = stack.Nomad.Jobs().Validate(payload.Job, nil)
			if err != nil {
				t.Fatalf("validate JSON job: %v", err)
			}
			if resp.Error != "" || len(resp.ValidationErrors) > 0 {
				t.Errorf("Nomad rejected job.json: %s %v", resp.Error, resp.ValidationErrors)
			}
			if *payload.Job.ID != *job.ID || len(payload.Job.TaskGroups) != len(job.TaskGroups) {
				t.Errorf("job.json (%s, %d groups) and job.nomad.hcl (%s, %d groups) differ",
					*payload.Job.ID, len(payload.Job.TaskGroups), *job.ID, len(job.TaskGroups))
			}

			plan, _, err := stack.Nomad.Jobs().Plan(job, false, nil)
			if err != nil {
				t.Fatalf("plan: %v", err)
			}
			for tg, m := range plan.FailedTGAllocs {
				t.Errorf("plan: group %s cannot be placed: %+v", tg, m)
			}
		})
	}
}

var policyName = regexp.MustCompile(`Vault policy "([^"]+)"`)

// Every rendered Vault policy is accepted by the real Vault.
func testRenderedPoliciesAcceptedByVault(t *testing.T) {
	dir := renderExamples(t)
	n := 0
	for _, svc := range renderedServices(t, dir) {
		b, err := os.ReadFile(filepath.Join(dir, svc, "vault-policy.hcl"))
		if os.IsNotExist(err) {
			continue // a service without secrets has no policy
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
		name := "itest-" + svc
		if m := policyName.FindSubmatch(b); m != nil {
			name = string(m[1])
		}
		if err := stack.Vault.Sys().PutPolicy(name, string(b)); err != nil {
			t.Errorf("%s: Vault rejected the policy: %v", svc, err)
			continue
		}
		got, err := stack.Vault.Sys().GetPolicy(name)
		if err != nil || got == "" {
			t.Errorf("%s: policy %s not readable back: %v", svc, name, err)
		}
	}
	if n == 0 {
		t.Fatal("no example rendered a Vault policy")
	}
}

// Every rendered intentions file is accepted by `consul config write`.
func testRenderedIntentionsAcceptedByConsul(t *testing.T) {
	dir := renderExamples(t)
	for _, svc := range renderedServices(t, dir) {
		file := filepath.Join(dir, svc, "intentions.hcl")
		if err := stack.consulConfigWrite(t, file); err != nil {
			t.Errorf("%s: %v", svc, err)
			continue
		}
		e, _, err := stack.Consul.ConfigEntries().Get(consul.ServiceIntentions, svc, nil)
		if err != nil {
			t.Errorf("%s: intentions not readable back: %v", svc, err)
			continue
		}
		if len(e.(*consul.ServiceIntentionsConfigEntry).Sources) == 0 {
			t.Errorf("%s: intentions have no source", svc)
		}
	}
}

var (
	secretBlock = regexp.MustCompile(`\{\{ with secret "secret/data/([^"]+)" \}\}(\w+)="\{\{ index \.Data\.data "(\w+)"`)
)

// The example system deployed through the Nomad API becomes healthy; its
// public route answers through Traefik with the Vault secret injected, the
// internal entrypoint does not serve it, and mesh calls go through.
func testExampleSystem(t *testing.T) {
	dir := renderExamples(t)
	svcs := renderedServices(t, dir)

	// Secrets the templates read, with random values, remembered by the
	// environment variable they land in.
	secrets := map[string]map[string]any{}
	envValue := map[string]string{}
	for _, svc := range svcs {
		b, err := os.ReadFile(filepath.Join(dir, svc, "job.nomad.hcl"))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range secretBlock.FindAllStringSubmatch(string(b), -1) {
			path, env, key := m[1], m[2], m[3]
			if secrets[path] == nil {
				secrets[path] = map[string]any{}
			}
			if v, ok := secrets[path][key]; ok {
				envValue[env] = v.(string)
				continue
			}
			v := randomString(t)
			secrets[path][key], envValue[env] = v, v
		}
	}
	for path, data := range secrets {
		if _, err := stack.Vault.KVv2("secret").Put(t.Context(), path, data); err != nil {
			t.Fatal(err)
		}
	}
	for _, svc := range svcs {
		if b, err := os.ReadFile(filepath.Join(dir, svc, "vault-policy.hcl")); err == nil {
			name := string(policyName.FindSubmatch(b)[1])
			if err := stack.Vault.Sys().PutPolicy(name, string(b)); err != nil {
				t.Fatal(err)
			}
		}
		if err := stack.consulConfigWrite(t, filepath.Join(dir, svc, "intentions.hcl")); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _, _ = stack.Consul.ConfigEntries().Delete(consul.ServiceIntentions, svc, nil) })
	}
	for _, svc := range svcs {
		stack.stopExisting(t, svc)
	}
	for _, svc := range svcs {
		id := stack.registerPayload(t, filepath.Join(dir, svc, "job.json"))
		stack.purgeJob(t, id)
	}
	for _, svc := range svcs {
		stack.waitJobHealthy(t, svc, 4*time.Minute)
	}

	body := stack.waitGet(t, 2*time.Minute, public, "shop.localhost", "/", 200)
	if !strings.Contains(body, `"service":"web"`) {
		t.Errorf("public shop.localhost/ answered %q, want web's index", body)
	}
	if code, b, err := stack.get(internal, "shop.localhost", "/"); err != nil || code != 404 {
		t.Errorf("internal entrypoint served shop.localhost: %d %.100s %v", code, b, err)
	}
	if v, ok := envValue["API_SIGNING_KEY"]; ok {
		sum := sha256.Sum256([]byte(v))
		body := stack.waitGet(t, 30*time.Second, public, "shop.localhost", "/api/env/API_SIGNING_KEY", 200)
		if strings.TrimSpace(body) != hex.EncodeToString(sum[:]) {
			t.Errorf("api's API_SIGNING_KEY is not the Vault secret (digest %q)", body)
		}
	}
	// web -> api through the mesh (intention web -> api).
	body = stack.waitGet(t, 30*time.Second, public, "shop.localhost", "/call/API_ADDR/", 200)
	if !strings.Contains(body, `"service":"api"`) {
		t.Errorf("web -> api through the mesh answered %q", body)
	}
	// orders is on the internal entrypoint only.
	stack.waitGet(t, 30*time.Second, internal, "orders.shop.localhost", "/", 200)
	if code, _, err := stack.get(public, "orders.shop.localhost", "/"); err != nil || code != 404 {
		t.Errorf("public entrypoint served orders: %d %v", code, err)
	}
}

func randomString(t *testing.T) string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
