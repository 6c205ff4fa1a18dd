// dit_embeddings.c — the two fixed embeddings of the DiT, computed on the host like the reference:
// the 2-D sin-cos position table (float64, stored float32) and the timestep frequency vector (float32).
#include <math.h>

#include "dit_embeddings.h"

// One half of the table: position q → [sin(q·ω_k), cos(q·ω_k)], ω_k = 10000^(-k / (half/2)).
static void sincos_1d(float *row, int half, double q) {
    int quarter = half / 2;
    for (int k = 0; k < quarter; k++) {
        double omega = 1.0 / pow(10000.0, (double)k / (double)quarter);
        row[k] = (float)sin(q * omega);
        row[quarter + k] = (float)cos(q * omega);
    }
}

void ditc_pos_embed_2d(float *out, int dim, int grid) {
    int half = dim / 2;
    for (int r = 0; r < grid; r++)
        for (int c = 0; c < grid; c++) {
            float *row = out + ((int64_t)r * grid + c) * dim;
            sincos_1d(row, half, (double)c);        // first half: column index (the reference's "emb_h")
            sincos_1d(row + half, half, (double)r); // second half: row index
        }
}

void ditc_timestep_embedding(float *out, const float *t, int n) {
    enum { HALF = 128 };
    float freqs[HALF];
    const float neg_log = (float)-9.210340371976184; // -ln(10000), as a float32 scalar in torch
    for (int k = 0; k < HALF; k++) freqs[k] = expf(neg_log * (float)k / (float)HALF);
    for (int i = 0; i < n; i++)
        for (int k = 0; k < HALF; k++) {
            float a = t[i] * freqs[k];
            out[i * 2 * HALF + k] = cosf(a);
            out[i * 2 * HALF + HALF + k] = sinf(a);
        }
}
