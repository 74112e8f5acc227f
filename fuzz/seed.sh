#!/usr/bin/env bash
# Build the seed corpora from the test cases, the standard library and the examples.
# Usage: fuzz/seed.sh   (writes fuzz/corpus/{parse,check,interp,vsa,circuit,gss,model}; they are git-ignored)
set -euo pipefail
cd "$(dirname "$0")"
for t in parse check interp vsa circuit gss model; do mkdir -p "corpus/$t"; done
i=0
for f in ../tests/cases/*/*.tess ../stdlib/std/*.tess ../examples/*.tess; do
    i=$((i + 1))
    cp "$f" "corpus/parse/seed$i"
    cp "$f" "corpus/check/seed$i"
    # interp: the source, a NUL, then the case's first input line (if any).
    input=$(grep -m1 '^# input: ' "$f" | sed 's/^# input: //' || true)
    { cat "$f"; printf '\0%s' "$input"; } > "corpus/interp/seed$i"
    case "$f" in *gss_*) cp "corpus/interp/seed$i" "corpus/gss/seed$i" ;; esac
done
# gss with a transition parser: source, NUL, words, NUL, the saved parser.
{ cat ../tests/cases/lang/gss_scan.tess; printf '\0jump twice after walk left\0'; cat seeds/gss/scan.parser; } > corpus/gss/parser1
for j in 0 1 2 3 4 5 6 7; do
    printf "$(printf '\\x%02x' $j $((j * 37 % 256)) 3 7 1 2 $((j + 2)) $((j * 11 % 256)))" > "corpus/vsa/seed$j"
done
# circuit: a format byte (0 aig, 1 aag, 2 blif, 3 bench, 4 verilog, 5 truth), then a file.
k=0
for f in ../circuit/data/epfl/ctrl.aig ../circuit/data/iwls2023/*.init.aig; do
    k=$((k + 1)); { printf '\x00'; cat "$f"; } > "corpus/circuit/aig$k"
done
for f in ../circuit/data/iwls2023/ex1*.truth ../circuit/data/iwls2023/ex3*.truth; do
    k=$((k + 1)); { printf '\x05'; cat "$f"; } > "corpus/circuit/truth$k"
done
printf '\x01aag 3 2 0 1 1\n2\n4\n6\n6 2 4\ni0 a\ni1 b\no0 y\n' > corpus/circuit/aag1
printf '\x02.model m\n.inputs a b\n.outputs y\n.names a b y\n1- 1\n-1 1\n.end\n' > corpus/circuit/blif1
printf '\x03INPUT(a)\nINPUT(b)\nOUTPUT(y)\ny = XOR(a, b)\n' > corpus/circuit/bench1
printf '\x04module m(a, b, y); input [1:0] a; input b; output y; assign y = a[0] & ~b | a[1] ^ b; endmodule\n' > corpus/circuit/v1
# model: graph.json, a NUL, model.safetensors (small compiled models kept in seeds/model/)
m=0
for d in seeds/model/*/; do
    m=$((m + 1)); { cat "$d/graph.json"; printf '\0'; cat "$d/model.safetensors"; } > "corpus/model/seed$m"
done
echo "seeded $i files (+$k circuits, +$m models)"
