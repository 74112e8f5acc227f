#!/usr/bin/env bash
# Whether two builds of tessera compile every stdlib program to the same bytes: `tessera compile
# --no-verify` with each (graph.json, graph.dot, model.safetensors), then `diff -r`. For changes
# meant to keep the models as they are (compile-time work):
#   scripts/compare-compiled.sh OLD_BINARY NEW_BINARY [MAX_LEN...]      (default 5 20 64 256)
set -uo pipefail
old=$1
new=$2
shift 2
sizes=("$@")
[ ${#sizes[@]} -eq 0 ] && sizes=(5 20 64 256)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
same=0
differ=0
one() { # entry vocab n
    rm -rf "$work/a" "$work/b"
    "$old" compile --entry "$1" --vocab "$2" --max-len "$3" -o "$work/a" --no-verify >/dev/null 2>&1
    "$new" compile --entry "$1" --vocab "$2" --max-len "$3" -o "$work/b" --no-verify >/dev/null 2>&1
    if [ -d "$work/a" ] && diff -r "$work/a" "$work/b" >/dev/null 2>&1; then
        same=$((same + 1))
    else
        differ=$((differ + 1))
        echo "differs (or not compiled): $1 at $3"
    fi
}
for n in "${sizes[@]}"; do
    for p in reverse hist sort double_hist first_occurrence count contains min max \
        mark_first_instance mark_last_instance shift_by count_less_freq length \
        sort_by_most_freq; do
        one "std::rasp::$p" a,b,c,d "$n"
    done
    one std::rasp::sort_unique 0,1,2,3,4,5,6,7,8,9 "$n"
    one std::rasp::frac_prevs x,y "$n"
    one std::rasp::pair_balance '(,)' "$n"
    one std::rasp::shuffle_dyck '(,)' "$n"
    one std::rasp::dyck1_ptf '(,)' "$n"
    one std::rasp::shuffle_dyck2 '(,),{,}' "$n"
    one std::rasp::dyck2_ptf '(,),{,}' "$n"
    one std::pointer::dyck2_ptf '(,),{,}' "$n"
    one std::rasp::long_addition 0,1,2,3,4,5,6,7,8,9,+ "$n"
done
echo "same: $same, differ: $differ"
[ "$differ" -eq 0 ]
