#!/bin/sh
# bench/run.sh - the whole benchmark, side by side in one run (make bench):
# decode-only (canal-c with Debian's nanopb, with a vendored PB_BUFFER_ONLY
# nanopb, Google's C++ protobuf with an Arena), headers-only, end to end over
# loopback and over simulated 1 ms and 5 ms round trips (replay --rtt-ms),
# each with one GET at a time and with GETs pipelined (rows decoded; raw
# entries only on loopback), allocations, peak RSS and the -Os text size.
# Prints one table, then one machine-readable line.
#
# usage: bench/run.sh BUILD VENDORED_BUILD STREAM [DEPTH]
# DEPTH: GETs in flight for the pipelined rows (canal_options.get_pipeline;
# default 4); the serial rows use 1.
set -eu
B=$1 V=$2 STREAM=$3 DEPTH=${4:-4}
tmp=$(mktemp -d)
pids=
cleanup() { for p in $pids; do kill "$p" 2>/dev/null; done; rm -rf "$tmp"; }
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

# One replay server per round trip (0 = plain loopback, then simulated 1 ms
# and 5 ms links), the same consumer serial (get_pipeline 1) and pipelined
# (get_pipeline $DEPTH) against each, in the same run.
start_replay() { # RTT_MS; sets $port
    rm -f "$tmp/port"
    "$B/bench/replay" --port 0 --port-file "$tmp/port" --stream "$STREAM" --rtt-ms "$1" \
        >/dev/null 2>>"$tmp/replay.log" &
    pids="$pids $!"
    for i in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
    [ -s "$tmp/port" ] || { cat "$tmp/replay.log" >&2; echo "bench: replay did not start" >&2; exit 1; }
    port=$(cat "$tmp/port")
}
e2e() { # PORT DEPTH [args]: the result lines; fails on a row count other than the decoders'
    port=$1 depth=$2; shift 2
    "$B/bench/e2e" --port "$port" --quiet --pipeline "$depth" --expect-rows "$(val rows "$dec")" "$@"
}
# The machine may be shared: every e2e figure is the best of ROUNDS runs,
# the configurations taking turns, so a serial and a pipelined figure are
# measured under the same load.
ROUNDS=${ROUNDS:-3}
keep() { # NAME RESULT: keep the result with the most rows/s under NAME
    old=$(cat "$tmp/$1" 2>/dev/null || true)
    if [ -z "$old" ] || awk -v a="$(val rows_per_s "$2")" -v b="$(val rows_per_s "$old")" \
        'BEGIN { exit !(a > b) }'; then echo "$2" >"$tmp/$1"; fi
}
start_replay 0; p0=$port
start_replay 1; p1=$port
start_replay 5; p5=$port
for round in $(seq "$ROUNDS"); do
    r=$(e2e "$p0" 1); keep e2e "$r"
    r=$(e2e "$p0" "$DEPTH"); keep e2ep "$r"
    r=$(e2e "$p0" 1 --raw-only); keep raw "$r"
    r=$(e2e "$p0" "$DEPTH" --raw-only); keep rawp "$r"
    r=$(e2e "$p1" 1); keep r1 "$r"
    r=$(e2e "$p1" "$DEPTH"); keep r1p "$r"
    r=$(e2e "$p5" 1); keep r5 "$r"
    r=$(e2e "$p5" "$DEPTH"); keep r5p "$r"
done
e2e=$(cat "$tmp/e2e") e2ep=$(cat "$tmp/e2ep") raw=$(cat "$tmp/raw") rawp=$(cat "$tmp/rawp")
r1=$(cat "$tmp/r1") r1p=$(cat "$tmp/r1p") r5=$(cat "$tmp/r5") r5p=$(cat "$tmp/r5p")
for p in $pids; do kill "$p" 2>/dev/null; done; pids=

# -Os text of the client and its generated codecs (not the nanopb runtime)
text=0
for f in canal.c pb/CanalProtocol.pb.c pb/EntryProtocol.pb.c; do
    ${CC:-cc} -std=c99 -Os -DPB_ENABLE_MALLOC -I. -c "$f" -o "$tmp/t.o"
    t=$(size "$tmp/t.o" | awk 'NR == 2 { print $1 }')
    text=$((text + t))
done

x_cpp=$(ratio "$(val rows_per_s "$dec")" "$(val rows_per_s "$cpp")")
x_cppv=$(ratio "$(val rows_per_s "$decv")" "$(val rows_per_s "$cpp")")
xd() { ratio "$(val rows_per_s "$1")" "$(val rows_per_s "$dec")"; }
e2e_row() { # LABEL RESULT [more notes]
    printf '%-44s %12s %10s %s\n' "$1" "$(val rows_per_s "$2")" "$(val mb_per_s "$2")" \
        "$(xd "$2")x decode; peak RSS $(val peak_rss_kib "$2") KiB; $(val allocs_per_batch "$2") allocs/batch"
}

printf '\n%-44s %12s %10s %s\n' "measure" "rows/s" "MB/s" "notes"
printf '%-44s %12s %10s %s\n' "decode, Google C++ protobuf + Arena" "$(val rows_per_s "$cpp")" "$(val mb_per_s "$cpp")" "reference"
printf '%-44s %12s %10s %s\n' "decode, canal-c + Debian nanopb" "$(val rows_per_s "$dec")" "$(val mb_per_s "$dec")" "${x_cpp}x C++"
printf '%-44s %12s %10s %s\n' "decode, canal-c + nanopb PB_BUFFER_ONLY" "$(val rows_per_s "$decv")" "$(val mb_per_s "$decv")" "${x_cppv}x C++"
printf '%-44s %12s %10s %s\n' "headers only (rows not decoded), canal-c" "-" "$(val mb_per_s "$hdr")" "in memory"
e2e_row "e2e loopback, rows decoded, serial" "$e2e"
e2e_row "e2e loopback, rows decoded, $DEPTH GETs in flight" "$e2ep"
e2e_row "e2e RTT 1 ms, rows decoded, serial" "$r1"
e2e_row "e2e RTT 1 ms, rows decoded, $DEPTH GETs in flight" "$r1p"
e2e_row "e2e RTT 5 ms, rows decoded, serial" "$r5"
e2e_row "e2e RTT 5 ms, rows decoded, $DEPTH GETs in flight" "$r5p"
printf '%-44s %12s %10s %s\n' "e2e loopback, raw entries only, serial" "-" "$(val mb_per_s "$raw")" "peak RSS $(val peak_rss_kib "$raw") KiB; $(val allocs_per_batch "$raw") allocs/batch"
printf '%-44s %12s %10s %s\n' "e2e loopback, raw entries only, $DEPTH in flight" "-" "$(val mb_per_s "$rawp")" "peak RSS $(val peak_rss_kib "$rawp") KiB; $(val allocs_per_batch "$rawp") allocs/batch"
printf '%-44s %12s %10s %s\n' "text size -Os, canal.o + pb/*.pb.o" "-" "-" "$text bytes"
echo
echo "decode_x_cpp=$x_cpp decode_x_cpp_vendored=$x_cppv pipeline=$DEPTH e2e_rows_per_s=$(val rows_per_s "$e2ep")" \
     "e2e_x_decode=$(xd "$e2ep") e2e_serial_x_decode=$(xd "$e2e") e2e_rtt1_x_decode=$(xd "$r1p")" \
     "e2e_rtt1_serial_x_decode=$(xd "$r1") e2e_rtt5_x_decode=$(xd "$r5p") e2e_rtt5_serial_x_decode=$(xd "$r5")" \
     "allocs_per_batch=$(val allocs_per_batch "$e2ep") peak_rss_kib=$(val peak_rss_kib "$e2ep") text_bytes=$text" \
     "raw_mb_per_s=$(val mb_per_s "$rawp")"
