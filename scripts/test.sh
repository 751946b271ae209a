#!/usr/bin/env bash
# Every test of the project: formatting, lints, unit, contract and end-to-end
# tests, on both backends. What CI runs (.ci/run calls this script). Besides
# cargo it needs python3, npm and Java 17: it installs (once, cached) and
# starts the AWS emulators for the AWS backend's tests, and stops them after,
# and installs (once, cached) the official e-invoice validators.
set -euo pipefail
cd "$(dirname "$0")/.."
# A full run builds everything once: incremental caches would only take disk
# (1.5 GB on a clean clone) without saving time.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

source scripts/emulators.sh
emulators_start
source scripts/einvoice.sh
einvoice_install

echo "== infra/template.yaml: cfn-lint and sam validate (offline)"
cfn-lint infra/template.yaml
sam validate --lint --template infra/template.yaml --region "$AWS_REGION"
sam validate --template infra/template.yaml --region "$AWS_REGION"

echo "== cargo build (the Lambda binaries, which the template test runs)"
# All targets: the same feature set as `cargo test`, so nothing is built twice.
cargo build --workspace --all-targets --locked

echo "== cargo test"
cargo test --workspace --locked
