#!/bin/sh
# Run test programs, one per argument (a shell command), and add up their
# closing "N passed, M failed" lines. A program that crashes or exits non-zero
# without failures of its own counts as one failure. Ends with the total line
# and exits non-zero when anything failed.
passed=0
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for cmd in "$@"; do
    echo "== $cmd"
    sh -c "$cmd" >"$log" 2>&1
    rc=$?
    cat "$log"
    line=$(grep -E '([0-9]+) passed, ([0-9]+) failed' "$log" | tail -n 1)
    p=$(echo "$line" | sed -nE 's/(^|.*[^0-9])([0-9]+) passed, ([0-9]+) failed.*/\2/p')
    f=$(echo "$line" | sed -nE 's/(^|.*[^0-9])([0-9]+) passed, ([0-9]+) failed.*/\3/p')
    [ -n "$p" ] || p=0
    [ -n "$f" ] || f=0
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "!! '$cmd' exited with status $rc"
        f=1
    fi
    passed=$((passed + p))
    failed=$((failed + f))
done
echo "total: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
