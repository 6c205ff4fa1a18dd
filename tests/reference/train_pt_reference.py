"""train_pt_reference.py — PyTorch (1.13) side of test_init_from.sh and test_resume_pt.sh: .pt files shaped like
the PyTorch DiT scripts', and the reference train.py loop continued on the batches ditc used.

  to-pt SRC.safetensors [--ema EMA.safetensors] OUT.pt   a bare state_dict (no --ema) or {"model", "ema"}
  make-ckpt OUT.pt --steps K          a tiny DiT (dit_reference.py) trained K steps exactly as facebookresearch/DiT
                                      train.py does (AdamW(model.parameters(), lr=1e-4, weight_decay=0), update_ema
                                      0.9999), saved as train.py saves: {"model", "ema", "opt", "args"}
  continue CKPT.pt BATCH_DIR OUT.safetensors   loads it like train.py would and takes one step per
                                      BATCH_DIR/step_*_0.safetensors (x, t, y, noise as ditc drew them); writes
                                      model.*, ema.*, exp_avg.*, exp_avg_sq.* and loss_steps
  compare DITC_CKPT_DIR REF.safetensors RTOL   ditc's model/ema/optimizer files against the reference's
"""
import argparse
import glob
import os
import sys
from collections import OrderedDict
from copy import deepcopy

import torch
from safetensors.torch import load_file, save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dit_reference import DiT, Diffusion, perturb  # noqa: E402

CFG = dict(side=16, patch=4, channels=4, hidden=64, depth=2, heads=4, classes=10)


@torch.no_grad()
def update_ema(ema_model, model, decay=0.9999):
    """facebookresearch/DiT train.py's update_ema."""
    ema_params = OrderedDict(ema_model.named_parameters())
    model_params = OrderedDict(model.named_parameters())
    for name, param in model_params.items():
        ema_params[name].mul_(decay).add_(param.data, alpha=1 - decay)


def requires_grad(model, flag=True):
    for p in model.parameters():
        p.requires_grad = flag


def cmd_to_pt(a):
    sd = OrderedDict(load_file(a.src))
    obj = sd if not a.ema else {'model': sd, 'ema': OrderedDict(load_file(a.ema))}
    torch.save(obj, a.out)


def train_step(diff, model, ema, opt, x, t, y, noise):
    loss = diff.training_losses(model, x, t, y, noise)['loss'].mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    update_ema(ema, model)
    return loss.item()


def cmd_make_ckpt(a):
    torch.manual_seed(a.seed)
    model = DiT(**CFG)
    perturb(model)  # non-zero adaLN and final layer: every gradient path is live
    ema = deepcopy(model)
    requires_grad(ema, False)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0)
    update_ema(ema, model, decay=0)
    model.train()
    ema.eval()
    diff = Diffusion()
    B, C, S = 8, CFG['channels'], CFG['side']
    for _ in range(a.steps):
        x, noise = torch.randn(B, C, S, S), torch.randn(B, C, S, S)
        t, y = torch.randint(0, 1000, (B,)), torch.randint(0, CFG['classes'] + 1, (B,))
        train_step(diff, model, ema, opt, x, t, y, noise)
    args = argparse.Namespace(data_path='/data/imagenet/train', results_dir='results', model='DiT-S/4', image_size=128,
                              num_classes=CFG['classes'], epochs=1400, global_batch_size=B, global_seed=0, vae='ema',
                              num_workers=4, log_every=100, ckpt_every=50_000)
    checkpoint = {"model": model.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(), "args": args}
    torch.save(checkpoint, a.out)


def cmd_continue(a):
    ck = torch.load(a.ckpt)
    model = DiT(**CFG)
    model.load_state_dict(ck['model'])
    ema = deepcopy(model)
    ema.load_state_dict(ck['ema'])
    requires_grad(ema, False)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0)
    opt.load_state_dict(ck['opt'])
    diff = Diffusion()
    losses = []
    for f in sorted(glob.glob(os.path.join(a.batches, 'step_*_0.safetensors'))):
        b = load_file(f)
        losses.append(train_step(diff, model, ema, opt, b['x'], b['t'].long(), b['y'].long(), b['noise']))
    out = {'loss_steps': torch.tensor(losses, dtype=torch.float64)}
    names = [n for n, _ in model.named_parameters()]
    for n, p in model.state_dict().items():
        out['model.' + n] = p.detach().clone()
    for n, p in ema.state_dict().items():
        out['ema.' + n] = p.detach().clone()
    for i, p in enumerate(model.parameters()):
        s = opt.state.get(p)
        out['exp_avg.' + names[i]] = s['exp_avg'].clone() if s else torch.zeros_like(p)
        out['exp_avg_sq.' + names[i]] = s['exp_avg_sq'].clone() if s else torch.zeros_like(p)
        if s:
            out['step'] = torch.tensor([float(s['step'])], dtype=torch.float64)
    save_file({k: v.contiguous() for k, v in out.items()}, a.out)
    print(f'reference: {len(losses)} steps, losses {losses}')


def rel(a, b):
    a, b = a.double(), b.double()
    d = (a - b).norm().item()
    return d / a.norm().item() if a.norm().item() > 0 else d


def cmd_compare(a):
    ref = load_file(a.ref)
    worst, bad = {}, []
    files = {'model.': 'model.safetensors', 'ema.': 'ema.safetensors', 'exp_avg.': 'optimizer.safetensors',
             'exp_avg_sq.': 'optimizer.safetensors'}
    loaded = {f: load_file(os.path.join(a.ckpt, f)) for f in set(files.values())}
    for k, v in ref.items():
        pre = next((p for p in ('exp_avg_sq.', 'exp_avg.', 'model.', 'ema.') if k.startswith(p)), None)
        if pre is None:
            continue
        name = k if pre.startswith('exp_avg') else k[len(pre):]
        d = loaded[files[pre]].get(name)
        if d is None or d.shape != v.shape:
            bad.append(f'{k}: missing or a different shape in ditc\'s {files[pre]}')
            continue
        r = rel(v, d)
        tol = a.rtol * (10 if pre.startswith('exp_avg') else 1)  # moments: gradients within test_parity's 1e-4
        if r > tol:
            bad.append(f'{k}: relative {r:.3g} > {tol:g}')
        if r >= worst.get(pre, ('', -1))[1]:
            worst[pre] = (k, r)
    print('worst: ' + ', '.join(f'{p}* {w[1]:.3g} ({w[0]})' for p, w in worst.items()))
    for b in bad[:10]:
        print('  ' + b)
    sys.exit(1 if bad else 0)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest='cmd', required=True)
    s = sub.add_parser('to-pt')
    s.add_argument('src')
    s.add_argument('out')
    s.add_argument('--ema')
    s.set_defaults(f=cmd_to_pt)
    s = sub.add_parser('make-ckpt')
    s.add_argument('out')
    s.add_argument('--steps', type=int, default=3)
    s.add_argument('--seed', type=int, default=0)
    s.set_defaults(f=cmd_make_ckpt)
    s = sub.add_parser('continue')
    s.add_argument('ckpt')
    s.add_argument('batches')
    s.add_argument('out')
    s.set_defaults(f=cmd_continue)
    s = sub.add_parser('compare')
    s.add_argument('ckpt')
    s.add_argument('ref')
    s.add_argument('rtol', type=float)
    s.set_defaults(f=cmd_compare)
    a = p.parse_args()
    a.f(a)


if __name__ == '__main__':
    main()
