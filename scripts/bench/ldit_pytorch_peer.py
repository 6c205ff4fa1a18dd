"""ldit_pytorch_peer.py — the PyTorch peer of `ditc bench --model LDiT-*`: one Large-DiT training step as the
reference trains it (Alpha-VLLM Large-DiT-ImageNet: the DiT repository's `create_diffusion("")` hybrid loss, AdamW,
an EMA update after every step), timed like ../shared/tools/pytorch_dit_step.py times the DiT step.

The model is tests/reference/ldit_model.py: Large-DiT-ImageNet's DiT_Llama without its fairscale/apex/flash-attn
dependencies (checked bit-identical to the reference's forward; the shared peer tool has no Large-DiT). Needs
DIT_REF (a facebookresearch/DiT checkout, for its diffusion package) and /usr/bin/python3 with torch.

  OMP_NUM_THREADS=2 DIT_REF=/path/to/DiT python3 scripts/bench/ldit_pytorch_peer.py --depth 4 --hidden-size 256 \
      --num-heads 4 --batch 8 --latent 32
Prints one line like the DiT tool: model, batch, latent side, threads, median s/step, images/s.
"""
import argparse
import copy
import os
import statistics
import sys
import time

import torch

here = os.path.dirname(os.path.abspath(__file__))
ap = argparse.ArgumentParser()
ap.add_argument("--depth", type=int, default=4)
ap.add_argument("--hidden-size", type=int, default=256)
ap.add_argument("--num-heads", type=int, default=4)
ap.add_argument("--patch-size", type=int, default=2)
ap.add_argument("--latent", type=int, default=32)
ap.add_argument("--channels", type=int, default=4)
ap.add_argument("--num-classes", type=int, default=1000)
ap.add_argument("--batch", type=int, default=8)
ap.add_argument("--steps", type=int, default=5)
ap.add_argument("--no-qk-norm", action="store_true")
ap.add_argument("--no-ema", action="store_true")
a = ap.parse_args()
sys.path.insert(0, os.path.join(here, "..", "..", "tests", "reference"))
sys.path.insert(1, os.environ["DIT_REF"])
from ldit_model import LDiT  # noqa: E402
from diffusion import create_diffusion  # noqa: E402

torch.manual_seed(0)
model = LDiT(side=a.latent, patch=a.patch_size, channels=a.channels, hidden=a.hidden_size, depth=a.depth,
             heads=a.num_heads, classes=a.num_classes, qk_norm=not a.no_qk_norm)
diff = create_diffusion(timestep_respacing="")
opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0)
ema = None if a.no_ema else copy.deepcopy(model).requires_grad_(False)
ema_params, model_params = (list(ema.parameters()) if ema else []), list(model.parameters())
x = torch.randn(a.batch, a.channels, a.latent, a.latent)
y = torch.randint(0, a.num_classes, (a.batch,))


def step():
    t = torch.randint(0, diff.num_timesteps, (a.batch,))
    loss = diff.training_losses(model, x, t, dict(y=y))["loss"].mean()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    with torch.no_grad():  # the reference's update_ema: ema = decay * ema + (1 - decay) * param
        for e, p in zip(ema_params, model_params):
            e.mul_(0.9999).add_(p.data, alpha=1 - 0.9999)


for _ in range(2):
    step()
times = []
for _ in range(a.steps):
    t0 = time.perf_counter()
    step()
    times.append(time.perf_counter() - t0)
med = statistics.median(times)
print(f"model=LDiT depth={a.depth} hidden={a.hidden_size} heads={a.num_heads} batch={a.batch} latent={a.latent} "
      f"threads={torch.get_num_threads()} s_per_step={med:.4f} images_per_s={a.batch / med:.2f}")
