#!/bin/sh
# Checks on how canal-c builds into other people's code: canal.o exports
# only canal_* names; the README's example compiles as it stands; canal.h
# is valid C++ too; the default build links nothing of ZooKeeper (nozk), or
# example was built with it (zk). Ends with "build: N passed, M failed".
# usage: test/check_build.sh BUILD_DIR [nozk|zk]
B=${1:-build}
ZK=${2:-nozk}
CC=${CC:-cc}
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1"; }
mkdir -p "$B/tmp"

if $CC -std=c99 -O2 -DPB_ENABLE_MALLOC -I. -c canal.c -o "$B/tmp/canal_exports.o"; then
    others=$(nm -g --defined-only "$B/tmp/canal_exports.o" | awk '{print $3}' | grep -v '^canal_')
    if [ -z "$others" ]; then ok "canal.o exports only canal_* symbols"
    else bad "canal.o exports other symbols: $others"; fi
else
    bad "canal.c did not compile"
fi

# the first C block of the README, compiled and linked against the library
awk '/^```c$/ { on = 1; next } /^```$/ { if (on) exit } on' README.md > "$B/tmp/readme_example.c"
if [ -s "$B/tmp/readme_example.c" ] &&
   $CC -std=c99 -Wall -Wextra -Werror -DPB_ENABLE_MALLOC -I. -o "$B/tmp/readme_example" \
       "$B/tmp/readme_example.c" canal.c pb/CanalProtocol.pb.c pb/EntryProtocol.pb.c -lprotobuf-nanopb; then
    ok "the README's polling loop compiles and links"
else
    bad "the README's polling loop does not compile"
fi

# canal_flat.c is an optional module on the public API: it must build next to
# canal.h alone (no canal.c, no pb/) and export only canal_flat_* names.
rm -rf "$B/tmp/flat_alone" && mkdir -p "$B/tmp/flat_alone" &&
    cp canal.h canal_flat.h canal_flat.c "$B/tmp/flat_alone/"
if (cd "$B/tmp/flat_alone" && $CC -std=c99 -Wall -Wextra -Werror -Wmissing-prototypes -O2 \
        -c canal_flat.c -o canal_flat.o); then
    others=$(nm -g --defined-only "$B/tmp/flat_alone/canal_flat.o" | awk '{print $3}' | grep -v '^canal_flat_')
    if [ -z "$others" ]; then ok "canal_flat.c builds on canal.h alone, exports only canal_flat_*"
    else bad "canal_flat.o exports other symbols: $others"; fi
else
    bad "canal_flat.c does not build on canal.h alone"
fi

# the README's FlatMessage example
awk '/^```c$/ { on = 1; buf = ""; next } /^```$/ { if (on && buf ~ /canal_flat.h/) { printf "%s", buf; exit } on = 0; next }
     on { buf = buf $0 "\n" }' README.md > "$B/tmp/readme_flat.c"
if [ -s "$B/tmp/readme_flat.c" ] &&
   $CC -std=c99 -Wall -Wextra -Werror -I. -c -o "$B/tmp/readme_flat.o" "$B/tmp/readme_flat.c"; then
    ok "the README's FlatMessage example compiles"
else
    bad "the README's FlatMessage example does not compile"
fi

if command -v c++ >/dev/null 2>&1; then
    if echo '#include "canal_flat.h"
int main() { return canal_flat_wants(0) ? 1 : 0; }' |
       c++ -x c++ -Wall -Wextra -Werror -I. -fsyntax-only -; then
        ok "canal_flat.h compiles as C++"
    else
        bad "canal_flat.h does not compile as C++"
    fi
fi

if command -v c++ >/dev/null 2>&1; then
    if echo '#include "canal.h"
int main() { canal_options o; canal_options_init(&o); return canal_version() > 0 ? 0 : 1; }' |
       c++ -x c++ -Wall -Wextra -Werror -I. -fsyntax-only -; then
        ok "canal.h compiles as C++"
    else
        bad "canal.h does not compile as C++"
    fi
fi
# ZooKeeper: only canal_zk.c may need it. nm finds no zoo_*/zookeeper_*
# symbol (defined or not) and ldd no libzookeeper in the default build.
zk_syms() { nm "$1" 2>/dev/null | grep -E ' [A-Za-z] (zoo_|zookeeper_|zerror)' | head -3; }
zk_libs() { ldd "$1" 2>/dev/null | grep -i zookeeper; }
if [ -n "$(zk_syms "$B/tmp/canal_exports.o")" ]; then bad "canal.o refers to ZooKeeper"
else ok "canal.o refers to nothing of ZooKeeper"; fi
for prog in example test_client; do
    [ -x "$B/$prog" ] || { bad "$B/$prog missing"; continue; }
    s=$(zk_syms "$B/$prog"); l=$(zk_libs "$B/$prog")
    if [ "$ZK" = zk ] && [ "$prog" = example ]; then
        if [ -n "$s" ] && [ -n "$l" ]; then ok "$B/example (ZOOKEEPER=1) links libzookeeper_mt"
        else bad "$B/example (ZOOKEEPER=1) does not link ZooKeeper"; fi
    elif [ -z "$s" ] && [ -z "$l" ]; then
        ok "$B/$prog links nothing of ZooKeeper (nm, ldd)"
    else
        bad "$B/$prog links ZooKeeper: $s $l"
    fi
done
echo "build: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
