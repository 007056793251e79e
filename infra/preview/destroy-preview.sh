#!/usr/bin/env bash
# Destroys a pr-<n> preview stack without executing code that the PR's state carries.
# usage: destroy-preview.sh <org/project/pr-n>   (PULUMI_ACCESS_TOKEN and cloud credentials in the environment)
# Ends with `pulumi stack rm` once nothing but the stack, components and default providers remains.
#
# - Dynamic resources (type pulumi-nodejs:dynamic/…, the Anyscale compute configs) store their provider as
#   serialized JavaScript written by the PR's program; `pulumi destroy` would run it. They are removed from the
#   state instead (`pulumi state delete`); cleanup-preview archived the compute configs from trusted code before.
# - A provider resource with a pluginDownloadURL could make the engine fetch a plugin chosen by the PR: refused.
# - Everything else (S3 objects, the StackReference) is destroyed by Pulumi's own providers with --target.
set -euo pipefail
stack="${1:?usage: destroy-preview.sh <org/project/pr-n>}"
[[ "$stack" =~ (^|/)pr-[1-9][0-9]*$ ]] || { echo "refusing: $stack is not a pr-<n> stack" >&2; exit 2; }

state="$(mktemp)"
trap 'rm -f "$state"' EXIT
pulumi stack export --stack "$stack" --file "$state"

custom_plugins="$(jq -r '[.deployment.resources[]? | select(.type | startswith("pulumi:providers:"))
  | select((.inputs.pluginDownloadURL // "") != "") | .urn] | .[]' "$state")"
if [[ -n "$custom_plugins" ]]; then
  echo "refusing: providers with a pluginDownloadURL in the state: $custom_plugins" >&2
  exit 3
fi

mapfile -t dynamic < <(jq -r '.deployment.resources[]? | select(.type | startswith("pulumi-nodejs:dynamic")) | .urn' "$state")
mapfile -t others < <(jq -r '.deployment.resources[]? | select(.custom == true)
  | select(.type | startswith("pulumi-nodejs:dynamic") | not)
  | select(.type | startswith("pulumi:providers:") | not) | .urn' "$state")

if ((${#others[@]} > 0)); then
  targets=()
  for urn in "${others[@]}"; do targets+=(--target "$urn"); done
  pulumi destroy --stack "$stack" --yes --skip-preview "${targets[@]}"
fi
for urn in "${dynamic[@]}"; do
  pulumi state delete --stack "$stack" --yes "$urn"
done

# What is left (the stack, components, default providers) holds no cloud resource: remove the stack without
# another destroy, after checking that really nothing else remains.
pulumi stack export --stack "$stack" --file "$state"
left="$(jq -r '[.deployment.resources[]? | select(.custom == true)
  | select(.type | startswith("pulumi:providers:") | not) | .urn] | .[]' "$state")"
if [[ -n "$left" ]]; then
  echo "refusing to remove $stack: resources remain: $left" >&2
  exit 4
fi
pulumi stack rm --stack "$stack" --yes --force
