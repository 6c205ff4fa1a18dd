// dit_config.c — the named models (DiT-*, LDiT-*), configuration checks and derived sizes (dit_config.h).
#include "dit_config.h"

#include <stdio.h>
#include <string.h>

const char *const ditc_dit_model_names[15] = {"DiT-XL/2", "DiT-XL/4", "DiT-XL/8",  "DiT-L/2", "DiT-L/4",
                                              "DiT-L/8",  "DiT-B/2",  "DiT-B/4",   "DiT-B/8", "DiT-S/2",
                                              "DiT-S/4",  "DiT-S/8",  "LDiT-600M", "LDiT-3B", "LDiT-7B"};

int ditc_dit_cond_width(const ditc_dit_config *c) {
    return c->arch == DITC_ARCH_LDIT && c->hidden > 1024 ? 1024 : c->hidden;
}

int ditc_ldit_patch_side(int64_t P, int64_t C) {
    if (C < 1) return 0;
    int64_t p = 1;
    while (C * p * p < P) p++;
    return C * p * p == P ? (int)p : 0;
}

int ditc_ldit_ffn_width(int hidden) {
    int h = (int)(2 * (int64_t)(4 * hidden) / 3);
    return (h + 255) / 256 * 256;
}

int ditc_dit_config_from_name(ditc_dit_config *cfg, const char *name, ditc_status *st) {
    static const struct {
        const char *size;
        int depth, hidden, heads;
    } sizes[] = {{"S", 12, 384, 6}, {"B", 12, 768, 12}, {"L", 24, 1024, 16}, {"XL", 28, 1152, 16}};
    // Large-DiT-ImageNet DiT_Llama_{600M,3B,7B}_patch2 (QK-norm on, as its released runs)
    static const struct {
        const char *name;
        int depth, hidden, heads;
    } large[] = {{"LDiT-600M", 16, 1536, 32}, {"LDiT-3B", 32, 3072, 32}, {"LDiT-7B", 32, 4096, 32}};
    for (size_t i = 0; i < sizeof large / sizeof *large; i++) {
        if (strcmp(large[i].name, name)) continue;
        snprintf(cfg->name, sizeof cfg->name, "%s", name);
        cfg->arch = DITC_ARCH_LDIT;
        cfg->qk_norm = 1;
        cfg->depth = large[i].depth;
        cfg->hidden = large[i].hidden;
        cfg->heads = large[i].heads;
        cfg->patch = 2;
        return 0;
    }
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
        for (int p = 2; p <= 8; p *= 2) {
            char full[32];
            snprintf(full, sizeof full, "DiT-%s/%d", sizes[i].size, p);
            if (strcmp(full, name)) continue;
            snprintf(cfg->name, sizeof cfg->name, "%s", full);
            cfg->arch = DITC_ARCH_DIT;
            cfg->qk_norm = 0;
            cfg->depth = sizes[i].depth;
            cfg->hidden = sizes[i].hidden;
            cfg->heads = sizes[i].heads;
            cfg->patch = p;
            return 0;
        }
    return ditc_fail(st, DITC_ERR_ARG,
                     "--model '%s': unknown model (DiT-S/2, DiT-S/4, DiT-S/8, DiT-B/*, DiT-L/*, DiT-XL/*, "
                     "LDiT-600M, LDiT-3B, LDiT-7B)",
                     name);
}

int ditc_dit_config_validate(const ditc_dit_config *c, ditc_status *st) {
    if (c->depth < 1 || c->depth > 256) return ditc_fail(st, DITC_ERR_ARG, "--depth %d: must be in 1..256", c->depth);
    if (c->hidden < 2 || c->hidden > 16384)
        return ditc_fail(st, DITC_ERR_ARG, "--hidden-size %d: must be in 2..16384", c->hidden);
    if (c->heads < 1 || c->hidden % c->heads)
        return ditc_fail(st, DITC_ERR_ARG, "--num-heads %d: must divide --hidden-size %d", c->heads, c->hidden);
    if (c->arch == DITC_ARCH_DIT && c->hidden % 4)
        return ditc_fail(st, DITC_ERR_ARG, "--hidden-size %d: must be divisible by 4 (2-D sin-cos position table)",
                         c->hidden);
    if (c->arch == DITC_ARCH_LDIT && (c->hidden / c->heads) % 2)
        return ditc_fail(st, DITC_ERR_ARG, "--num-heads %d: the head width %d must be even (RoPE rotates pairs)",
                         c->heads, c->hidden / c->heads);
    if (c->arch == DITC_ARCH_LDIT && c->input_size / c->patch * (c->input_size / c->patch) > 4096)
        return ditc_fail(st, DITC_ERR_ARG, "--image-size: %d tokens; Large-DiT's RoPE table covers 4096",
                         (c->input_size / c->patch) * (c->input_size / c->patch));
    if (c->patch < 1 || c->patch > 64)
        return ditc_fail(st, DITC_ERR_ARG, "--patch-size %d: must be in 1..64", c->patch);
    if (c->input_size < 1 || c->input_size % c->patch)
        return ditc_fail(st, DITC_ERR_ARG, "--image-size: input side %d is not divisible by the patch size %d",
                         c->input_size, c->patch);
    if (c->in_channels < 1 || c->in_channels > 64)
        return ditc_fail(st, DITC_ERR_ARG, "input channels %d: must be in 1..64", c->in_channels);
    if (c->num_classes < 1) return ditc_fail(st, DITC_ERR_ARG, "--num-classes %d: must be at least 1", c->num_classes);
    return 0;
}

int64_t ditc_dit_tokens(const ditc_dit_config *c) {
    int64_t g = c->input_size / c->patch;
    return g * g;
}

// Multiply-adds of one Large-DiT block for one image.
static double ldit_block_macs(const ditc_dit_config *c) {
    double T = (double)ditc_dit_tokens(c), D = c->hidden, F = ditc_ldit_ffn_width(c->hidden);
    double Dc = ditc_dit_cond_width(c);
    return T * D * 3 * D + 2 * T * T * D + T * D * D + 3 * T * D * F + Dc * 6 * D;
}

double ditc_dit_forward_macs(const ditc_dit_config *c) {
    double T = (double)ditc_dit_tokens(c), D = c->hidden, P = (double)c->patch * c->patch * c->in_channels;
    double Dc = ditc_dit_cond_width(c);
    double block = c->arch == DITC_ARCH_LDIT
                       ? ldit_block_macs(c)
                       : T * D * 3 * D + 2 * T * T * D + T * D * D + 2 * T * D * 4 * D + D * 6 * D;
    return T * P * D + 256 * Dc + Dc * Dc + c->depth * block + Dc * 2 * D + T * D * 2 * P;
}
