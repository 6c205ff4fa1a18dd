#!/usr/bin/python3
"""The Stable Diffusion VAE reference for ditc's parity tests: diffusers' AutoencoderKL with random weights
(nothing downloaded), fixed seed.

make-case --out DIR --size S [--config ema|tiny] [--dtype F32|F16|BF16] [--batch B] [--seed N]
  DIR/current/{diffusion_pytorch_model.safetensors, config.json}  weights under current diffusers names
  DIR/old/{...}         the same weights under the older attention names query/key/value/proj_attn
  DIR/inputs.safetensors    x F32 [B, 3, S, S] in [-1, 1], z F32 [B, 4, S/8, S/8] (a latent to decode)
  DIR/expected.safetensors  mean, logvar (the posterior of x; logvar clamped as diffusers), recon
                            (decode(mean)), decoded (decode(z))
  With --dtype F16/BF16 the weights are rounded to that type first, so the F32 reference is exact for them.
  GroupNorm affine parameters are perturbed (diffusers initialises them to 1/0). --tile T: the reference runs
  with enable_tiling() and tile_sample_min_size = T (ditc: --vae-tile T).
compare --expected E --got G [--tol 1e-4]
  max |got - ref| <= tol * max |ref| for each of mean, logvar, recon, decoded; exit 0 iff all pass.
make-bad --out DIR   (numpy only, no torch)
  Broken VAE directories for tests/test_bad_input.sh, from a tiny config with random weights: missing
  (a tensor removed), shape, dtype (I32), unexpected (an extra tensor), act (config act_fn "relu"),
  mismatch (config block_out_channels [32, 128] for [32, 64] weights), plus good.
bench --size S --threads T [--repeat N]
  Times encode and decode of one S x S image (sd-vae-ft-ema config, random weights) with torch.no_grad on T
  threads; prints 'encode_s', 'decode_s' (best of N) and peak RSS (MiB) as 'key value' lines.
"""
import argparse
import json
import os
import resource
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st  # noqa: E402

EMA = dict(in_channels=3, out_channels=3, latent_channels=4, block_out_channels=[128, 256, 512, 512],
           layers_per_block=2, norm_num_groups=32, act_fn='silu', sample_size=256,
           down_block_types=['DownEncoderBlock2D'] * 4, up_block_types=['UpDecoderBlock2D'] * 4)
TINY = dict(EMA, block_out_channels=[32, 64], layers_per_block=1, norm_num_groups=8, sample_size=32,
            down_block_types=['DownEncoderBlock2D'] * 2, up_block_types=['UpDecoderBlock2D'] * 2)
OLD = {'to_q': 'query', 'to_k': 'key', 'to_v': 'value', 'to_out.0': 'proj_attn'}


def build(cfg, seed):
    import torch
    from diffusers import AutoencoderKL
    torch.manual_seed(seed)
    m = AutoencoderKL(**cfg).eval()
    with torch.no_grad():
        for name, p in m.named_parameters():
            if 'norm' in name:  # GroupNorm affine: 1/0 by default, perturbed so the test sees them
                p.add_(0.1 * torch.randn_like(p))
    return m


def old_name(k):
    for cur, old in OLD.items():
        k = k.replace('.attentions.0.' + cur + '.', '.attentions.0.' + old + '.')
    return k


def write_dir(d, sd, cfg, dtype):
    os.makedirs(d, exist_ok=True)
    st.write(os.path.join(d, 'diffusion_pytorch_model.safetensors'), sd, dtype=dtype)
    with open(os.path.join(d, 'config.json'), 'w') as f:
        json.dump(dict(cfg, _class_name='AutoencoderKL', scaling_factor=0.18215), f, indent=2)


def cmd_make_case(a):
    import torch
    cfg = TINY if a.config == 'tiny' else EMA
    m = build(cfg, a.seed)
    with torch.no_grad():
        if a.dtype != 'F32':
            tdt = torch.float16 if a.dtype == 'F16' else torch.bfloat16
            for p in m.parameters():
                p.copy_(p.to(tdt).float())
    sd = {k: v.detach().clone() for k, v in m.state_dict().items()}
    write_dir(os.path.join(a.out, 'current'), sd, cfg, a.dtype)
    write_dir(os.path.join(a.out, 'old'), {old_name(k): v for k, v in sd.items()}, cfg, a.dtype)
    if a.tile:
        m.enable_tiling()
        m.tile_sample_min_size = a.tile
        m.tile_latent_min_size = a.tile // 2 ** (len(cfg['block_out_channels']) - 1)
    g = torch.Generator().manual_seed(a.seed + 1)
    S, B = a.size, a.batch
    x = torch.rand(B, 3, S, S, generator=g) * 2 - 1
    z = torch.randn(B, 4, S // 8 if a.config == 'ema' else S // 2, S // 8 if a.config == 'ema' else S // 2,
                    generator=g)
    with torch.no_grad():
        post = m.encode(x).latent_dist
        exp = dict(mean=post.mean, logvar=post.logvar, recon=m.decode(post.mean).sample,
                   decoded=m.decode(z).sample)
    st.write(os.path.join(a.out, 'inputs.safetensors'), {'x': x, 'z': z})
    st.write(os.path.join(a.out, 'expected.safetensors'), exp)
    print(f'wrote {a.out}: config {a.config} dtype {a.dtype} size {S} batch {B} '
          f'max|mean| {post.mean.abs().max().item():.4g} max|decoded| {exp["decoded"].abs().max().item():.4g}')


def tiny_shapes(cfg):
    """{name: shape} of an AutoencoderKL state_dict (current names), listed independently of diffusers."""
    bo, L, lat = cfg['block_out_channels'], cfg['layers_per_block'], cfg['latent_channels']
    out = {}

    def conv(p, o, i, k):
        out[p + '.weight'], out[p + '.bias'] = [o, i, k, k], [o]

    def norm(p, c):
        out[p + '.weight'], out[p + '.bias'] = [c], [c]

    def res(p, i, o):
        norm(p + '.norm1', i), conv(p + '.conv1', o, i, 3), norm(p + '.norm2', o), conv(p + '.conv2', o, o, 3)
        if i != o:
            conv(p + '.conv_shortcut', o, i, 1)

    def mid(p, c):
        res(p + '.resnets.0', c, c), res(p + '.resnets.1', c, c), norm(p + '.attentions.0.group_norm', c)
        for k in ('to_q', 'to_k', 'to_v', 'to_out.0'):
            out[f'{p}.attentions.0.{k}.weight'], out[f'{p}.attentions.0.{k}.bias'] = [c, c], [c]

    conv('encoder.conv_in', bo[0], 3, 3)
    for i, o in enumerate(bo):
        for j in range(L):
            res(f'encoder.down_blocks.{i}.resnets.{j}', (bo[max(i - 1, 0)] if j == 0 else o), o)
        if i < len(bo) - 1:
            conv(f'encoder.down_blocks.{i}.downsamplers.0.conv', o, o, 3)
    mid('encoder.mid_block', bo[-1]), norm('encoder.conv_norm_out', bo[-1])
    conv('encoder.conv_out', 2 * lat, bo[-1], 3), conv('quant_conv', 2 * lat, 2 * lat, 1)
    conv('post_quant_conv', lat, lat, 1), conv('decoder.conv_in', bo[-1], lat, 3), mid('decoder.mid_block', bo[-1])
    rb = bo[::-1]
    for i, o in enumerate(rb):
        for j in range(L + 1):
            res(f'decoder.up_blocks.{i}.resnets.{j}', (rb[max(i - 1, 0)] if j == 0 else o), o)
        if i < len(rb) - 1:
            conv(f'decoder.up_blocks.{i}.upsamplers.0.conv', o, o, 3)
    norm('decoder.conv_norm_out', bo[0]), conv('decoder.conv_out', 3, bo[0], 3)
    return out


def cmd_make_bad(a):
    rng = np.random.default_rng(0)
    good = {k: rng.standard_normal(s).astype(np.float32) * 0.05 for k, s in tiny_shapes(TINY).items()}
    cases = {'good': (good, TINY)}
    cases['missing'] = ({k: v for k, v in good.items() if k != 'decoder.conv_out.bias'}, TINY)
    cases['shape'] = (dict(good, **{'encoder.conv_in.weight': np.zeros([32, 3, 3, 1], np.float32)}), TINY)
    cases['dtype'] = (dict(good, **{'quant_conv.bias': np.zeros([8], np.int32)}), TINY)
    cases['unexpected'] = (dict(good, **{'encoder.extra.weight': np.zeros([4], np.float32)}), TINY)
    cases['act'] = (good, dict(TINY, act_fn='relu'))
    cases['mismatch'] = (good, dict(TINY, block_out_channels=[32, 128]))
    for name, (sd, cfg) in cases.items():
        write_dir(os.path.join(a.out, name), sd, cfg, None)
    print(f'wrote {len(cases)} cases to {a.out}')


def cmd_compare(a):
    exp, got = st.read(a.expected), st.read(a.got)
    failed = 0
    for k in ('mean', 'logvar', 'recon', 'decoded'):
        if k not in got:
            print(f'FAIL {k}: missing in {a.got}')
            failed += 1
            continue
        r, g = exp[k].astype(np.float64), got[k].astype(np.float64)
        if r.shape != g.shape:
            print(f'FAIL {k}: shape {list(g.shape)} != expected {list(r.shape)}')
            failed += 1
            continue
        d, mr = float(np.max(np.abs(g - r))), float(np.max(np.abs(r)))
        ok = bool(np.all(np.isfinite(g))) and d <= a.tol * mr
        failed += not ok
        print(f'{"PASS" if ok else "FAIL"} {k}: max|diff| {d:.3g} = {d / mr:.3g} max|ref| (max|ref| {mr:.4g}, '
              f'tol {a.tol:g})')
    print('ALL PASS' if not failed else f'{failed} FAILED')
    return 1 if failed else 0


def cmd_bench(a):
    import torch
    torch.set_num_threads(a.threads)
    m = build(EMA, 0)
    x = torch.rand(1, 3, a.size, a.size) * 2 - 1
    enc, dec = [], []
    with torch.no_grad():
        for _ in range(a.repeat):
            t0 = time.perf_counter()
            z = m.encode(x).latent_dist.sample()
            enc.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            m.decode(z / 0.18215)
            dec.append(time.perf_counter() - t0)
    print(f'encode_s {min(enc):.4f}')
    print(f'decode_s {min(dec):.4f}')
    print(f'peak_rss_mib {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f}')
    print(f'torch {torch.__version__} threads {torch.get_num_threads()} mkldnn {torch.backends.mkldnn.is_available()}')


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest='cmd', required=True)
    p = sub.add_parser('make-case')
    p.add_argument('--out', required=True)
    p.add_argument('--size', type=int, default=64)
    p.add_argument('--config', choices=['ema', 'tiny'], default='ema')
    p.add_argument('--dtype', choices=['F32', 'F16', 'BF16'], default='F32')
    p.add_argument('--batch', type=int, default=1)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--tile', type=int, default=0)
    p = sub.add_parser('compare')
    p.add_argument('--expected', required=True)
    p.add_argument('--got', required=True)
    p.add_argument('--tol', type=float, default=1e-4)
    p = sub.add_parser('make-bad')
    p.add_argument('--out', required=True)
    p = sub.add_parser('bench')
    p.add_argument('--size', type=int, default=256)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--repeat', type=int, default=2)
    a = ap.parse_args()
    if a.cmd == 'make-case':
        cmd_make_case(a)
    elif a.cmd == 'make-bad':
        cmd_make_bad(a)
    elif a.cmd == 'compare':
        sys.exit(cmd_compare(a))
    else:
        cmd_bench(a)


if __name__ == '__main__':
    main()
