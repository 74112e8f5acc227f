#!/usr/bin/env bash
# Build the seed corpora from the test cases, the standard library and the examples.
# Usage: fuzz/seed.sh   (writes fuzz/corpus/{parse,check,interp,vsa}; they are git-ignored)
set -euo pipefail
cd "$(dirname "$0")"
for t in parse check interp vsa; do mkdir -p "corpus/$t"; done
i=0
for f in ../tests/cases/*/*.tess ../stdlib/std/*.tess ../examples/*.tess; do
    i=$((i + 1))
    cp "$f" "corpus/parse/seed$i"
    cp "$f" "corpus/check/seed$i"
    # interp: the source, a NUL, then the case's first input line (if any).
    input=$(grep -m1 '^# input: ' "$f" | sed 's/^# input: //' || true)
    { cat "$f"; printf '\0%s' "$input"; } > "corpus/interp/seed$i"
done
for j in 0 1 2 3 4 5 6 7; do
    printf "$(printf '\\x%02x' $j $((j * 37 % 256)) 3 7 1 2 $((j + 2)) $((j * 11 % 256)))" > "corpus/vsa/seed$j"
done
echo "seeded $i files"
