#!/usr/bin/python3
"""PyTorch reference of ditc's SophiaG (tests/test_sophia.sh): N steps on the fixed batch of a make-case.

The update is SophiaG of Liuhong99/Sophia (the rho/bs version), written here from its published algorithm:
    step += 1;  p *= 1 - lr*wd;  m = b1*m + (1-b1)*g
    p += -lr * sign(m) * clamp(|m| / (rho*bs*h + 1e-15), max=1)
and after every k-th step a Hessian refresh from the gradient g_hat of the Gauss-Newton-Bartlett loss:
    h = b2*h + (1-b2)*g_hat*g_hat
For the diffusion MSE (ditc's core/diffusion/sophia_gnb.h): eps_hat = eps_pred.detach() + z/sqrt(2), loss =
mean_b mean_flat((eps_pred - eps_hat)^2) on the same batch (x0, t, y, noise) with the updated weights; bs = the
element count B*C*S*S. The normal draws z are ditc's (Philox, purpose DITC_RNG_HESSIAN): they are read from
`ditc check --optimizer sophiag`'s hessian_noise [R,B,C,S,S], one slab per refresh, so both sides use the same
targets. Writes --out = the make-case expected file + loss_steps [N], gnb_loss [R], param.<name>.
"""
import argparse
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st  # noqa: E402
import dit_reference as ref  # noqa: E402

GNB_SIGMA = 1.0 / math.sqrt(2.0)


class SophiaG:
    """Per-parameter state exp_avg, hessian, step (no bias correction), as the reference optimizer."""

    def __init__(self, params, lr, betas, rho, weight_decay):
        self.params, self.lr, self.betas, self.rho, self.wd = list(params), lr, betas, rho, weight_decay
        self.state = [dict(step=0, exp_avg=torch.zeros_like(p), hessian=torch.zeros_like(p)) for p in self.params]

    @torch.no_grad()
    def step(self, bs):
        b1 = self.betas[0]
        for p, s in zip(self.params, self.state):
            s['step'] += 1
            p.mul_(1 - self.lr * self.wd)
            s['exp_avg'].mul_(b1).add_(p.grad, alpha=1 - b1)
            ratio = (s['exp_avg'].abs() / (self.rho * bs * s['hessian'] + 1e-15)).clamp(None, 1)
            p.addcmul_(s['exp_avg'].sign(), ratio, value=-self.lr)

    @torch.no_grad()
    def update_hessian(self):
        b2 = self.betas[1]
        for p, s in zip(self.params, self.state):
            s['hessian'].mul_(b2).addcmul_(p.grad, p.grad, value=1 - b2)

    def zero_grad(self):
        for p in self.params:
            p.grad = None


def gnb_loss(diff, model, x, t, y, noise, z):
    """mean over the batch of mean_flat((eps_pred - eps_hat)^2), eps_hat = eps_pred.detach() + sigma*z."""
    out = model(diff.q_sample(x, t, noise), t, y)
    eps = out[:, :x.shape[1]]
    target = eps.detach() + GNB_SIGMA * z
    return ((target - eps) ** 2).mean(dim=(1, 2, 3)).mean()


def main(argv=None):
    torch.set_num_threads(2)
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--case', required=True, help='make-case directory (weights, inputs, expected)')
    ap.add_argument('--noise-from', required=True, help='ditc check output holding hessian_noise')
    ap.add_argument('--out', required=True)
    ap.add_argument('--steps', type=int, default=10)
    ap.add_argument('--lr', type=float, default=2e-4)
    ap.add_argument('--betas', type=float, nargs=2, default=(0.965, 0.99))
    ap.add_argument('--rho', type=float, default=0.01)
    ap.add_argument('--weight-decay', type=float, default=0.0)
    ap.add_argument('--hessian-every', type=int, default=10)
    ap.add_argument('--heads', type=int)
    a = ap.parse_args(argv)

    sd = {k: torch.from_numpy(v).float() for k, v in st.read(os.path.join(a.case, 'weights.safetensors')).items()}
    cfg = ref.infer_config(sd, heads=a.heads)
    model = ref.DiT(**cfg)
    model.load_state_dict(sd, strict=True)
    inp = st.read(os.path.join(a.case, 'inputs.safetensors'))
    x, noise = torch.from_numpy(inp['x']).float(), torch.from_numpy(inp['noise']).float()
    t, y = torch.from_numpy(inp['t']).long(), torch.from_numpy(inp['y']).long()
    znoise = torch.from_numpy(st.read(a.noise_from)['hessian_noise']).float()      # [R,B,C,S,S]
    nref = a.steps // a.hessian_every
    if znoise.shape[0] != nref or tuple(znoise.shape[1:]) != tuple(x.shape):
        raise SystemExit(f'hessian_noise has shape {tuple(znoise.shape)}; expected [{nref}, {", ".join(map(str, x.shape))}]')

    diff = ref.Diffusion()
    bs = x.numel()                                   # the element count of the sampled targets
    opt = SophiaG([p for _, p in ref.trainable(model)], a.lr, a.betas, a.rho, a.weight_decay)
    losses, gnb = [], []
    for s in range(1, a.steps + 1):
        opt.zero_grad()
        loss = ref.batch_loss(diff, model, x, t, y, noise)
        losses.append(loss.item())
        loss.backward()
        opt.step(bs)
        if s % a.hessian_every == 0:                 # the reference's iter_num % k == k - 1, iter_num from 0
            opt.zero_grad()
            lg = gnb_loss(diff, model, x, t, y, noise, znoise[len(gnb)])
            gnb.append(lg.item())
            lg.backward()
            opt.update_hessian()
    exp = {k: torch.from_numpy(v) for k, v in st.read(os.path.join(a.case, 'expected.safetensors')).items()}
    exp['loss_steps'] = torch.tensor(losses, dtype=torch.float32)
    exp['gnb_loss'] = torch.tensor(gnb, dtype=torch.float32)
    for n, p in model.state_dict().items():
        exp['param.' + n] = p.detach().clone()
    st.write(a.out, exp, metadata={'optimizer': 'sophiag', 'steps': str(a.steps), 'lr': repr(a.lr),
                                   'rho': repr(a.rho), 'hessian_every': str(a.hessian_every), 'bs': str(bs)})
    print(f'wrote {a.out}: {a.steps} SophiaG steps, {len(gnb)} Hessian refreshes, bs {bs}, '
          f'losses {losses[0]:.6f} -> {losses[-1]:.6f}, gnb {["%.5f" % v for v in gnb]}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
