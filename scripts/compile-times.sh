#!/usr/bin/env bash
# Compile time of every stdlib program at one max_len: the fastest of REPS runs of `tessera
# stats` (the time `Session::compile` reports: lowering to IR, equality saturation, lowering
# to the model graph), one line per program, slowest first.
#   scripts/compile-times.sh [MAX_LEN] [REPS]      (defaults 256 and 5; release build)
set -uo pipefail
cd "$(dirname "$0")/.."
t=${TESSERA:-target/release/tessera}
n=${1:-256}
reps=${2:-5}
time_of() { # entry vocab
    local best="" ms
    for _ in $(seq "$reps"); do
        ms=$("$t" stats --json --entry "$1" --vocab "$2" --max-len "$n" 2>/dev/null |
            grep -o '"compile_ms":[0-9.e-]*' | cut -d: -f2)
        [ -z "$ms" ] && { echo "refused"; return; }
        best=$(awk -v a="$ms" -v b="$best" 'BEGIN { print (b == "" || a < b) ? a : b }')
    done
    printf '%.1f' "$best"
}
{
    for p in reverse hist sort double_hist first_occurrence count contains min max \
        mark_first_instance mark_last_instance shift_by count_less_freq length \
        sort_by_most_freq; do
        printf '%s\t%s\n' "$p" "$(time_of "std::rasp::$p" a,b,c,d)"
    done
    printf 'sort_unique\t%s\n' "$(time_of std::rasp::sort_unique 0,1,2,3,4,5,6,7,8,9)"
    printf 'frac_prevs\t%s\n' "$(time_of std::rasp::frac_prevs x,y)"
    printf 'pair_balance\t%s\n' "$(time_of std::rasp::pair_balance '(,)')"
    printf 'shuffle_dyck\t%s\n' "$(time_of std::rasp::shuffle_dyck '(,)')"
    printf 'dyck1_ptf\t%s\n' "$(time_of std::rasp::dyck1_ptf '(,)')"
    printf 'shuffle_dyck2\t%s\n' "$(time_of std::rasp::shuffle_dyck2 '(,),{,}')"
    printf 'dyck2_ptf\t%s\n' "$(time_of std::rasp::dyck2_ptf '(,),{,}')"
    printf 'pointer::dyck2_ptf\t%s\n' "$(time_of std::pointer::dyck2_ptf '(,),{,}')"
    printf 'long_addition\t%s\n' "$(time_of std::rasp::long_addition 0,1,2,3,4,5,6,7,8,9,+)"
} | sort -t$'\t' -k2,2 -g -r
