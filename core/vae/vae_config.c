// vae_config.c — the VAE's configuration: sd-vae-ft-ema defaults and diffusers' config.json (strict JSON,
// json.h pull parser). Known keys are type- and range-checked with messages naming the file and the
// key; keys that do not change the computation (_class_name, force_upcast, latents_mean, ...) are skipped.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "vae_config.h"

void ditc_vae_config_default(ditc_vae_config *c) {
    memset(c, 0, sizeof *c);
    c->in_channels = 3;
    c->out_channels = 3;
    c->latent_channels = 4;
    c->levels = 4;
    c->block_out[0] = 128;
    c->block_out[1] = 256;
    c->block_out[2] = 512;
    c->block_out[3] = 512;
    c->layers_per_block = 2;
    c->norm_groups = 32;
    c->sample_size = 256;
    c->use_quant_conv = 1;
    c->use_post_quant_conv = 1;
    c->mid_attention = 1;
    c->scaling_factor = 0.18215;
    c->shift_factor = 0.0;
}

// A positive integer value ≤ max.
static int get_int(ditc_json *j, const char *key, int max, int *out) {
    size_t at = j->pos;
    ditc_json_num n;
    if (ditc_json_peek(j) != DITC_JSON_NUMBER)
        return ditc_json_fail(j, at, "\"%s\" must be a positive integer, not %s", key,
                              ditc_json_kind_name(ditc_json_peek(j)));
    if (ditc_json_number(j, &n)) return -1;
    if (n.kind != DITC_JSON_NUM_UINT || n.u < 1 || n.u > (uint64_t)max)
        return ditc_json_fail(j, at, "\"%s\" must be an integer in [1, %d]", key, max);
    *out = (int)n.u;
    return 0;
}

static int get_double(ditc_json *j, const char *key, int allow_null, double *out) {
    size_t at = j->pos;
    if (allow_null && ditc_json_peek(j) == DITC_JSON_NULL) return ditc_json_null(j);
    ditc_json_num n;
    if (ditc_json_peek(j) != DITC_JSON_NUMBER)
        return ditc_json_fail(j, at, "\"%s\" must be a number, not %s", key, ditc_json_kind_name(ditc_json_peek(j)));
    if (ditc_json_number(j, &n)) return -1;
    char buf[64];
    if (n.len >= sizeof buf) return ditc_json_fail(j, at, "\"%s\": number too long", key);
    memcpy(buf, j->buf + n.pos, n.len);
    buf[n.len] = '\0';
    *out = strtod(buf, NULL);
    if (!isfinite(*out)) return ditc_json_fail(j, at, "\"%s\" must be finite", key);
    return 0;
}

static int get_bool(ditc_json *j, const char *key, int *out) {
    if (ditc_json_peek(j) != DITC_JSON_BOOL)
        return ditc_json_fail(j, j->pos, "\"%s\" must be true or false, not %s", key,
                              ditc_json_kind_name(ditc_json_peek(j)));
    return ditc_json_bool(j, out);
}

// A string that must equal `want`.
static int expect_string(ditc_json *j, const char *key, const char *want) {
    size_t at = j->pos;
    if (ditc_json_peek(j) != DITC_JSON_STRING)
        return ditc_json_fail(j, at, "\"%s\" must be a string, not %s", key, ditc_json_kind_name(ditc_json_peek(j)));
    char *s = NULL;
    size_t len;
    if (ditc_json_string(j, &s, &len)) return -1;
    int r = strcmp(s, want) ? ditc_json_fail(j, at, "\"%s\" is \"%s\"; only \"%s\" is supported", key, s, want) : 0;
    free(s);
    return r;
}

// An array of ints (block_out_channels) or of strings that must all equal `want` (block types); *n = length.
static int get_array(ditc_json *j, const char *key, const char *want, int *vals, int *n) {
    size_t at = j->pos;
    if (ditc_json_peek(j) != DITC_JSON_ARRAY)
        return ditc_json_fail(j, at, "\"%s\" must be an array, not %s", key, ditc_json_kind_name(ditc_json_peek(j)));
    if (ditc_json_array_begin(j)) return -1;
    int m, k = 0;
    while ((m = ditc_json_array_next(j)) == 1) {
        if (k >= DITC_VAE_MAX_LEVELS)
            return ditc_json_fail(j, at, "\"%s\" has more than %d entries", key, DITC_VAE_MAX_LEVELS);
        if (want ? expect_string(j, key, want) : get_int(j, key, 1 << 16, &vals[k])) return -1;
        k++;
    }
    if (m < 0) return -1;
    if (k == 0) return ditc_json_fail(j, at, "\"%s\" is empty", key);
    *n = k;
    return 0;
}

static int parse(ditc_json *j, ditc_vae_config *c) {
    if (ditc_json_peek(j) != DITC_JSON_OBJECT) return ditc_json_fail(j, j->pos, "the config must be a JSON object");
    if (ditc_json_object_begin(j)) return -1;
    char *key = NULL;
    int more, r = 0, n_down = -1, n_up = -1, dummy[DITC_VAE_MAX_LEVELS];
    while (!r && (more = ditc_json_object_next(j, &key, NULL, NULL)) == 1) {
        if (!strcmp(key, "in_channels")) r = get_int(j, key, 1 << 16, &c->in_channels);
        else if (!strcmp(key, "out_channels")) r = get_int(j, key, 1 << 16, &c->out_channels);
        else if (!strcmp(key, "latent_channels")) r = get_int(j, key, 1 << 16, &c->latent_channels);
        else if (!strcmp(key, "layers_per_block")) r = get_int(j, key, 64, &c->layers_per_block);
        else if (!strcmp(key, "norm_num_groups")) r = get_int(j, key, 1 << 16, &c->norm_groups);
        else if (!strcmp(key, "sample_size")) r = get_int(j, key, 1 << 20, &c->sample_size);
        else if (!strcmp(key, "block_out_channels")) r = get_array(j, key, NULL, c->block_out, &c->levels);
        else if (!strcmp(key, "down_block_types")) r = get_array(j, key, "DownEncoderBlock2D", dummy, &n_down);
        else if (!strcmp(key, "up_block_types")) r = get_array(j, key, "UpDecoderBlock2D", dummy, &n_up);
        else if (!strcmp(key, "act_fn")) r = expect_string(j, key, "silu");
        else if (!strcmp(key, "scaling_factor")) r = get_double(j, key, 0, &c->scaling_factor);
        else if (!strcmp(key, "shift_factor")) r = get_double(j, key, 1, &c->shift_factor);
        else if (!strcmp(key, "use_quant_conv")) r = get_bool(j, key, &c->use_quant_conv);
        else if (!strcmp(key, "use_post_quant_conv")) r = get_bool(j, key, &c->use_post_quant_conv);
        else if (!strcmp(key, "mid_block_add_attention")) r = get_bool(j, key, &c->mid_attention);
        else r = ditc_json_skip(j);
        free(key);
        key = NULL;
    }
    if (!r && more < 0) r = -1;
    if (!r && ditc_json_peek(j) != DITC_JSON_END)
        r = ditc_json_fail(j, j->pos, "trailing data after the config object");
    if (r) return r;
    if (n_down >= 0 && n_down != c->levels)
        return ditc_json_fail(j, 0, "\"down_block_types\" has %d entries, \"block_out_channels\" %d", n_down,
                              c->levels);
    if (n_up >= 0 && n_up != c->levels)
        return ditc_json_fail(j, 0, "\"up_block_types\" has %d entries, \"block_out_channels\" %d", n_up, c->levels);
    for (int i = 0; i < c->levels; i++)
        if (c->block_out[i] % c->norm_groups)
            return ditc_json_fail(j, 0, "block_out_channels[%d] = %d is not a multiple of norm_num_groups = %d", i,
                                  c->block_out[i], c->norm_groups);
    if (!(c->scaling_factor > 0.0)) return ditc_json_fail(j, 0, "\"scaling_factor\" must be > 0");
    return 0;
}

int ditc_vae_config_parse(ditc_vae_config *c, const char *json, size_t len, const char *path, ditc_status *st) {
    ditc_json j;
    ditc_json_init(&j, json, len);
    if (parse(&j, c)) return ditc_fail(st, DITC_ERR_FORMAT, "VAE config %s: %s (at byte %zu)", path, j.err, j.err_pos);
    return 0;
}
