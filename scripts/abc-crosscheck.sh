#!/usr/bin/env bash
# Cross-checks `tessera bench circuits --write DIR` results with ABC's own equivalence checker:
#   scripts/abc-crosscheck.sh DIR [DATA]
# For EPFL circuits the reference is the published .aig; for IWLS functions the truth table
# itself (`read_truth -xf`). Prints one line per circuit and fails if ABC disagrees anywhere.
set -euo pipefail
out=${1:?usage: abc-crosscheck.sh DIR [DATA]}
data=${2:-circuit/data}
command -v berkeley-abc >/dev/null || { echo "berkeley-abc is not installed" >&2; exit 2; }
fail=0
while IFS=, read -r suite name _; do
    [ "$suite" = suite ] && continue
    ours="$out/$name.aig"
    [ -f "$ours" ] || continue
    if [ -f "$data/$suite/$name.aig" ]; then
        ref="read $data/$suite/$name.aig"
    else
        ref="read_truth -xf $data/$suite/$name.truth; strash"
    fi
    res=$(berkeley-abc -c "$ref; cec -n $ours" 2>&1 | grep -E "equivalent|NOT EQUIVALENT|failed" | tail -1)
    echo "$suite/$name: $res"
    case "$res" in *"Networks are equivalent"*) ;; *) fail=1 ;; esac
done < "$data/manifest.csv"
exit $fail
