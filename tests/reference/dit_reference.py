#!/usr/bin/python3
"""PyTorch test reference for ditc: the DiT model and its hybrid diffusion training loss.

Written from docs/spec (model.md, diffusion.md); state_dict names and shapes are exactly those of
the public PyTorch DiT, so its checkpoints load here with strict=True and vice versa.  --arch ldit
selects the Large-DiT of ldit_model.py (Large-DiT-ImageNet names) instead.  Test-only: the C trainer
never depends on PyTorch.

Subcommands (see --help of each):
  make-case   weights + inputs + expected outputs/losses/(grads)/(AdamW steps) for the C tests
  load-check  load a safetensors state_dict strictly into the reference module, run one forward
  save-torch  write a freshly initialised (+ perturbed) state_dict, as PyTorch would
"""
import argparse
import math
import os
import re
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st  # noqa: E402

torch.set_default_dtype(torch.float32)

FREQ_DIM = 256            # width of the sinusoidal timestep vector
NUM_TIMESTEPS = 1000

# name -> (depth, hidden, heads, patch)
MODELS = {f'DiT-{n}/{p}': (d, h, nh, p)
          for n, (d, h, nh) in {'S': (12, 384, 6), 'B': (12, 768, 12), 'L': (24, 1024, 16),
                                'XL': (28, 1152, 16)}.items() for p in (2, 4, 8)}
HEADS_BY_HIDDEN = {384: 6, 768: 12, 1024: 16, 1152: 16}


# ----------------------------------------------------------------------------------------------
# Model
# ----------------------------------------------------------------------------------------------

def sincos_pos_embed(dim, grid):
    """-> float64 [grid*grid, dim].  Token r*grid+c; first dim/2 columns encode column c, last dim/2
    row r; each half is [sin(q*w_k), cos(q*w_k)] with w_k = 10000^(-k/(dim/4)), k < dim/4."""
    assert dim % 4 == 0, 'hidden size must be a multiple of 4'
    quarter = dim // 4
    omega = 1.0 / 10000 ** (np.arange(quarter, dtype=np.float64) / quarter)          # [dim/4]
    rows, cols = np.meshgrid(np.arange(grid, dtype=np.float64), np.arange(grid, dtype=np.float64),
                             indexing='ij')                                          # [g, g] each

    def half(pos):                                                                   # [g*g, dim/2]
        a = pos.reshape(-1, 1) * omega[None, :]
        return np.concatenate([np.sin(a), np.cos(a)], axis=1)

    return np.concatenate([half(cols), half(rows)], axis=1)


def timestep_frequencies(t):
    """t: int [B] -> float32 [B, 256] = [cos(t f_k), sin(t f_k)], f_k = exp(-ln(1e4) k/128)."""
    half = FREQ_DIM // 2
    freqs = torch.exp(-math.log(10000) * torch.arange(0, half, dtype=torch.float32) / half)  # [128]
    args = t.float()[:, None] * freqs[None, :]                                                # [B,128]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


def layer_norm(x):
    """LayerNorm over the last dim, no affine, eps 1e-6, biased variance."""
    return F.layer_norm(x, x.shape[-1:], eps=1e-6)


def modulate(x, shift, scale):
    """x [B,T,D], shift/scale [B,D] -> x*(1+scale)+shift."""
    return x * (1 + scale[:, None, :]) + shift[:, None, :]


class PatchEmbed(nn.Module):
    def __init__(self, channels, hidden, patch):
        super().__init__()
        self.proj = nn.Conv2d(channels, hidden, kernel_size=patch, stride=patch)

    def forward(self, x):                                   # [B,C,S,S] -> [B,T,D]
        return self.proj(x).flatten(2).transpose(1, 2)


class TimestepEmbedder(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(FREQ_DIM, hidden), nn.SiLU(), nn.Linear(hidden, hidden))

    def forward(self, t):                                   # [B] -> [B,D]
        return self.mlp(timestep_frequencies(t).to(self.mlp[0].weight.dtype))  # no-op in float32


class LabelEmbedder(nn.Module):
    """Table of K+1 rows; row K is the null class.  Label dropout is the caller's business."""
    def __init__(self, classes, hidden):
        super().__init__()
        self.embedding_table = nn.Embedding(classes + 1, hidden)

    def forward(self, y):                                   # [B] -> [B,D]
        return self.embedding_table(y)


class Attention(nn.Module):
    def __init__(self, hidden, heads):
        super().__init__()
        assert hidden % heads == 0
        self.heads = heads
        self.qkv = nn.Linear(hidden, 3 * hidden)            # rows: q | k | v, heads contiguous
        self.proj = nn.Linear(hidden, hidden)

    def forward(self, x):                                   # [B,T,D] -> [B,T,D]
        B, T, D = x.shape
        hd = D // self.heads
        qkv = self.qkv(x).reshape(B, T, 3, self.heads, hd).permute(2, 0, 3, 1, 4)  # [3,B,H,T,hd]
        q, k, v = qkv[0], qkv[1], qkv[2]
        att = ((q * hd ** -0.5) @ k.transpose(-2, -1)).softmax(dim=-1)            # [B,H,T,T]
        return self.proj((att @ v).transpose(1, 2).reshape(B, T, D))


class Mlp(nn.Module):
    def __init__(self, hidden, ratio=4.0):
        super().__init__()
        self.fc1 = nn.Linear(hidden, int(hidden * ratio))
        self.fc2 = nn.Linear(int(hidden * ratio), hidden)

    def forward(self, x):                                   # [B,T,D] -> [B,T,D]
        return self.fc2(F.gelu(self.fc1(x), approximate='tanh'))


class Block(nn.Module):
    """adaLN-Zero transformer block."""
    def __init__(self, hidden, heads):
        super().__init__()
        self.attn = Attention(hidden, heads)
        self.mlp = Mlp(hidden)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden, 6 * hidden))

    def forward(self, x, c):                                # x [B,T,D], c [B,D]
        shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp = \
            self.adaLN_modulation(c).chunk(6, dim=1)
        x = x + gate_msa[:, None, :] * self.attn(modulate(layer_norm(x), shift_msa, scale_msa))
        x = x + gate_mlp[:, None, :] * self.mlp(modulate(layer_norm(x), shift_mlp, scale_mlp))
        return x


class FinalLayer(nn.Module):
    def __init__(self, hidden, patch, out_channels):
        super().__init__()
        self.linear = nn.Linear(hidden, patch * patch * out_channels)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden, 2 * hidden))

    def forward(self, x, c):                                # [B,T,D] -> [B,T,p*p*2C]
        shift, scale = self.adaLN_modulation(c).chunk(2, dim=1)
        return self.linear(modulate(layer_norm(x), shift, scale))


class DiT(nn.Module):
    """DiT with learned sigma: forward(x [B,C,S,S], t int [B], y int [B]) -> [B,2C,S,S]."""

    def __init__(self, side=32, patch=2, channels=4, hidden=1152, depth=28, heads=16, classes=1000):
        super().__init__()
        assert side % patch == 0
        self.side, self.patch, self.channels, self.classes = side, patch, channels, classes
        self.grid = side // patch
        self.x_embedder = PatchEmbed(channels, hidden, patch)
        self.t_embedder = TimestepEmbedder(hidden)
        self.y_embedder = LabelEmbedder(classes, hidden)
        self.pos_embed = nn.Parameter(torch.zeros(1, self.grid ** 2, hidden), requires_grad=False)
        self.blocks = nn.ModuleList([Block(hidden, heads) for _ in range(depth)])
        self.final_layer = FinalLayer(hidden, patch, 2 * channels)
        self.initialize_weights()

    @torch.no_grad()
    def initialize_weights(self):
        """Reference init: xavier-uniform Linear (and patch conv as [D, C*p*p]), zero biases,
        N(0, 0.02) label table and timestep MLP weights, zero adaLN and final linear."""
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)
        self.pos_embed.copy_(torch.from_numpy(sincos_pos_embed(self.pos_embed.shape[-1], self.grid))
                             .float()[None])
        w = self.x_embedder.proj.weight
        nn.init.xavier_uniform_(w.view(w.shape[0], -1))
        nn.init.zeros_(self.x_embedder.proj.bias)
        nn.init.normal_(self.y_embedder.embedding_table.weight, std=0.02)
        nn.init.normal_(self.t_embedder.mlp[0].weight, std=0.02)
        nn.init.normal_(self.t_embedder.mlp[2].weight, std=0.02)
        for mod in [b.adaLN_modulation[1] for b in self.blocks] + [self.final_layer.adaLN_modulation[1],
                                                                 self.final_layer.linear]:
            nn.init.zeros_(mod.weight)
            nn.init.zeros_(mod.bias)

    def unpatchify(self, x):
        """[B,T,p*p*c] (per token laid out (i, j, channel)) -> [B,c,S,S]."""
        B, g, p = x.shape[0], self.grid, self.patch
        c = x.shape[2] // (p * p)
        x = x.reshape(B, g, g, p, p, c).permute(0, 5, 1, 3, 2, 4)   # [B,c,r,i,col,j]
        return x.reshape(B, c, g * p, g * p)

    def forward(self, x, t, y):
        h = self.x_embedder(x) + self.pos_embed            # [B,T,D]
        c = self.t_embedder(t) + self.y_embedder(y)        # [B,D]
        for block in self.blocks:
            h = block(h, c)
        return self.unpatchify(self.final_layer(h, c))     # [B,2C,S,S]


# ----------------------------------------------------------------------------------------------
# Gaussian diffusion: training loss (create_diffusion("") of the reference)
# ----------------------------------------------------------------------------------------------

class Diffusion:
    """Linear schedule, eps prediction, learned-range variance, hybrid loss mse + vb."""

    def __init__(self, steps=NUM_TIMESTEPS, dtype=torch.float32):
        self.dtype = dtype   # float32 = the reference; float64 only for diagnostics
        scale = 1000 / steps
        betas = np.linspace(scale * 1e-4, scale * 0.02, steps, dtype=np.float64)
        alphas = 1.0 - betas
        ac = np.cumprod(alphas)
        ac_prev = np.append(1.0, ac[:-1])
        post_var = betas * (1.0 - ac_prev) / (1.0 - ac)
        self.tables = {                                      # all float64 [steps]
            'sqrt_ac': np.sqrt(ac),
            'sqrt_1m_ac': np.sqrt(1.0 - ac),
            'sqrt_recip_ac': np.sqrt(1.0 / ac),
            'sqrt_recipm1_ac': np.sqrt(1.0 / ac - 1.0),
            'post_logvar_clipped': np.log(np.append(post_var[1], post_var[1:])),
            'post_coef1': betas * np.sqrt(ac_prev) / (1.0 - ac),
            'post_coef2': (1.0 - ac_prev) * np.sqrt(alphas) / (1.0 - ac),
            'log_betas': np.log(betas),
        }

    def at(self, name, t):
        """float64 table looked up per sample, then float32: t [B] -> [B,1,1,1]."""
        return torch.from_numpy(self.tables[name])[t].to(self.dtype)[:, None, None, None]

    def q_sample(self, x0, t, noise):
        return self.at('sqrt_ac', t) * x0 + self.at('sqrt_1m_ac', t) * noise

    def vb_terms(self, x0, x_t, t, eps, v):
        """x0, x_t, eps, v: [B,C,S,S] -> vb [B] in bits/dim (KL for t>0, decoder NLL for t=0)."""
        c1, c2 = self.at('post_coef1', t), self.at('post_coef2', t)
        true_mean = c1 * x0 + c2 * x_t
        true_logvar = self.at('post_logvar_clipped', t)
        x0_hat = self.at('sqrt_recip_ac', t) * x_t - self.at('sqrt_recipm1_ac', t) * eps
        mean = c1 * x0_hat + c2 * x_t
        frac = (v + 1) / 2
        logvar = frac * self.at('log_betas', t) + (1 - frac) * true_logvar
        kl = normal_kl(true_mean, true_logvar, mean, logvar).mean(dim=(1, 2, 3)) / math.log(2.0)
        nll = -discretized_gaussian_log_likelihood(x0, mean, 0.5 * logvar).mean(dim=(1, 2, 3)) \
            / math.log(2.0)
        return torch.where(t == 0, nll, kl)

    def training_losses(self, model, x0, t, y, noise):
        """-> dict(output [B,2C,S,S], mse [B], vb [B], loss [B]); vb sees eps detached."""
        x_t = self.q_sample(x0, t, noise)
        out = model(x_t, t, y)
        return dict(x_t=x_t, output=out, **self.losses_from_output(x0, x_t, t, noise, out))

    def losses_from_output(self, x0, x_t, t, noise, out):
        """out [B,2C,S,S] = (eps | v) -> dict(mse, vb, loss), each [B]."""
        C = x0.shape[1]
        eps, v = out[:, :C], out[:, C:]
        mse = ((noise - eps) ** 2).mean(dim=(1, 2, 3))
        vb = self.vb_terms(x0, x_t, t, eps.detach(), v)
        return {'mse': mse, 'vb': vb, 'loss': mse + vb}


def normal_kl(m1, lv1, m2, lv2):
    return 0.5 * (-1.0 + lv2 - lv1 + torch.exp(lv1 - lv2) + (m1 - m2) ** 2 * torch.exp(-lv2))


def approx_std_normal_cdf(z):
    return 0.5 * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (z + 0.044715 * z ** 3)))


def discretized_gaussian_log_likelihood(x, mean, log_scale):
    """Per-element log-likelihood of x under a Gaussian discretised to bins of width 2/255."""
    d = x - mean
    inv = torch.exp(-log_scale)
    cdf_plus = approx_std_normal_cdf(inv * (d + 1.0 / 255.0))
    cdf_min = approx_std_normal_cdf(inv * (d - 1.0 / 255.0))
    log_cdf_plus = torch.log(cdf_plus.clamp(min=1e-12))
    log_one_minus_cdf_min = torch.log((1.0 - cdf_min).clamp(min=1e-12))
    log_delta = torch.log((cdf_plus - cdf_min).clamp(min=1e-12))
    return torch.where(x < -0.999, log_cdf_plus, torch.where(x > 0.999, log_one_minus_cdf_min, log_delta))


# ----------------------------------------------------------------------------------------------
# Helpers for the CLI
# ----------------------------------------------------------------------------------------------

def trainable(model):
    return [(n, p) for n, p in model.named_parameters() if p.requires_grad]


@torch.no_grad()
def perturb(model, std_zeroed=0.05, std_rest=0.02):
    """Overwrite every zero-initialised tensor (adaLN, final linear) with N(0, std_zeroed) and add
    N(0, std_rest) to all other trainable tensors, so outputs and all gradient paths are non-zero.
    pos_embed stays the exact sin-cos table."""
    for name, p in trainable(model):
        if '.adaLN_modulation.1.' in name or name.startswith('final_layer.linear.'):
            p.normal_(0.0, std_zeroed)
        else:
            p.add_(torch.randn_like(p) * std_rest)


def make_model(cfg):
    """DiT or, for cfg['arch'] == 'ldit', the Large-DiT of ldit_model.py."""
    cfg = dict(cfg)
    if cfg.pop('arch', 'dit') == 'ldit':
        from ldit_model import LDiT
        return LDiT(**cfg)
    cfg.pop('qk_norm', None)
    return DiT(**cfg)


def config_from_args(a):
    arch = getattr(a, 'arch', 'dit')
    if getattr(a, 'model', None):
        if a.model.startswith('LDiT-'):
            from ldit_model import LDIT_MODELS
            arch, (a.depth, a.hidden, a.heads, a.patch) = 'ldit', LDIT_MODELS[a.model]
        else:
            a.depth, a.hidden, a.heads, a.patch = MODELS[a.model]
    missing = [k for k in ('depth', 'hidden', 'patch') if getattr(a, k) is None]
    if missing:
        raise SystemExit(f'missing --{", --".join(missing)} (or --model)')
    heads = a.heads or (32 if arch == 'ldit' else HEADS_BY_HIDDEN.get(a.hidden, max(1, a.hidden // 64)))
    cfg = dict(side=a.side, patch=a.patch, channels=a.channels, hidden=a.hidden, depth=a.depth,
               heads=heads, classes=a.classes)
    if arch == 'ldit':
        cfg.update(arch='ldit', qk_norm=not getattr(a, 'no_qk_norm', False))
    return cfg


def config_str(cfg):
    return ' '.join(f'{k}={v}' for k, v in cfg.items())


def make_inputs(B, C, S, K):
    """x, noise ~ N(0,1) [B,C,S,S]; t [B] holds 0, 1, 999 (as many as fit) + uniform rest, shuffled;
    y [B] holds the null class K once + uniform classes."""
    x = torch.randn(B, C, S, S)
    noise = torch.randn(B, C, S, S)
    t = torch.randint(0, NUM_TIMESTEPS, (B,))
    fixed = torch.tensor([0, 999, 1])[:B]
    t[:len(fixed)] = fixed
    t = t[torch.randperm(B)]
    y = torch.randint(0, K, (B,))
    y[torch.randint(0, B, (1,))] = K
    return x, t, y, noise


def batch_loss(diff, model, x, t, y, noise):
    return diff.training_losses(model, x, t, y, noise)['loss'].mean()


# ----------------------------------------------------------------------------------------------
# Subcommands
# ----------------------------------------------------------------------------------------------

def cmd_make_case(a):
    torch.manual_seed(a.seed)
    cfg = config_from_args(a)
    model = make_model(cfg)
    perturb(model)
    x, t, y, noise = make_inputs(a.batch, a.channels, a.side, a.classes)
    os.makedirs(a.out, exist_ok=True)
    meta = {k: str(v) for k, v in cfg.items()}
    meta.update(batch=str(a.batch), seed=str(a.seed))
    st.write(os.path.join(a.out, 'weights.safetensors'), model.state_dict(), metadata=meta)
    st.write(os.path.join(a.out, 'inputs.safetensors'), {'x': x, 't': t, 'y': y, 'noise': noise},
             metadata=meta)

    diff = Diffusion()
    res = diff.training_losses(model, x, t, y, noise)
    exp = {k: res[k].detach().clone() for k in ('x_t', 'output', 'mse', 'vb', 'loss')}
    # diagnostics only (compare.py prints them, never fails on them): the same loss math in float64
    # on the float32 output; vb at t=0 is ill-conditioned in float32 when the model is far off.
    d64 = Diffusion(dtype=torch.float64)
    x64, n64 = x.double(), noise.double()
    for k, v in d64.losses_from_output(x64, d64.q_sample(x64, t, n64), t, n64,
                                       res['output'].detach().double()).items():
        exp[k + '_f64'] = v
    if a.grads:
        model.zero_grad()
        res['loss'].mean().backward()
        for n, p in trainable(model):
            exp['grad.' + n] = p.grad.detach().clone()
    if a.train_steps:
        opt = torch.optim.AdamW([p for _, p in trainable(model)], lr=a.lr, betas=(0.9, 0.999),
                                eps=1e-8, weight_decay=0.0)
        losses = []
        for _ in range(a.train_steps):
            opt.zero_grad()
            loss = batch_loss(diff, model, x, t, y, noise)
            losses.append(loss.item())
            loss.backward()
            opt.step()
        exp['loss_steps'] = torch.tensor(losses, dtype=torch.float32)
        for n, p in model.state_dict().items():
            exp['param.' + n] = p.detach().clone()
        meta.update(train_steps=str(a.train_steps), lr=repr(a.lr))
    st.write(os.path.join(a.out, 'expected.safetensors'), exp, metadata=meta)
    print(f'wrote {a.out}: {config_str(cfg)} batch={a.batch} t={t.tolist()} y={y.tolist()} '
          f'loss={res["loss"].mean().item():.6f}')


def infer_config(sd, side=None, heads=None, channels=None):
    """Config from reference names/shapes of a state_dict (DiT, or Large-DiT by its x_embedder.weight)."""
    if 'x_embedder.weight' in sd:                                     # Large-DiT: Linear [D, C*p*p]
        hidden, P = (int(v) for v in sd['x_embedder.weight'].shape)
        channels = channels or 4
        patch = int(round(math.sqrt(P // channels)))
        depth = 1 + max(int(m.group(1)) for k in sd for m in [re.match(r'layers\.(\d+)\.', k)] if m)
        return dict(arch='ldit', side=side or 32, patch=patch, channels=channels, hidden=hidden, depth=depth,
                    heads=heads or 32, classes=int(sd['y_embedder.embedding_table.weight'].shape[0]) - 1,
                    qk_norm='layers.0.attention.q_norm.weight' in sd)
    w = sd['x_embedder.proj.weight']                                  # [D,C,p,p]
    hidden, channels, patch = int(w.shape[0]), int(w.shape[1]), int(w.shape[2])
    idx = {int(m.group(1)) for k in sd for m in [re.match(r'blocks\.(\d+)\.', k)] if m}
    depth = max(idx) + 1 if idx else 0
    classes = int(sd['y_embedder.embedding_table.weight'].shape[0]) - 1
    if side is None:
        side = int(round(math.sqrt(sd['pos_embed'].shape[1]))) * patch
    heads = heads or HEADS_BY_HIDDEN.get(hidden, max(1, hidden // 64))
    return dict(side=side, patch=patch, channels=channels, hidden=hidden, depth=depth, heads=heads,
                classes=classes)


def cmd_load_check(a):
    try:
        sd = {k: torch.from_numpy(v).float() for k, v in st.read(a.weights).items()}
        cfg = infer_config(sd, a.side, a.heads, a.channels)
        torch.manual_seed(0)
        model = make_model(cfg)
        model.load_state_dict(sd, strict=True)
        B = 2
        x = torch.randn(B, cfg['channels'], cfg['side'], cfg['side'])
        t = torch.tensor([0, 999])
        y = torch.tensor([0, cfg['classes']])
        with torch.no_grad():
            out = model(x, t, y)
        if out.shape != (B, 2 * cfg['channels'], cfg['side'], cfg['side']) or not torch.isfinite(out).all():
            raise RuntimeError(f'bad forward output: shape {tuple(out.shape)}, finite={bool(torch.isfinite(out).all())}')
    except Exception as e:  # any mismatch or bad file
        print(f'FAIL {a.weights}: {type(e).__name__}: {e}')
        return 1
    nparams = sum(p.numel() for p in model.parameters())
    print(f'OK {config_str(cfg)} params={nparams} out_absmax={out.abs().max().item():.4g}')
    return 0


def cmd_save_torch(a):
    torch.manual_seed(a.seed)
    cfg = config_from_args(a)
    model = make_model(cfg)
    if not a.fresh:
        perturb(model)
    st.write(a.out, model.state_dict(), dtype=a.dtype,
             metadata={'format': 'pt'} if a.pt_metadata else None)
    print(f'wrote {a.out}: {config_str(cfg)} dtype={a.dtype} perturbed={not a.fresh}')


def add_config_flags(p):
    p.add_argument('--model', choices=sorted(MODELS) + ['LDiT-600M', 'LDiT-3B', 'LDiT-7B'],
                   help='preset for depth/hidden/heads/patch')
    p.add_argument('--arch', choices=['dit', 'ldit'], default='dit', help='ldit: Large-DiT (ldit_model.py)')
    p.add_argument('--no-qk-norm', action='store_true', help='ldit without the q/k LayerNorms')
    p.add_argument('--depth', type=int)
    p.add_argument('--hidden', type=int)
    p.add_argument('--heads', type=int, help='default: reference heads for D, else D/64')
    p.add_argument('--patch', type=int)
    p.add_argument('--channels', type=int, default=4)
    p.add_argument('--side', type=int, default=32)
    p.add_argument('--classes', type=int, default=1000)
    p.add_argument('--seed', type=int, default=0)


def main(argv=None):
    torch.set_num_threads(2)
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest='cmd', required=True)

    p = sub.add_parser('make-case', help='write weights/inputs/expected safetensors for a test case')
    p.add_argument('--out', required=True)
    add_config_flags(p)
    p.add_argument('--batch', type=int, default=6)
    p.add_argument('--grads', action='store_true', help='also grad.<name> of mean(loss)')
    p.add_argument('--train-steps', type=int, default=0, help='AdamW steps on the fixed batch')
    p.add_argument('--lr', type=float, default=1e-4)

    p = sub.add_parser('load-check', help='strict load of a safetensors state_dict + one forward')
    p.add_argument('--weights', required=True)
    p.add_argument('--side', type=int, help='default: from pos_embed (Large-DiT: 32)')
    p.add_argument('--heads', type=int)
    p.add_argument('--channels', type=int, help='Large-DiT only (default 4)')

    p = sub.add_parser('save-torch', help='write a fresh (perturbed) reference state_dict')
    p.add_argument('--out', required=True)
    add_config_flags(p)
    p.add_argument('--dtype', default='F32', choices=['F32', 'F16', 'BF16'])
    p.add_argument('--fresh', action='store_true', help='reference init only (no perturbation)')
    p.add_argument('--pt-metadata', action='store_true', help='add {"format": "pt"} metadata')

    a = ap.parse_args(argv)
    return {'make-case': cmd_make_case, 'load-check': cmd_load_check,
            'save-torch': cmd_save_torch}[a.cmd](a) or 0


if __name__ == '__main__':
    sys.exit(main())
