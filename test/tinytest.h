/* tinytest.h - the few macros canal-c's tests need: no framework.
 * A test is a function; CHECK records a failure with file:line and goes on,
 * REQUIRE returns from the test. main() ends with "N passed, M failed". */
#ifndef TINYTEST_H
#define TINYTEST_H
#include <stdio.h>
#include <string.h>

static int tt_failed_checks;
static int tt_passed, tt_failed;
static const char *tt_name;

#define CHECK(cond)                                                                    \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "  FAIL %s:%d [%s]: %s\n", __FILE__, __LINE__, tt_name, #cond); \
            tt_failed_checks++;                                                        \
        }                                                                              \
    } while (0)
#define REQUIRE(cond)                                                                  \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "  FAIL %s:%d [%s]: %s\n", __FILE__, __LINE__, tt_name, #cond); \
            tt_failed_checks++;                                                        \
            return;                                                                    \
        }                                                                              \
    } while (0)
/* Compare a value that has a length with a C string. */
#define CHECK_STRN(ptr, len, want)                                                     \
    CHECK((len) == strlen(want) && memcmp((ptr), (want), (len)) == 0)
#define CHECK_CONTAINS(hay, needle) CHECK(strstr((hay), (needle)) != NULL)

#define RUN(fn)                                                                        \
    do {                                                                               \
        int before_ = tt_failed_checks;                                                \
        tt_name = #fn;                                                                 \
        fn();                                                                          \
        if (tt_failed_checks == before_) tt_passed++;                                  \
        else {                                                                         \
            tt_failed++;                                                               \
            fprintf(stderr, "FAILED %s\n", #fn);                                       \
        }                                                                              \
    } while (0)

#define TT_REPORT(suite)                                                               \
    (printf("%s: %d passed, %d failed\n", (suite), tt_passed, tt_failed), tt_failed ? 1 : 0)
#endif
