#!/usr/bin/python3
"""Compare a C run's safetensors dump (--got) with a make-case expected file, at the project's
acceptance tolerances.  Prints one line per key with the measured error; exit 0 iff all pass.

  output            max|got-ref| <= 1e-5 * max|ref|
  x_t (if in got)   same as output
  mse, vb, loss     max_i |got_i-ref_i| / max(|ref_i|, 1e-6) <= 1e-5  (worst sample and t=0 shown)
  grad.* (--grads)  ||g-g_ref|| <= 1e-4 ||g_ref||   (||g|| <= 1e-8 where ||g_ref|| == 0)
  loss_steps        elementwise relative <= 1e-4   (--train-steps; --train-tol sets the 1e-4)
  gnb_loss          the same, if expected has it (SophiaG's Hessian-pass losses)
  param.*           ||p-p_ref|| / ||p_ref|| <= 1e-4 (--train-steps); for attn.qkv.bias the key slice,
                    whose true gradient is exactly zero, is compared loosely (see Checker.qkv_bias;
                    --key-slice-tol, default 1e-3 absolute)
Keys missing from --got, shape mismatches and non-finite values are failures.  For mse/vb/loss
the distance of ref and got to `<key>_f64` (same loss math in float64) is printed as info.
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st  # noqa: E402


class Checker:
    def __init__(self, exp, got, t=None):
        self.exp, self.got, self.t, self.failed = exp, got, t, 0

    def _fetch(self, key):
        """-> (ref, got) as float64, or None after reporting a failure."""
        if key not in self.got:
            self.report(False, key, 'MISSING in got')
            return None
        r, g = self.exp[key].astype(np.float64), self.got[key].astype(np.float64)
        if r.shape != g.shape:
            self.report(False, key, f'shape {list(g.shape)} != expected {list(r.shape)}')
            return None
        if not np.all(np.isfinite(g)):
            self.report(False, key, f'{int(np.sum(~np.isfinite(g)))} non-finite values')
            return None
        return r, g

    def report(self, ok, key, msg):
        self.failed += not ok
        print(f'{"PASS" if ok else "FAIL"} {key:<48} {msg}')

    def maxabs(self, key, tol=1e-5):
        rg = self._fetch(key)
        if rg is None:
            return
        r, g = rg
        err, scale = np.max(np.abs(g - r), initial=0.0), np.max(np.abs(r), initial=0.0)
        rel = err / scale if scale > 0 else err
        self.report(err <= tol * scale, key, f'max|diff|={err:.3e} max|ref|={scale:.3e} rel={rel:.3e} (tol {tol:g})')

    def per_sample(self, key, tol=1e-5):
        rg = self._fetch(key)
        if rg is None:
            return
        r, g = rg
        rel = np.abs(g - r) / np.maximum(np.abs(r), 1e-6)
        w = int(np.argmax(rel)) if rel.size else 0
        tinfo = (lambda i: f' t={int(self.t[i])}') if self.t is not None else (lambda i: '')
        msg = f'max rel={rel.max(initial=0.0):.3e} at sample {w}{tinfo(w)} (ref {r.flat[w]:.7g} got {g.flat[w]:.7g})'
        if self.t is not None:
            for i in np.nonzero(self.t == 0)[0]:
                msg += f'; t=0 sample {i}: rel={rel[i]:.3e}'
        if key + '_f64' in self.exp:  # info only: distance to the same math done in float64
            r64 = self.exp[key + '_f64'].astype(np.float64)
            if r64.shape == g.shape:
                msg += (f'; [info] ref-vs-f64 {np.max(np.abs(r - r64) / np.maximum(np.abs(r64), 1e-6)):.1e}'
                        f' got-vs-f64 {np.max(np.abs(g - r64) / np.maximum(np.abs(r64), 1e-6)):.1e}')
        self.report(rel.max(initial=0.0) <= tol, key, msg + f' (tol {tol:g})')

    def norm_rel(self, key, tol=1e-4, zero_tol=1e-8):
        rg = self._fetch(key)
        if rg is None:
            return
        r, g = rg
        nd, nr = np.linalg.norm((g - r).ravel()), np.linalg.norm(r.ravel())
        if nr == 0:
            ng = np.linalg.norm(g.ravel())
            self.report(ng <= zero_tol, key, f'ref norm 0, ||got||={ng:.3e} (tol {zero_tol:g})')
        else:
            self.report(nd <= tol * nr, key, f'||diff||/||ref||={nd / nr:.3e} ||ref||={nr:.3e} (tol {tol:g})')

    def norm_rel_flips(self, key, tol, lr, bound):
        """norm_rel after setting aside 'sign decisions': elements off by more than lr/20 (at most `bound`, the
        most a sign can move a weight in the run). SophiaG's step is -lr*sign(m) wherever rho*bs*h is ~0, so an
        element whose momentum is within float rounding of 0 may step the other way. Returns their count."""
        rg = self._fetch(key)
        if rg is None:
            return 0
        r, g = rg
        d = np.abs(g - r).ravel()
        flip = d > lr / 20
        nd, nr = np.linalg.norm(np.where(flip, 0.0, d)), np.linalg.norm(r.ravel())
        ok = nd <= tol * max(nr, 1e-30) and bool(np.all(d[flip] <= bound))
        self.report(ok, key, f'||diff||/||ref||={nd / max(nr, 1e-30):.3e} without {int(flip.sum())} sign decisions '
                    f'(max|diff| {d.max(initial=0.0):.2e} <= {bound:.1e}) (tol {tol:g})')
        return int(flip.sum())

    def qkv_bias(self, key, tol=1e-4, key_slice_tol=1e-3):
        """param.*.attn.qkv.bias after AdamW steps: its key slice [D, 2D) has an exactly zero true gradient
        (softmax is invariant to q·b_k), so PyTorch and ditc both update it from rounding noise that AdamW
        normalises to ~lr per step. Check q and v at tol, the key slice loosely, and that the reference
        gradient of the key slice is indeed negligible."""
        rg = self._fetch(key)
        if rg is None:
            return
        r, g = rg
        D = r.size // 3
        qv = np.r_[0:D, 2 * D:3 * D]
        rel = np.linalg.norm(g[qv] - r[qv]) / max(np.linalg.norm(r[qv]), 1e-30)
        kdiff = np.abs(g[D:2 * D] - r[D:2 * D]).max(initial=0.0)
        gk = 'grad.' + key[len('param.'):]
        kgrad = 0.0
        if gk in self.exp:
            gr = self.exp[gk].astype(np.float64)
            kgrad = np.abs(gr[D:2 * D]).max(initial=0.0) / max(np.abs(gr[qv]).max(initial=0.0), 1e-30)
        ok = rel <= tol and kdiff <= key_slice_tol and kgrad <= 1e-5
        self.report(ok, key, f'q,v ||diff||/||ref||={rel:.3e} (tol {tol:g}); key slice max|diff|={kdiff:.2e} '
                    f'(tol {key_slice_tol:g}, zero true gradient: ref |grad_k|/|grad_qv|={kgrad:.1e})')

    def elem_rel(self, key, tol=1e-4):
        rg = self._fetch(key)
        if rg is None:
            return
        r, g = rg
        rel = np.abs(g - r) / np.maximum(np.abs(r), 1e-6)
        w = int(np.argmax(rel)) if rel.size else 0
        self.report(rel.max(initial=0.0) <= tol, key,
                    f'max rel={rel.max(initial=0.0):.3e} at step {w} (ref {r.flat[w]:.7g} got {g.flat[w]:.7g}) (tol {tol:g})')


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--expected', required=True)
    ap.add_argument('--got', required=True)
    ap.add_argument('--inputs', help='inputs.safetensors for t per sample (default: next to --expected)')
    ap.add_argument('--grads', action='store_true')
    ap.add_argument('--train-steps', action='store_true')
    ap.add_argument('--train-tol', type=float, default=1e-4, help='loss_steps, gnb_loss and param.* tolerance')
    ap.add_argument('--sign-flips', type=float, nargs=3, metavar=('LR', 'BOUND', 'MAX'),
                    help='param.*: set aside up to MAX elements that differ by a sign decision (> LR/20, <= BOUND)')
    ap.add_argument('--key-slice-tol', type=float, default=1e-3,
                    help='max|diff| of the attn.qkv.bias key slice (zero true gradient) after the steps')
    a = ap.parse_args(argv)
    try:
        exp, got = st.read(a.expected), st.read(a.got)
        inputs = a.inputs or os.path.join(os.path.dirname(os.path.abspath(a.expected)), 'inputs.safetensors')
        t = st.read(inputs)['t'] if os.path.exists(inputs) else None
    except (OSError, ValueError, KeyError) as e:
        print(f'FAIL cannot read inputs: {e}')
        return 1

    c = Checker(exp, got, t)
    c.maxabs('output')
    if 'x_t' in got and 'x_t' in exp:
        c.maxabs('x_t')
    for k in ('mse', 'vb', 'loss'):
        c.per_sample(k)
    if a.grads:
        keys = sorted(k for k in exp if k.startswith('grad.'))
        if not keys:
            c.report(False, 'grad.*', 'expected file has no grads (make-case --grads)')
        for k in keys:
            c.norm_rel(k)
    if a.train_steps:
        if 'loss_steps' not in exp:
            c.report(False, 'loss_steps', 'expected file has no train steps (make-case --train-steps)')
        else:
            c.elem_rel('loss_steps', tol=a.train_tol)
        if 'gnb_loss' in exp:
            c.elem_rel('gnb_loss', tol=a.train_tol)
        flips = 0
        for k in sorted(k for k in exp if k.startswith('param.')):
            if k.endswith('.attn.qkv.bias'):
                c.qkv_bias(k, tol=a.train_tol, key_slice_tol=a.key_slice_tol)
            elif a.sign_flips:
                flips += c.norm_rel_flips(k, a.train_tol, a.sign_flips[0], a.sign_flips[1])
            else:
                c.norm_rel(k, tol=a.train_tol)
        if a.sign_flips:
            c.report(flips <= a.sign_flips[2], 'sign decisions', f'{flips} elements (max {int(a.sign_flips[2])})')
    print(f'{"ALL PASS" if not c.failed else f"{c.failed} FAILED"}')
    return 1 if c.failed else 0


if __name__ == '__main__':
    sys.exit(main())
