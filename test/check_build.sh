#!/bin/sh
# Checks on how canal-c builds into other people's code: canal.o exports
# only canal_* names; the README's examples compile as they stand; the C it
# claims: canal.c, the codecs, the optional modules and both amalgamations
# are C99, C11 and C17 with -pedantic-errors, and canal.h is also C++98..20,
# with gcc and clang; the default build links nothing of ZooKeeper (nozk), or
# example was built with it (zk). Ends with "build: N passed, M failed".
# usage: test/check_build.sh BUILD_DIR [NANOPB_SRC_DIR [nozk|zk]]
# (NANOPB_SRC_DIR, nanopb's sources for the self-contained amalgamation,
# defaults to build/nanopb-src, where `make nanopb-src` puts them)
B=${1:-build}
NANOPB_SRC=${2:-build/nanopb-src}
ZK=${3:-nozk}
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

# the first C block under "Working with rows", compiled with the warnings on
awk '/^## Working with rows/ { sec = 1 } sec && /^```c$/ { on = 1; next } on && /^```$/ { exit } on' \
    README.md > "$B/tmp/readme_rows.c"
if [ -s "$B/tmp/readme_rows.c" ] &&
   $CC -std=c99 -O2 -Wall -Wextra -Werror -Wmissing-prototypes -I. -c -o "$B/tmp/readme_rows.o" \
       "$B/tmp/readme_rows.c"; then
    ok "the README's row example compiles"
else
    bad "the README's row example does not compile"
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
# ---------------------------------------------------------------- PB_* mismatch
# What canal.h says is caught: PB_WITHOUT_64BIT in canal.c's build (compile
# error) or in the runtime's (link error); the same link with a runtime built
# without it is the control.
if [ -f "$NANOPB_SRC/pb_decode.c" ]; then
    m="$B/tmp/mismatch"; rm -rf "$m"; mkdir -p "$m/rt64" "$m/rt32"
    printf '#include "canal.h"\nint main(void) { return canal_version() > 0 ? 0 : 1; }\n' >"$m/main.c"
    if $CC -std=c99 -I"$NANOPB_SRC" -I. -c canal.c -o "$m/canal.o" &&
       $CC -std=c99 -I"$NANOPB_SRC" -I. -c pb/CanalProtocol.pb.c -o "$m/c.pb.o" &&
       $CC -std=c99 -I"$NANOPB_SRC" -I. -c pb/EntryProtocol.pb.c -o "$m/e.pb.o" &&
       for f in pb_common pb_decode pb_encode; do
           $CC -I"$NANOPB_SRC" -c "$NANOPB_SRC/$f.c" -o "$m/rt64/$f.o" &&
           $CC -I"$NANOPB_SRC" -DPB_WITHOUT_64BIT -c "$NANOPB_SRC/$f.c" -o "$m/rt32/$f.o" || exit 1
       done; then
        if $CC -I. -o "$m/ok" "$m/main.c" "$m/canal.o" "$m"/*.pb.o "$m"/rt64/*.o && "$m/ok" &&
           ! $CC -I. -o "$m/bad" "$m/main.c" "$m/canal.o" "$m"/*.pb.o "$m"/rt32/*.o 2>"$m/link.txt" &&
           grep -q "undefined reference to .pb_decode_varint" "$m/link.txt"; then
            ok "a nanopb runtime built with PB_WITHOUT_64BIT fails the link (pb_decode_varint); a default one links"
        else
            bad "the link does not tell a PB_WITHOUT_64BIT runtime from a default one"
        fi
    else
        bad "could not build the objects for the PB_* mismatch check"
    fi
    if ! $CC -std=c99 -DPB_WITHOUT_64BIT -I"$NANOPB_SRC" -I. -c canal.c -o "$m/x.o" 2>/dev/null; then
        ok "canal.c refuses to compile with PB_WITHOUT_64BIT"
    else
        bad "canal.c compiles with PB_WITHOUT_64BIT"
    fi
fi

# ---------------------------------------------------------------- the C claimed
# Every source in every form, as C99/C11/C17, pedantic, warnings fatal.
PEDANTIC="-pedantic-errors -Wall -Wextra -Werror"
# the optional modules present (ZooKeeper's needs libzookeeper-mt-dev's header)
mods=""
for m in canal_flat canal_zk; do [ -f "$m.c" ] && [ -f "$m.h" ] && mods="$mods $m.c"; done
if [ -f canal_zk.c ] && ! [ -f /usr/include/zookeeper/zookeeper.h ]; then
    mods=$(echo "$mods" | sed 's/ canal_zk\.c//'); echo "skip canal_zk.c: no zookeeper/zookeeper.h"
fi
rm -rf "$B/tmp/std" && mkdir -p "$B/tmp/std"
forms="repo"
if /usr/bin/python3 tools/amalgamate.py "$B/tmp/std/dist" canal.h:canal.c canal_flat.h:canal_flat.c \
       canal_zk.h:canal_zk.c >/dev/null; then forms="$forms dist"; else bad "tools/amalgamate.py failed"; fi
if [ -f "$NANOPB_SRC/pb_decode.c" ] &&
   /usr/bin/python3 tools/amalgamate.py --nanopb "$NANOPB_SRC" "$B/tmp/std/dist-libc" canal.h:canal.c \
       canal_flat.h:canal_flat.c canal_zk.h:canal_zk.c >/dev/null; then forms="$forms dist-libc"
else bad "no self-contained amalgamation (nanopb sources in $NANOPB_SRC? make nanopb-src)"; fi
for cc in gcc clang; do
    command -v $cc >/dev/null 2>&1 || { bad "$cc not installed"; continue; }
    for std in c99 c11 c17; do
        for form in $forms; do
            case $form in
            repo) srcs="canal.c pb/CanalProtocol.pb.c pb/EntryProtocol.pb.c$mods"; inc="-I. -DPB_ENABLE_MALLOC" ;;
            dist) srcs=$(cd "$B/tmp/std/$form" && ls canal.c $mods); inc="-DPB_ENABLE_MALLOC" ;;
            *) srcs=$(cd "$B/tmp/std/$form" && ls canal.c $mods); inc="" ;;
            esac
            dir=.; [ "$form" = repo ] || dir="$B/tmp/std/$form"
            fails=""
            for src in $srcs; do
                (cd "$dir" && $cc -std=$std $PEDANTIC $inc -c "$src" -o /dev/null) ||
                    fails="$fails $src"
            done
            if [ -z "$fails" ]; then ok "$form ($(echo $srcs | sed 's|\./||g')): $cc -std=$std -pedantic-errors clean"
            else bad "$form: $cc -std=$std -pedantic-errors fails on$fails"; fi
        done
    done
done
hdrs="canal.h"
for m in canal_flat canal_zk; do [ -f "$m.c" ] && [ -f "$m.h" ] && hdrs="$hdrs $m.h"; done
for cxx in g++ clang++; do
    command -v $cxx >/dev/null 2>&1 || { bad "$cxx not installed"; continue; }
    for std in c++98 c++11 c++17 c++20; do
        if for h in $hdrs; do printf '#include "%s"\nint main() { return canal_version() > 0 ? 0 : 1; }\n' "$h" |
               $cxx -x c++ -std=$std $PEDANTIC -I. -fsyntax-only - || exit 1; done; then
            ok "$hdrs: $cxx -std=$std -pedantic-errors clean"
        else
            bad "$hdrs: not $cxx -std=$std -pedantic-errors clean"
        fi
    done
done

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
