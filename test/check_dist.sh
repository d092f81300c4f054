#!/bin/sh
# The three ways to take canal-c, each as a new user would, each proven by
# example.c built that way and passing test/test_example.py:
#   1. the amalgamation with Debian's nanopb, and self-contained (libc only),
#      each built alone in an empty directory with no include path into the repo;
#   2. make install into a temporary prefix: pkg-config, CMake find_package
#      (shared and static), and make uninstall removing exactly what it put;
#   3. CMake add_subdirectory() on this checkout.
# Ends with "dist: N passed, M failed".
# usage: test/check_dist.sh BUILD_DIR   (BUILD_DIR: for test_example.py's files)
B=$(cd "${1:-build}" && pwd)
REPO=$(pwd)
MAKE=${MAKE:-make}
CC=${CC:-cc}
PY=/usr/bin/python3
T=$(mktemp -d "${TMPDIR:-/tmp}/canal-dist.XXXXXX")
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1"; }
check() { # check NAME COMMAND...: one case, output shown only on failure
    name=$1; shift
    if "$@" >"$T/log" 2>&1; then ok "$name"; else bad "$name"; sed 's/^/     /' "$T/log" | tail -n 30; fi
}
# example.c's end-to-end suite against one build of it
runs() { $PY "$REPO/test/test_example.py" "$1" "$B" | tail -n 1 | grep -q ' 0 failed'; }
# defined global symbols of an object or library that are not canal_*
foreign() { nm -g --defined-only "$@" 2>/dev/null | awk 'NF == 3 && $3 !~ /^canal_/ { print $3 }'; }
mk() { $MAKE --no-print-directory -C "$REPO" "$@"; }

# ---------------------------------------------------------------- 1. amalgamation
# $1 dir, $2 extra compile flags, $3 link flags
# (the modules that need only libc, as libcanal has them; a module with
# libs of its own, e.g. ZooKeeper, is amalgamated but not built here)
LIB_SOURCES=$(mk -s print-lib-sources)
pair() {
    d=$T/$1
    mkdir "$d/alone" && cp "$d"/*.h "$d"/*.c "$REPO/example.c" "$d/alone/" &&
    (cd "$d/alone" && for c in $LIB_SOURCES; do
         $CC -std=c99 -pedantic-errors -Wall -Wextra -Werror -O2 $2 -c "$c" || exit 1; done &&
     $CC -std=c99 -Wall -Wextra -Werror -O2 -c example.c &&
     $CC -o example ./*.o $3)
}
check "make amalgamation writes dist/canal.h and dist/canal.c" \
    mk amalgamation DIST="$T/dist"
check "the pair builds example alone with Debian's nanopb (-lprotobuf-nanopb)" \
    pair dist -DPB_ENABLE_MALLOC -lprotobuf-nanopb
check "dist/canal.o exports only canal_* names" \
    sh -c "[ -z \"\$(nm -g --defined-only $T/dist/alone/canal.o | awk 'NF==3 && \$3 !~ /^canal_/')\" ]"
check "example from the pair passes test_example.py" runs "$T/dist/alone/example"

check "make amalgamation FOLD_NANOPB=1 writes a self-contained pair" \
    mk amalgamation FOLD_NANOPB=1 DIST="$T/dist-libc"
check "the self-contained pair builds example alone, libc only" pair dist-libc "" ""
check "self-contained canal.o exports only canal_* and needs no pb_* symbol" \
    sh -c "[ -z \"\$(nm -g --defined-only $T/dist-libc/alone/canal.o | awk 'NF==3 && \$3 !~ /^canal_/')\" ] &&
           ! nm -u $T/dist-libc/alone/canal.o | grep -q ' pb_'"
check "example from the self-contained pair passes test_example.py" runs "$T/dist-libc/alone/example"

# ---------------------------------------------------------------- 2. install
P=$T/prefix
check "make install PREFIX=..." mk install PREFIX="$P"
check "libcanal.so has soname $(cd "$P/lib" 2>/dev/null && readlink libcanal.so), and exports only canal_*" \
    sh -c "so=\$(readlink $P/lib/libcanal.so) &&
           readelf -d $P/lib/libcanal.so | grep -q \"SONAME.*\\[\$so\\]\" &&
           [ \"\$(readlink $P/lib/\$so)\" = \"\$(cd $P/lib && ls libcanal.so.*.*.*)\" ] &&
           [ -z \"\$(nm -D --defined-only $P/lib/libcanal.so | awk 'NF==3 && \$3 !~ /^canal_/')\" ] &&
           [ -z \"\$(nm -g --defined-only $P/lib/libcanal.a | awk 'NF==3 && \$3 !~ /^canal_/')\" ]"
mkdir -p "$T/pc"
check "example builds with pkg-config --cflags --libs canal" \
    sh -c "cd $T/pc && PKG_CONFIG_PATH=$P/lib/pkgconfig && export PKG_CONFIG_PATH &&
           $CC -std=c99 -Wall -Wextra -Werror -o example $REPO/example.c \$(pkg-config --cflags --libs canal) &&
           ldd ./example | grep -q 'libcanal.so'"
# pkg-config gives no rpath: the loader is told where the prefix is
LD_LIBRARY_PATH=$P/lib; export LD_LIBRARY_PATH
check "example linked by pkg-config passes test_example.py" runs "$T/pc/example"
unset LD_LIBRARY_PATH

mkdir -p "$T/cm"
cp "$REPO/example.c" "$T/cm/"
cat >"$T/cm/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.13)
project(uses_canal C)
find_package(canal 0.1 REQUIRED)
add_executable(example_shared example.c)
target_link_libraries(example_shared PRIVATE canal::canal)
add_executable(example_static example.c)
target_link_libraries(example_static PRIVATE canal::canal_static)
EOF
check "CMake find_package(canal) builds example, shared and static" \
    sh -c "cmake -S $T/cm -B $T/cm/build -DCMAKE_PREFIX_PATH=$P >/dev/null && cmake --build $T/cm/build"
check "find_package(canal): shared example passes test_example.py (rpath from CMake)" runs "$T/cm/build/example_shared"
check "find_package(canal): static example needs no libcanal.so and passes" \
    sh -c "! ldd $T/cm/build/example_static | grep -q libcanal && $PY $REPO/test/test_example.py $T/cm/build/example_static $B | tail -n 1 | grep -q ' 0 failed'"

check "make uninstall leaves the prefix without a file" \
    sh -c "$MAKE --no-print-directory -C $REPO uninstall PREFIX=$P && [ -z \"\$(find $P ! -type d)\" ]"
S=$T/stage
mkdir -p "$S/usr/lib/pkgconfig" "$S/usr/include"
echo other >"$S/usr/lib/pkgconfig/other.pc"
echo other >"$S/usr/include/other.h"
check "install DESTDIR=... PREFIX=/usr stages under DESTDIR, with /usr paths in canal.pc" \
    sh -c "$MAKE --no-print-directory -C $REPO install DESTDIR=$S PREFIX=/usr >/dev/null &&
           [ -f $S/usr/include/canal.h ] && [ -f $S/usr/lib/libcanal.a ] &&
           grep -qx 'libdir=/usr/lib' $S/usr/lib/pkgconfig/canal.pc &&
           grep -q '\"/usr/lib/libcanal.so' $S/usr/lib/cmake/canal/canalConfig.cmake"
check "make uninstall DESTDIR=... removes exactly what install put there" \
    sh -c "$MAKE --no-print-directory -C $REPO uninstall DESTDIR=$S PREFIX=/usr >/dev/null &&
           [ \"\$(cd $S && find . ! -type d | sort | tr '\n' ' ')\" = './usr/include/other.h ./usr/lib/pkgconfig/other.pc ' ]"

# ---------------------------------------------------------------- 3. add_subdirectory
mkdir -p "$T/sub"
cp "$REPO/example.c" "$T/sub/"
cat >"$T/sub/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.13)
project(vendors_canal C)
add_subdirectory("$REPO" canal)
add_executable(example example.c)
target_link_libraries(example PRIVATE canal::canal)
EOF
check "CMake add_subdirectory() on the checkout builds example" \
    sh -c "cmake -S $T/sub -B $T/sub/build >/dev/null && cmake --build $T/sub/build"
check "add_subdirectory(): example passes test_example.py" runs "$T/sub/build/example"

echo "dist: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && rm -rf "$T"
[ "$failed" -eq 0 ]
