#!/bin/sh
# bench/run.sh - the whole benchmark, side by side in one run (make bench):
# decode-only (canal-c with Debian's nanopb, with a vendored PB_BUFFER_ONLY
# nanopb, Google's C++ protobuf with an Arena), headers-only, end to end over
# loopback (rows decoded, raw entries only), allocations, peak RSS and the
# -Os text size. Prints one table, then one machine-readable line.
#
# usage: bench/run.sh BUILD VENDORED_BUILD STREAM
set -eu
B=$1 V=$2 STREAM=$3
tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT INT TERM

# the value of key=... in a result (one or more lines)
val() { echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -n 1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

echo "bench: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
echo "bench: stream $STREAM ($(du -m "$STREAM" | cut -f1) MB)"

cpp=$("$B/bench/ref_cpp" "$STREAM")
dec=$("$B/bench/decode" "$STREAM")
decv=$("$V/bench/decode" "$STREAM")
hdr=$("$B/bench/decode" --headers-only "$STREAM")
for line in "$dec" "$decv"; do
    if [ "$(val checksum "$line")" != "$(val checksum "$cpp")" ]; then
        echo "bench: checksums differ: canal-c and protobuf decoded different data" >&2
        echo "$cpp" >&2; echo "$line" >&2
        exit 1
    fi
done

"$B/bench/replay" --port 0 --port-file "$tmp/port" --stream "$STREAM" >/dev/null 2>"$tmp/replay.log" &
pid=$!
for i in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
port=$(cat "$tmp/port")
e2e=$("$B/bench/e2e" --port "$port" --quiet)
raw=$("$B/bench/e2e" --port "$port" --quiet --raw-only)
kill "$pid" 2>/dev/null; pid=

# -Os text of the client and its generated codecs (not the nanopb runtime)
text=0
for f in canal.c pb/CanalProtocol.pb.c pb/EntryProtocol.pb.c; do
    ${CC:-cc} -std=c99 -Os -DPB_ENABLE_MALLOC -I. -c "$f" -o "$tmp/t.o"
    t=$(size "$tmp/t.o" | awk 'NR == 2 { print $1 }')
    text=$((text + t))
done

x_cpp=$(ratio "$(val rows_per_s "$dec")" "$(val rows_per_s "$cpp")")
x_cppv=$(ratio "$(val rows_per_s "$decv")" "$(val rows_per_s "$cpp")")
x_e2e=$(ratio "$(val rows_per_s "$e2e")" "$(val rows_per_s "$dec")")

printf '\n%-44s %12s %10s %s\n' "measure" "rows/s" "MB/s" "notes"
printf '%-44s %12s %10s %s\n' "decode, Google C++ protobuf + Arena" "$(val rows_per_s "$cpp")" "$(val mb_per_s "$cpp")" "reference"
printf '%-44s %12s %10s %s\n' "decode, canal-c + Debian nanopb" "$(val rows_per_s "$dec")" "$(val mb_per_s "$dec")" "${x_cpp}x C++"
printf '%-44s %12s %10s %s\n' "decode, canal-c + nanopb PB_BUFFER_ONLY" "$(val rows_per_s "$decv")" "$(val mb_per_s "$decv")" "${x_cppv}x C++"
printf '%-44s %12s %10s %s\n' "headers only (rows not decoded), canal-c" "-" "$(val mb_per_s "$hdr")" "in memory"
printf '%-44s %12s %10s %s\n' "end to end over loopback, rows decoded" "$(val rows_per_s "$e2e")" "$(val mb_per_s "$e2e")" "${x_e2e}x decode; peak RSS $(val peak_rss_kib "$e2e") KiB; $(val allocs_per_batch "$e2e") allocs/batch"
printf '%-44s %12s %10s %s\n' "end to end over loopback, raw entries only" "-" "$(val mb_per_s "$raw")" "peak RSS $(val peak_rss_kib "$raw") KiB; $(val allocs_per_batch "$raw") allocs/batch"
printf '%-44s %12s %10s %s\n' "text size -Os, canal.o + pb/*.pb.o" "-" "-" "$text bytes"
echo
echo "decode_x_cpp=$x_cpp decode_x_cpp_vendored=$x_cppv e2e_rows_per_s=$(val rows_per_s "$e2e") e2e_x_decode=$x_e2e allocs_per_batch=$(val allocs_per_batch "$e2e") peak_rss_kib=$(val peak_rss_kib "$e2e") text_bytes=$text raw_mb_per_s=$(val mb_per_s "$raw")"
