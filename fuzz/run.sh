#!/bin/sh
# Run every fuzz target, one after the other, and count the ones that ended
# without a crash. Called by fuzz/fuzz.mk:
#
#   fuzz/run.sh BUILD_DIR time SECONDS   each target for SECONDS (make fuzz)
#   fuzz/run.sh BUILD_DIR smoke RUNS     each target on its seeds plus RUNS
#                                        mutations, fixed seed (make fuzz-smoke)
#
# Seeds are read from fuzz/corpus/<target>; new inputs go to
# BUILD_DIR/fuzz-corpus/<target> (smoke: BUILD_DIR/fuzz-smoke/<target>,
# emptied first), crashes to BUILD_DIR/fuzz-artifacts/, each run's whole
# output to BUILD_DIR/fuzz-<target>.log. Ends with "fuzz: N passed, M failed".
B=$1
mode=$2
n=$3
here=$(dirname "$0")
pass=0
fail=0
mkdir -p "$B/fuzz-artifacts"
for t in fuzz_frames fuzz_decode fuzz_flat fuzz_values fuzz_diff; do
    case $t in
    # whole sessions: bounded by what the socketpair buffer holds up front
    fuzz_frames) maxlen=65536 ;;
    # single messages: big enough for several entries with many columns
    fuzz_decode) maxlen=16384 ;;
    # FlatMessage lines of single messages: the same
    fuzz_flat) maxlen=16384 ;;
    # one column value (and its type text)
    fuzz_values) maxlen=4096 ;;
    # hand-built protobuf, compared with a reference decoder
    fuzz_diff) maxlen=4096 ;;
    esac
    if [ "$mode" = time ]; then
        corpus=$B/fuzz-corpus/$t
        limit="-max_total_time=$n"
    else
        corpus=$B/fuzz-smoke/$t
        rm -rf "$corpus"
        limit="-runs=$n -seed=1"
    fi
    mkdir -p "$corpus"
    log=$B/fuzz-$t.log
    echo "== $t ($limit -max_len=$maxlen)"
    # shellcheck disable=SC2086
    "$B/$t" $limit -max_len=$maxlen -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$B/fuzz-artifacts/$t-" "$corpus" "$here/corpus/$t" >"$log" 2>&1
    rc=$?
    grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)|^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$log"
    if [ $rc -eq 0 ]; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        grep -E 'ERROR|SUMMARY|invariant failed|Test unit written' "$log" | head -n 8
        echo "!! $t failed (exit $rc); whole output in $log"
    fi
done
echo "fuzz: $pass passed, $fail failed"
[ $fail -eq 0 ]
