#!/usr/bin/env bash
# Builds README.md from the section files (run from the repository root).
set -euo pipefail
parts=(docs/readme/00-head.md docs/tui.md docs/trainer.md docs/trust.md docs/persistence.md docs/hub.md docs/multihub.md docs/readme/99-tail.md)
out=README.md
: > "$out"
for p in "${parts[@]}"; do
    [ -f "$p" ] || continue
    cat "$p" >> "$out"
    printf '\n' >> "$out"
done
