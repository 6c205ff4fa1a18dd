"""PyTorch test reference for ditc's Large-DiT (LLaMA-style DiT), written from docs/spec (model.md,
Large-DiT section).  Parameter names, shapes and registration order are those of Large-DiT-ImageNet's
DiT_Llama (Alpha-VLLM LLaMA2-Accessory) without its fairscale/apex/flash-attn dependencies, so state_dicts
load between the two with strict=True.  Test-only: the C trainer never depends on PyTorch.

Checked by hand (2026-11-21) against Large-DiT-ImageNet/models.py at LLaMA2-Accessory HEAD, run with
minimal stand-ins for fairscale's parallel layers (plain nn.Linear/nn.Embedding at world size 1), apex's
FusedRMSNorm (w * (x * rsqrt(mean x^2 + eps))) and torch.compile (identity): with the same perturbed
weights (strict load, identical key order) both give bit-identical outputs, QK-norm on and off (fp32 path).

forward(x [B,C,S,S], t int [B], y int [B]) -> [B,2C,S,S]   (learned sigma)
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from dit_reference import LabelEmbedder, TimestepEmbedder, layer_norm, modulate

NORM_EPS = 1e-5
ROPE_THETA = 10000.0
ROPE_MAX_TOKENS = 4096

# name -> (depth, hidden, heads, patch)
LDIT_MODELS = {'LDiT-600M': (16, 1536, 32, 2), 'LDiT-3B': (32, 3072, 32, 2), 'LDiT-7B': (32, 4096, 32, 2)}


def ffn_width(dim, multiple_of=256):
    """LLaMA FeedForward with hidden_dim = 4*dim: int(2*4*dim/3) rounded up to multiple_of."""
    h = int(2 * (4 * dim) / 3)
    return multiple_of * ((h + multiple_of - 1) // multiple_of)


class RMSNorm(nn.Module):
    def __init__(self, dim, eps=NORM_EPS):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):                                   # (x * rsqrt(mean x^2 + eps)) * w, in float32
        return (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)) * self.weight


def rope_table(head_dim, end=ROPE_MAX_TOKENS, theta=ROPE_THETA):
    """complex64 [end, head_dim/2]: exp(i * t * theta^(-2k/head_dim)), built in float32 as LLaMA does."""
    freqs = 1.0 / (theta ** (torch.arange(0, head_dim, 2)[: head_dim // 2].float() / head_dim))
    t = torch.arange(end)
    angles = torch.outer(t, freqs).float()
    return torch.polar(torch.ones_like(angles), angles)


def apply_rope(x, table):
    """x [B,T,H,hd]: adjacent pairs (2k, 2k+1) as complex numbers times table[t, k]."""
    xc = torch.view_as_complex(x.float().reshape(*x.shape[:-1], -1, 2))
    return torch.view_as_real(xc * table[None, :, None, :]).flatten(3).type_as(x)


class Attention(nn.Module):
    def __init__(self, dim, heads, qk_norm):
        super().__init__()
        self.heads, self.head_dim = heads, dim // heads
        self.wq = nn.Linear(dim, dim, bias=False)
        self.wk = nn.Linear(dim, dim, bias=False)
        self.wv = nn.Linear(dim, dim, bias=False)
        self.wo = nn.Linear(dim, dim, bias=False)
        if qk_norm:
            self.q_norm = nn.LayerNorm(dim)                 # eps 1e-5, affine, over the whole width
            self.k_norm = nn.LayerNorm(dim)
        else:
            self.q_norm = self.k_norm = nn.Identity()

    def forward(self, x, table):                            # [B,T,D] -> [B,T,D]
        B, T, D = x.shape
        q, k, v = self.q_norm(self.wq(x)), self.k_norm(self.wk(x)), self.wv(x)
        q = apply_rope(q.view(B, T, self.heads, self.head_dim), table)
        k = apply_rope(k.view(B, T, self.heads, self.head_dim), table)
        v = v.view(B, T, self.heads, self.head_dim)
        q, k, v = (z.transpose(1, 2) for z in (q, k, v))    # [B,H,T,hd]
        att = ((q * self.head_dim ** -0.5) @ k.transpose(-2, -1)).softmax(dim=-1)
        return self.wo((att @ v).transpose(1, 2).reshape(B, T, D))


class FeedForward(nn.Module):
    def __init__(self, dim):
        super().__init__()
        hidden = ffn_width(dim)
        self.w1 = nn.Linear(dim, hidden, bias=False)
        self.w2 = nn.Linear(hidden, dim, bias=False)
        self.w3 = nn.Linear(dim, hidden, bias=False)

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class TransformerBlock(nn.Module):
    def __init__(self, dim, heads, qk_norm):
        super().__init__()
        self.attention = Attention(dim, heads, qk_norm)
        self.feed_forward = FeedForward(dim)
        self.attention_norm = RMSNorm(dim)
        self.ffn_norm = RMSNorm(dim)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(min(dim, 1024), 6 * dim))

    def forward(self, x, table, c):
        shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp = self.adaLN_modulation(c).chunk(6, dim=1)
        x = x + gate_msa[:, None] * self.attention(modulate(self.attention_norm(x), shift_msa, scale_msa), table)
        x = x + gate_mlp[:, None] * self.feed_forward(modulate(self.ffn_norm(x), shift_mlp, scale_mlp))
        return x


class FinalLayer(nn.Module):
    def __init__(self, dim, patch, out_channels):
        super().__init__()
        self.linear = nn.Linear(dim, patch * patch * out_channels)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(min(dim, 1024), 2 * dim))

    def forward(self, x, c):
        shift, scale = self.adaLN_modulation(c).chunk(2, dim=1)
        return self.linear(modulate(layer_norm(x), shift, scale))   # LayerNorm no affine, eps 1e-6


class LDiT(nn.Module):
    def __init__(self, side=32, patch=2, channels=4, hidden=4096, depth=32, heads=32, classes=1000, qk_norm=True):
        super().__init__()
        assert side % patch == 0 and hidden % heads == 0 and (hidden // heads) % 2 == 0
        self.side, self.patch, self.channels, self.classes = side, patch, channels, classes
        self.grid = side // patch
        cond = min(hidden, 1024)
        self.x_embedder = nn.Linear(patch * patch * channels, hidden)
        self.t_embedder = TimestepEmbedder(cond)
        self.y_embedder = LabelEmbedder(classes, cond)
        self.layers = nn.ModuleList([TransformerBlock(hidden, heads, qk_norm) for _ in range(depth)])
        self.final_layer = FinalLayer(hidden, patch, 2 * channels)
        self.rope = rope_table(hidden // heads)             # not a parameter or buffer (as the reference)
        self.initialize_weights()

    @torch.no_grad()
    def initialize_weights(self):
        """The reference's init: xavier-uniform linears, zero biases, N(0, 0.02) timestep MLP and label
        table, norms at 1/0, zero adaLN and final linear."""
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        nn.init.normal_(self.t_embedder.mlp[0].weight, std=0.02)
        nn.init.normal_(self.t_embedder.mlp[2].weight, std=0.02)
        nn.init.normal_(self.y_embedder.embedding_table.weight, std=0.02)
        for mod in [b.adaLN_modulation[1] for b in self.layers] + [self.final_layer.adaLN_modulation[1],
                                                                 self.final_layer.linear]:
            nn.init.zeros_(mod.weight)
            nn.init.zeros_(mod.bias)

    def patchify(self, x):                                  # [B,C,S,S] -> [B,T,C*p*p], (c, i, j) order
        B, C, H, W = x.shape
        p = self.patch
        x = x.view(B, C, H // p, p, W // p, p).permute(0, 2, 4, 1, 3, 5)
        return x.flatten(-3).flatten(1, 2)

    def unpatchify(self, x):                                # [B,T,p*p*c] -> [B,c,S,S]
        B, g, p = x.shape[0], int(math.isqrt(x.shape[1])), self.patch
        c = x.shape[2] // (p * p)
        x = torch.einsum('nhwpqc->nchpwq', x.reshape(B, g, g, p, p, c))
        return x.reshape(B, c, g * p, g * p)

    def forward(self, x, t, y):
        h = self.x_embedder(self.patchify(x))                # [B,T,D]
        c = self.t_embedder(t) + self.y_embedder(y)          # [B,Dc]
        table = self.rope[: h.shape[1]]
        for layer in self.layers:
            h = layer(h, table, c)
        return self.unpatchify(self.final_layer(h, c))
