#!/usr/bin/env bash
# Architecture invariant: `tessera-lang` links none of egg, petgraph or candle.
# (Its build script runs LALRPOP, which uses petgraph at build time only; that is allowed.)
set -euo pipefail
cd "$(dirname "$0")/.."
deps=$(cargo tree -p tessera-lang -e normal --prefix none --format '{p}' 2>/dev/null | awk '{print $1}' | sort -u)
if [ -z "$deps" ]; then
    echo "check-lang-deps: cargo tree printed nothing" >&2
    exit 1
fi
bad=$(printf '%s\n' "$deps" | grep -E '^(egg|petgraph|candle-core|candle-nn|candle)$' || true)
if [ -n "$bad" ]; then
    echo "check-lang-deps: tessera-lang must not depend on: $bad" >&2
    exit 1
fi
echo "check-lang-deps: ok ($(printf '%s\n' "$deps" | wc -l) crates, none of egg/petgraph/candle)"
