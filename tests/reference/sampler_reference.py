#!/usr/bin/python3
"""PyTorch reference of DiT's samplers, for tests/test_sampler_parity.sh.

The project's own re-implementation (not a copy) of facebookresearch/DiT's sampling path, checked line by line
against that repository's diffusion/gaussian_diffusion.py (p_mean_variance with LEARNED_RANGE variance and
EPSILON mean, p_sample / p_sample_loop, ddim_sample / ddim_sample_loop with eta = 0, clip_denoised=False as in
sample.py and sample_ddp.py), diffusion/respace.py (space_timesteps, SpacedDiffusion's new betas, _WrappedModel's
timestep map) and models.py (DiT.forward_with_cfg: the batch is [x; x] with labels [y; null], guidance on output
channels [:3] — or [:in_channels], the line the reference leaves commented out — and the guided eps copied to both
halves); sample.py's loop: z = cat([z, z]), y = cat([y, 1000...]), samples.chunk(2)[0].

Instead of torch.randn, the noise is ditc's, read from `ditc sample --dump` (noise.0 = the initial x_T for the
first half, noise.K = the noise of the K-th denoising step; the second, discarded half of the CFG batch gets the
same tensors: it never influences the first half, since forward_with_cfg recomputes the second half from the
first). Tables are float64 numpy arrays looked up per sample and cast to float32, as _extract_into_tensor does.

  sampler_reference.py DUMP.safetensors... [--heads H] [--tol 1e-4] [--cfg-channels 3|all]
takes the weights path and the sampler settings (steps, sampler, cfg_scale, cfg_channels) from each dump's
metadata, prints one line per dump with max|ditc − reference| / max|reference| of the final samples, and exits 1
if any is above --tol.
"""
import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st  # noqa: E402
from dit_reference import infer_config, make_model  # noqa: E402

T = 1000


def space_timesteps(count, ddim):
    """The kept steps of the 1000-step process (respace.space_timesteps with one section)."""
    if ddim:
        for stride in range(1, T):
            if len(range(0, T, stride)) == count:
                return sorted(range(0, T, stride))
        raise ValueError(f'no integer DDIM stride gives {count} steps')
    frac = 1 if count <= 1 else (T - 1) / (count - 1)
    cur, kept = 0.0, []
    for _ in range(count):
        kept.append(round(cur))  # Python's round: half to even
        cur += frac
    return sorted(set(kept))


class SpacedTables:
    """GaussianDiffusion's float64 tables for the respaced betas (SpacedDiffusion.__init__)."""

    def __init__(self, kept):
        base = np.linspace(1e-4, 0.02, T, dtype=np.float64)
        ac_full = np.cumprod(1.0 - base)
        betas, last, self.timestep_map = [], 1.0, []
        for i, a in enumerate(ac_full):
            if i in set(kept):
                betas.append(1 - a / last)
                last = a
                self.timestep_map.append(i)
        betas = np.array(betas, dtype=np.float64)
        self.n = len(betas)
        alphas = 1.0 - betas
        ac = np.cumprod(alphas, axis=0)
        ac_prev = np.append(1.0, ac[:-1])
        post_var = betas * (1.0 - ac_prev) / (1.0 - ac)
        self.t = {
            'ac': ac, 'ac_prev': ac_prev,
            'sqrt_recip_ac': np.sqrt(1.0 / ac), 'sqrt_recipm1_ac': np.sqrt(1.0 / ac - 1),
            'post_logvar_clipped': (np.log(np.append(post_var[1], post_var[1:])) if self.n > 1
                                    else np.array([])),
            'coef1': betas * np.sqrt(ac_prev) / (1.0 - ac),
            'coef2': (1.0 - ac_prev) * np.sqrt(alphas) / (1.0 - ac),
            'log_betas': np.log(betas),
        }

    def at(self, name, t, shape):
        """_extract_into_tensor: float64 table [t] -> float32, broadcast to shape."""
        r = torch.from_numpy(self.t[name])[t].float()
        while r.dim() < len(shape):
            r = r[..., None]
        return r.expand(shape)


def forward_with_cfg(model, x, t, y, scale, guided):
    """models.py DiT.forward_with_cfg: guidance on output channels [:guided]."""
    half = x[: len(x) // 2]
    out = model(torch.cat([half, half], 0), t, y)
    eps, rest = out[:, :guided], out[:, guided:]
    cond, uncond = torch.split(eps, len(eps) // 2, dim=0)
    half_eps = uncond + scale * (cond - uncond)
    return torch.cat([torch.cat([half_eps, half_eps], 0), rest], 1)


def p_mean_variance(tab, fn, x, t):
    B, C = x.shape[:2]
    out = fn(x, torch.tensor(tab.timestep_map, dtype=t.dtype)[t])  # _WrappedModel
    eps, v = torch.split(out, C, dim=1)
    min_log = tab.at('post_logvar_clipped', t, x.shape)
    max_log = tab.at('log_betas', t, x.shape)
    frac = (v + 1) / 2
    log_var = frac * max_log + (1 - frac) * min_log
    pred_x0 = tab.at('sqrt_recip_ac', t, x.shape) * x - tab.at('sqrt_recipm1_ac', t, x.shape) * eps
    mean = tab.at('coef1', t, x.shape) * pred_x0 + tab.at('coef2', t, x.shape) * x
    return mean, log_var, pred_x0


def sample_loop(tab, fn, x, noises, ddim):
    """p_sample_loop / ddim_sample_loop (eta = 0) from x = x_T; noises[k] for the k-th step."""
    for k, i in enumerate(range(tab.n - 1, -1, -1), start=1):
        t = torch.tensor([i] * x.shape[0])
        with torch.no_grad():
            mean, log_var, pred_x0 = p_mean_variance(tab, fn, x, t)
            mask = (t != 0).float().view(-1, *([1] * (x.dim() - 1)))
            if not ddim:
                noise = noises[k] if i > 0 else torch.zeros_like(x)
                x = mean + mask * torch.exp(0.5 * log_var) * noise
            else:
                eps = (tab.at('sqrt_recip_ac', t, x.shape) * x - pred_x0) / tab.at('sqrt_recipm1_ac', t, x.shape)
                ab, abp = tab.at('ac', t, x.shape), tab.at('ac_prev', t, x.shape)
                sigma = 0.0 * torch.sqrt((1 - abp) / (1 - ab)) * torch.sqrt(1 - ab / abp)
                mean_pred = pred_x0 * torch.sqrt(abp) + torch.sqrt(1 - abp - sigma ** 2) * eps
                x = mean_pred + mask * sigma * torch.zeros_like(x)  # eta = 0: the drawn noise is multiplied by 0
    return x


def compare(dump, heads, tol, cfg_channels=None, models={}):
    """One `ditc sample --dump` file against the reference run on its noise; returns (ok, line)."""
    d, meta = st.read(dump, with_metadata=True)
    d = {k: torch.from_numpy(v) for k, v in d.items()}
    weights = meta['weights']
    if weights not in models:
        sd = {k: torch.from_numpy(v).float() for k, v in st.read(weights).items()}
        cfg = infer_config(sd, heads=heads)
        model = make_model(cfg)
        model.load_state_dict(sd, strict=True)
        models[weights] = (model.eval(), cfg)
    model, cfg = models[weights]
    steps, ddim, scale = int(meta['steps']), meta['sampler'] == 'ddim', float(meta['cfg_scale'])
    cfg_channels = cfg_channels or meta['cfg_channels']
    y = d['labels'].long()
    n = y.shape[0]
    tab = SpacedTables(space_timesteps(steps, ddim))
    noises = {k: d[f'noise.{k}'] for k in range(tab.n) if f'noise.{k}' in d}
    if len(noises) != (1 if ddim else tab.n):
        raise SystemExit(f'{dump}: {len(noises)} noise tensors for {tab.n} {meta["sampler"]} steps')
    if scale > 1.0:  # sample.py: z = cat([z, z]); y = cat([y, null]); forward_with_cfg; chunk(2)[0]
        guided = cfg['channels'] if cfg_channels == 'all' else 3
        y2 = torch.cat([y, torch.full_like(y, cfg['classes'])])
        fn = lambda x, t: forward_with_cfg(model, x, t, y2, scale, guided)  # noqa: E731
        noises = {k: torch.cat([z, z]) for k, z in noises.items()}
    else:
        fn = lambda x, t: model(x, t, y)  # noqa: E731
    ref = sample_loop(tab, fn, noises[0], noises, ddim)[:n]
    got = d['samples']
    err = (got - ref).abs().max().item() / max(ref.abs().max().item(), 1e-30)
    ok = bool(err <= tol and torch.isfinite(ref).all())
    return ok, (f'{"PASS" if ok else "FAIL"} {os.path.basename(weights)} {meta["sampler"]} {tab.n} steps cfg {scale:g}'
                f' ({cfg_channels}) C={cfg["channels"]} n={n}: max|ditc - ref| / max|ref| = {err:.2e} (tol {tol:g}),'
                f' max|ref| {ref.abs().max().item():.3g}')


def main():
    torch.set_num_threads(2)
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('dumps', nargs='+', help='ditc sample --dump files (settings and weights from their metadata)')
    ap.add_argument('--heads', type=int)
    ap.add_argument('--tol', type=float, default=1e-4)
    ap.add_argument('--cfg-channels', choices=['3', 'all'],
                    help='negative control: override the guided channels of the dumps')
    a = ap.parse_args()
    bad = 0
    for dump in a.dumps:
        ok, line = compare(dump, a.heads, a.tol, a.cfg_channels)
        print(line, flush=True)
        bad += not ok
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
