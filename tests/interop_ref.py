#!/usr/bin/python3
"""Reference numbers for given weights (used by tests/test_interop.sh).

  interop_ref.py --out DIR [--batch B] [--seed S] LABEL=WEIGHTS.safetensors[:HEADS[:SIDE]] ...

For each case: loads the weights (F32, F16 or BF16, converted to float32 as a PyTorch user would)
strictly into the reference DiT of tests/reference/dit_reference.py, or its Large-DiT (config inferred
from names and shapes; heads given or the reference default; SIDE for Large-DiT, which has no pos_embed), draws a batch like `make-case` (t includes 0, 1, 999;
y includes the null class) and writes DIR/LABEL/inputs.safetensors and DIR/LABEL/expected.safetensors
(x_t, output, mse, vb, loss and grad.<name> of mean(loss)) in the layout compare.py reads.
One process for all cases: importing torch dominates the run time.
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'reference'))
import dit_reference as R  # noqa: E402
import st  # noqa: E402


def one_case(label, weights, heads, out, batch, seed, side=None):
    sd = {k: torch.from_numpy(v).float() for k, v in st.read(weights).items()}
    cfg = R.infer_config(sd, side, heads)
    model = R.make_model(cfg)
    model.load_state_dict(sd, strict=True)   # raises on any missing/unexpected name or shape mismatch
    torch.manual_seed(seed)
    x, t, y, noise = R.make_inputs(batch, cfg['channels'], cfg['side'], cfg['classes'])
    d = os.path.join(out, label)
    os.makedirs(d, exist_ok=True)
    st.write(os.path.join(d, 'inputs.safetensors'), {'x': x, 't': t, 'y': y, 'noise': noise})
    res = R.Diffusion().training_losses(model, x, t, y, noise)
    exp = {k: res[k].detach().clone() for k in ('x_t', 'output', 'mse', 'vb', 'loss')}
    model.zero_grad()
    res['loss'].mean().backward()
    for n, p in R.trainable(model):
        exp['grad.' + n] = p.grad.detach().clone()
    st.write(os.path.join(d, 'expected.safetensors'), exp)
    print(f'{label}: reference {R.config_str(cfg)} batch={batch} t={t.tolist()} y={y.tolist()} '
          f'loss={res["loss"].mean().item():.6f} out_absmax={res["output"].abs().max().item():.4g}')


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--out', required=True)
    ap.add_argument('--batch', type=int, default=4)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('cases', nargs='+', help='LABEL=WEIGHTS[:HEADS[:SIDE]]')
    a = ap.parse_args()
    torch.set_num_threads(2)
    bad = 0
    for c in a.cases:
        label, _, rest = c.partition('=')
        weights, _, heads = rest.partition(':')
        heads, _, side = heads.partition(':')
        try:
            one_case(label, weights, int(heads) if heads else None, a.out, a.batch, a.seed, int(side) if side else None)
        except Exception as e:  # report every case
            print(f'{label}: FAIL {weights}: {type(e).__name__}: {e}')
            bad += 1
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
