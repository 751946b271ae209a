#!/usr/bin/env bash
# Every test of the project: formatting, lints, unit, contract and end-to-end
# tests. What CI runs (.ci/run calls this script). Needs only cargo: the
# embedded backend is SQLite compiled into the binary.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo test"
cargo test --workspace --locked
