#!/usr/bin/python3
"""The PyTorch side of scripts/bench/sample_vs_pytorch.sh: the reference sampling loop (tests/reference/
sampler_reference.py: DiT's p_sample_loop / ddim_sample_loop + forward_with_cfg, torch.randn noise each step) on a
weights file, then sample_ddp.py's uint8 conversion; prints `img_per_s=X seconds=Y`."""
import argparse
import os
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'tests', 'reference'))
import st  # noqa: E402
from dit_reference import infer_config, make_model  # noqa: E402
from sampler_reference import SpacedTables, forward_with_cfg, sample_loop, space_timesteps  # noqa: E402


class FreshNoise(dict):
    """noises[k] = torch.randn of the batch shape, drawn when the loop asks (as p_sample's th.randn_like)."""

    def __init__(self, shape):
        super().__init__()
        self.shape = shape

    def __getitem__(self, k):
        return torch.randn(self.shape)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--weights', required=True)
    ap.add_argument('--heads', type=int)
    ap.add_argument('--batch', type=int, default=64)
    ap.add_argument('--steps', type=int, default=50)
    ap.add_argument('--sampler', choices=['ddpm', 'ddim'], default='ddpm')
    ap.add_argument('--cfg-scale', type=float, default=1.5)
    ap.add_argument('--threads', type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.set_grad_enabled(False)
    sd = {k: torch.from_numpy(v).float() for k, v in st.read(a.weights).items()}
    cfg = infer_config(sd, heads=a.heads)
    model = make_model(cfg)
    model.load_state_dict(sd, strict=True)
    model.eval()
    n, C, S = a.batch, cfg['channels'], cfg['side']
    y = torch.randint(0, cfg['classes'], (n,))
    tab = SpacedTables(space_timesteps(a.steps, a.sampler == 'ddim'))
    t0 = time.perf_counter()
    if a.cfg_scale > 1.0:
        y2 = torch.cat([y, torch.full_like(y, cfg['classes'])])
        fn = lambda x, t: forward_with_cfg(model, x, t, y2, a.cfg_scale, 3)  # noqa: E731
        z = torch.randn(n, C, S, S)
        x = sample_loop(tab, fn, torch.cat([z, z]), FreshNoise((2 * n, C, S, S)), a.sampler == 'ddim')[:n]
    else:
        fn = lambda x, t: model(x, t, y)  # noqa: E731
        x = sample_loop(tab, fn, torch.randn(n, C, S, S), FreshNoise((n, C, S, S)), a.sampler == 'ddim')
    pix = torch.clamp(127.5 * x + 128.0, 0, 255).permute(0, 2, 3, 1).to(dtype=torch.uint8).numpy()
    dt = time.perf_counter() - t0
    assert pix.shape == (n, S, S, C)
    print(f'img_per_s={n / dt:.3f} seconds={dt:.3f}')


if __name__ == '__main__':
    main()
