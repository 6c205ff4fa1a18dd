// test_cpu_math.c — accuracy of the vectorisable exp/tanh of backend_cpu/cpu_math.h against double
// precision: max relative error ≤ 2e-7 (exp on [−80, 80]) and ≤ 3e-7 (tanh on [−20, 20]), plus edges.
#include <math.h>
#include <stdio.h>

#include "cpu_math.h"

int main(void) {
    double e_exp = 0, e_tanh = 0;
    for (int i = 0; i <= 2000000; i++) {
        float x = -80.0f + 160.0f * (float)i / 2000000.0f;
        double ref = exp((double)x), got = ditc_vexpf(x);
        e_exp = fmax(e_exp, fabs(got - ref) / ref);
        float u = -20.0f + 40.0f * (float)i / 2000000.0f;
        double tr = tanh((double)u);
        if (tr != 0.0) e_tanh = fmax(e_tanh, fabs(ditc_vtanhf(u) - tr) / fabs(tr));
    }
    int ok = e_exp <= 2e-7 && e_tanh <= 3e-7;
    ok &= ditc_vtanhf(0.0f) == 0.0f && ditc_vtanhf(30.0f) == 1.0f && ditc_vtanhf(-30.0f) == -1.0f;
    ok &= ditc_vexpf(0.0f) == 1.0f && ditc_vexpf(-1000.0f) >= 0.0f && ditc_vexpf(-1000.0f) < 1e-37f &&
          isfinite(ditc_vexpf(1000.0f));
    printf("%s exp max rel err %.3g (bound 2e-7), tanh max rel err %.3g (bound 3e-7), edges\n",
           ok ? "[PASS]" : "[FAIL]", e_exp, e_tanh);
    printf("test_cpu_math: %d passed, %d failed\n", ok, !ok);
    return ok ? 0 : 1;
}
