#!/usr/bin/env bash
# Stats and verification of every stdlib program at the sizes of BENCHMARKS.md's compiled-model
# tables: scripts/compiled-sweep.sh [SAMPLES] (default 2000 for the anchor sizes; 100 at 64/256).
# One line per (program, N): layers, heads, MLP widths, residual, params, and verify's verdict.
set -uo pipefail
cd "$(dirname "$0")/.."
t=${TESSERA:-target/release/tessera}
samples=${1:-2000}
row() { # program vocab N samples [args...]
    local p=$1 v=$2 n=$3 s=$4; shift 4
    local st ver e="std::rasp::$p"
    case $p in pointer::*) e="std::$p" ;; esac
    st=$("$t" stats --json --entry "$e" --vocab "$v" --max-len "$n" "$@" 2>&1)
    ver=$("$t" verify --entry "$e" --vocab "$v" --max-len "$n" --samples "$s" "$@" 2>&1 | tail -1)
    printf '%s\t%s\t%s\t%s\t%s\n' "$p" "$n" "$*" "$(echo "$st" | tr -d '\n' | cut -c1-400)" "$ver"
}
for n in 5 10 20 80 256; do row reverse a,b,c,d $n "$samples"; done
for n in 5 10 20; do row hist a,b,c,d $n "$samples"; done
for n in 5 10 20; do row sort a,b,c,d,e $n "$samples"; done
row sort_unique 1,2,3,4,5 5 "$samples"
for n in 5 10; do row sort_by_most_freq a,b,c,d $n "$samples"; done
for n in 5 10; do row shuffle_dyck '(,)' $n "$samples"; done
for n in 5 10; do row shuffle_dyck2 '(,),{,}' $n "$samples"; done
row count_less_freq a,b,c,d 6 "$samples"
row shift_by a,b,c,d 5 "$samples" --arg k=1
for n in 5 10; do row frac_prevs x,y,z,w $n "$samples"; done
row frac_prevs x,y 20 "$samples"
row pair_balance '(,)' 10 "$samples"
row dyck1_ptf '(,)' 10 "$samples"
row dyck2_ptf '(,),{,}' 8 "$samples"
row pointer::dyck2_ptf '(,),{,}' 8 "$samples"
for n in 64 256; do
    for p in reverse hist sort double_hist first_occurrence count contains min max \
        mark_first_instance mark_last_instance shift_by count_less_freq length; do
        row "$p" a,b,c,d $n 100
    done
    row sort_unique 0,1,2,3,4,5,6,7,8,9 $n 100
    row frac_prevs x,y $n 100
    row shuffle_dyck '(,)' $n 100
    row shuffle_dyck2 '(,),{,}' $n 100
    row dyck1_ptf '(,)' $n 100
    row dyck2_ptf '(,),{,}' $n 100
    row pointer::dyck2_ptf '(,),{,}' $n 100
    row long_addition 0,1,2,3,4,5,6,7,8,9,+ $n 100
    row sort_by_most_freq a,b,c,d $n 100
    row pair_balance '(,)' $n 100
done
