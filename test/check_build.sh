#!/bin/sh
# Checks on how canal-c builds into other people's code: canal.o exports
# only canal_* names; the README's example compiles as it stands; canal.h
# is valid C++ too. Ends with "build: N passed, M failed".
# usage: test/check_build.sh BUILD_DIR
B=${1:-build}
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
echo "build: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
