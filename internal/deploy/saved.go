package deploy

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	consul "github.com/hashicorp/consul/api"
	nomad "github.com/hashicorp/nomad/api"

	"github.com/stackctl/stackctl/internal/compile"
)

// SavedPlanFormat identifies a file written by `stackctl plan -out`.
const SavedPlanFormat = "stackctl-plan/1"

// SavedPlan is a plan written to disk: the exact artifacts to apply and the
// Nomad modify index each job had when planned. It holds no secret values
// (jobs only reference Vault paths).
type SavedPlan struct {
	Format     string         `json:"format"`
	VaultMount string         `json:"vault_mount"`
	Services   []SavedService `json:"services"`
}

// SavedService is one service of a saved plan.
type SavedService struct {
	Name           string                               `json:"name"`
	JobModifyIndex uint64                               `json:"job_modify_index"`
	Job            *nomad.Job                           `json:"job"`
	Policy         *compile.VaultPolicy                 `json:"vault_policy,omitempty"`
	Role           *compile.VaultRole                   `json:"vault_role,omitempty"`
	Intentions     *consul.ServiceIntentionsConfigEntry `json:"intentions,omitempty"`
	Secrets        []compile.SecretRef                  `json:"secrets,omitempty"`
}

// Save writes the plan of bundle b to path (mode 0600: it describes the
// system even though it holds no secret).
func Save(path string, b *compile.Bundle, p *Plan) error {
	sp := SavedPlan{Format: SavedPlanFormat, VaultMount: b.Settings.VaultMount}
	for i, s := range b.Services {
		sp.Services = append(sp.Services, SavedService{
			Name: s.Name, JobModifyIndex: p.Services[i].JobModifyIndex, Job: s.Job,
			Policy: s.VaultPolicy, Role: s.VaultRole, Intentions: s.Intentions, Secrets: s.Secrets,
		})
	}
	data, err := json.MarshalIndent(sp, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// LoadSaved reads a saved plan; ok is false when path is not one (so it
// can be treated as a descriptor path instead).
func LoadSaved(path string) (*SavedPlan, *compile.Bundle, bool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, false, nil
	}
	var sp SavedPlan
	if json.Unmarshal(data, &sp) != nil || sp.Format != SavedPlanFormat {
		return nil, nil, false, nil
	}
	if len(sp.Services) == 0 {
		return nil, nil, true, errors.New("the saved plan holds no service")
	}
	b := &compile.Bundle{}
	b.Settings.VaultMount = sp.VaultMount
	for _, s := range sp.Services {
		if s.Job == nil || s.Job.ID == nil || s.Job.Namespace == nil {
			return nil, nil, true, fmt.Errorf("the saved plan's service %q has no job", s.Name)
		}
		b.Services = append(b.Services, &compile.Service{Name: s.Name, Job: s.Job, VaultPolicy: s.Policy, VaultRole: s.Role, Intentions: s.Intentions, Secrets: s.Secrets})
	}
	return &sp, b, true, nil
}

// CheckUnmoved refuses to apply a saved plan when a job changed in Nomad
// since it was planned.
func CheckUnmoved(sp *SavedPlan, fresh *Plan) error {
	var errs []error
	for i, s := range sp.Services {
		if now := fresh.Services[i].JobModifyIndex; now != s.JobModifyIndex {
			errs = append(errs, &ConflictError{Service: s.Name,
				Detail: fmt.Sprintf("its modify index was %d when planned and is %d now", s.JobModifyIndex, now)})
		}
	}
	return errors.Join(errs...)
}
