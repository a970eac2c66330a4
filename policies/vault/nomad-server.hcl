# Vault policy for the Nomad servers' token (Nomad 1.6 legacy token flow):
# Nomad derives one token per task from the "nomad-cluster" token role,
# with the policies the task's `vault { policies = [...] }` asks for.
# Nomad >= 1.7 uses workload identities instead and needs none of this.

# Create tokens from the nomad-cluster role, and read the role to check
# which policies it may hand out.
path "auth/token/create/nomad-cluster" {
  capabilities = ["update"]
}

path "auth/token/roles/nomad-cluster" {
  capabilities = ["read"]
}

# Check its own token and renew it.
path "auth/token/lookup-self" {
  capabilities = ["read"]
}

path "auth/token/renew-self" {
  capabilities = ["update"]
}

# Look up and revoke the tasks' tokens.
path "auth/token/lookup" {
  capabilities = ["update"]
}

path "auth/token/revoke-accessor" {
  capabilities = ["update"]
}

# Verify its capabilities at start.
path "sys/capabilities-self" {
  capabilities = ["update"]
}
