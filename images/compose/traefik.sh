#!/bin/sh
# Traefik (docker-compose.dev.yml): its configuration is the TRAEFIK_*
# environment of the service; its Consul token (a service identity for
# "traefik", minted by consul-init) is read from the credential directory
# and handed to Traefik in its own environment only, never on a command
# line nor in the container's configuration (`docker inspect`).
set -eu
TRAEFIK_PROVIDERS_CONSULCATALOG_ENDPOINT_TOKEN=$(cat /etc/traefik/secrets/consul.token)
export TRAEFIK_PROVIDERS_CONSULCATALOG_ENDPOINT_TOKEN
exec traefik
