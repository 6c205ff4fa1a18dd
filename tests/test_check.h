// test_check.h — the pass/fail helper shared by the C tests: check(ok, fmt, ...) prints "[PASS] ..." or
// "[FAIL] ..." and counts; check_summary(name) prints "name: N passed, M failed" (a line CI reads) and
// returns the process exit code.
#ifndef DITC_TEST_CHECK_H
#define DITC_TEST_CHECK_H

#include <stdarg.h>
#include <stdio.h>

static int g_passed, g_failed;

__attribute__((format(printf, 2, 3), unused)) static int check(int ok, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    printf("[%s] ", ok ? "PASS" : "FAIL");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    if (ok) g_passed++;
    else g_failed++;
    return ok;
}

__attribute__((unused)) static int check_summary(const char *name) {
    printf("%s: %d passed, %d failed\n", name, g_passed, g_failed);
    return g_failed ? 1 : 0;
}

#endif
