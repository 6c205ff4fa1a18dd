#!/usr/bin/env python3
"""fid_reference.py — pytorch-fid 0.3.0 (mseitzer/pytorch-fid) as the reference of `ditc fid`, with random weights.

The FID Inception weights cannot be downloaded here, so the model is pytorch-fid's own
`InceptionV3([3], resize_input=True, normalize_input=True, use_fid_inception=True)` built without them:
`load_state_dict_from_url` is replaced by a function returning a random state dict of the same names and
shapes, so pytorch-fid's `fid_inception_v3()` (torchvision's Inception3 patched with FIDInceptionA/C/E_1/E_2)
constructs and strictly loads it. The weights are then randomised deterministically *including* the BatchNorm
running statistics (calibrated on a batch, then perturbed, so BN is far from the identity; eval mode).

Tiny config (`--width-div 8`): the same graph and the same 299×299 resize with every channel count divided by
8 (the 3 input channels kept): FIDInceptionA/C/E blocks built with a conv_block that scales its channels, so
Mixed_7c gives 256 features instead of 2048 and a forward costs ~1/60 of the full one.

Commands (all files little-endian numpy / safetensors, see tests/test_fid.sh):
  make --out DIR [--width-div 1|8] [--seed S] --sets NAME:N:HxW:BRIGHT[,...] [--png] [--time] [--no-fid]
      DIR/inception.safetensors (Inception3 state_dict names, incl. fc.* and num_batches_tracked like the
      pt_inception file), per set NAME: DIR/NAME.npz (ADM batch: arr_0 uint8 (N, H, W, 3)), DIR/NAME/ (PNGs, with
      --png), DIR/NAME.feat.npy (float32 (N, D): pytorch-fid's get_activations on the PNG files when --png, else on
      the same tensors), DIR/NAME.stats.npz (mu, sigma as pytorch-fid's save_fid_stats: savez_compressed),
      and DIR/fid.txt with pytorch-fid's calculate_frechet_distance between the first two sets (unless --no-fid).
  features --out F.npz --n N --d D --seed S [--shift X]  random float32 features (key `features`, ditc's format)
  stats --features F.npz --out S.npz                     mu, sigma of features as pytorch-fid (float64)
  frechet A B                                            prints pytorch-fid's FID of two stats/features .npz
  compare-features --ref R.npy --got G.npz --tol T       max|got − ref| / max|ref| per image and overall
  compare-stats --ref R.npz --got G.npz --tol T          mu, sigma relative errors
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st  # noqa: E402  (the project's numpy safetensors writer)


def load_npz_any(path):
    """(mu, sigma) from a stats .npz, or from a features .npz (pytorch-fid's statistics of them)."""
    with np.load(path) as f:
        if 'mu' in f:
            return f['mu'][:], f['sigma'][:]
        act = f['features'][:].astype(np.float64)
    return np.mean(act, axis=0), np.cov(act, rowvar=False)


def build_model(width_div, seed):
    """pytorch-fid's InceptionV3 (FID variant) with random weights; returns (wrapper, inception3)."""
    import torch
    import torchvision
    import pytorch_fid.inception as pi
    torch.manual_seed(seed)
    captured = {}
    if width_div == 1:
        # pytorch-fid's own construction; its strict load_state_dict gets a random dict of the right shapes
        shapes_net = pi._inception_v3(num_classes=1008, aux_logits=False, weights=None)
        shapes_net.Mixed_5b = pi.FIDInceptionA(192, pool_features=32)
        shapes_net.Mixed_5c = pi.FIDInceptionA(256, pool_features=64)
        shapes_net.Mixed_5d = pi.FIDInceptionA(288, pool_features=64)
        shapes_net.Mixed_6b = pi.FIDInceptionC(768, channels_7x7=128)
        shapes_net.Mixed_6c = pi.FIDInceptionC(768, channels_7x7=160)
        shapes_net.Mixed_6d = pi.FIDInceptionC(768, channels_7x7=160)
        shapes_net.Mixed_6e = pi.FIDInceptionC(768, channels_7x7=192)
        shapes_net.Mixed_7b = pi.FIDInceptionE_1(1280)
        shapes_net.Mixed_7c = pi.FIDInceptionE_2(2048)
        sd = shapes_net.state_dict()
        pi.load_state_dict_from_url = lambda *a, **k: sd
        orig = pi.fid_inception_v3

        def capture():
            captured['net'] = orig()
            return captured['net']
        pi.fid_inception_v3 = capture
    else:
        tv = torchvision.models.inception

        def s(c):
            return c if c == 3 else c // width_div

        def conv_block(i, o, **kw):
            return tv.BasicConv2d(s(i), s(o), **kw)

        def mk(cls, base, *args, **kw):
            m = cls.__new__(cls)
            base.__init__(m, *args, conv_block=conv_block, **kw)
            return m

        net = tv.Inception3(num_classes=1008, aux_logits=False, init_weights=False,
                            inception_blocks=[conv_block, tv.InceptionA, tv.InceptionB, tv.InceptionC, tv.InceptionD,
                                              tv.InceptionE, tv.InceptionAux])
        net.Mixed_5b = mk(pi.FIDInceptionA, tv.InceptionA, 192, pool_features=32)
        net.Mixed_5c = mk(pi.FIDInceptionA, tv.InceptionA, 256, pool_features=64)
        net.Mixed_5d = mk(pi.FIDInceptionA, tv.InceptionA, 288, pool_features=64)
        net.Mixed_6a = mk(tv.InceptionB, tv.InceptionB, 288)
        net.Mixed_6b = mk(pi.FIDInceptionC, tv.InceptionC, 768, channels_7x7=128)
        net.Mixed_6c = mk(pi.FIDInceptionC, tv.InceptionC, 768, channels_7x7=160)
        net.Mixed_6d = mk(pi.FIDInceptionC, tv.InceptionC, 768, channels_7x7=160)
        net.Mixed_6e = mk(pi.FIDInceptionC, tv.InceptionC, 768, channels_7x7=192)
        net.Mixed_7a = mk(tv.InceptionD, tv.InceptionD, 768)
        net.Mixed_7b = mk(pi.FIDInceptionE_1, tv.InceptionE, 1280)
        net.Mixed_7c = mk(pi.FIDInceptionE_2, tv.InceptionE, 2048)
        net.fc = torch.nn.Linear(s(2048), 1008)
        captured['net'] = net
        pi.fid_inception_v3 = lambda: net
    model = pi.InceptionV3([3], resize_input=True, normalize_input=True, use_fid_inception=True)
    randomise(model, seed)
    return model, captured['net']


def randomise(model, seed):
    """Random convolutions, then BN running statistics set from a calibration batch (train mode, momentum 1)
    and perturbed, random BN affine: activations stay O(1) through the 94 layers and BN is not the identity."""
    import torch
    g = torch.Generator().manual_seed(seed + 1)
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.Conv2d):
                fan_in = m.weight[0].numel()
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * (2.0 / fan_in) ** 0.5)
        for bn in bns:
            bn.momentum = 1.0
            bn.weight.fill_(1.0)
            bn.bias.fill_(0.0)
        model.train()
        calib = torch.rand((2, 3, 64, 64), generator=g)
        model(calib)
        model.eval()
        for bn in bns:
            c = bn.num_features
            bn.momentum = 0.1
            sd = bn.running_var.clamp_min(1e-6).sqrt()
            bn.running_mean.add_(0.2 * sd * torch.randn(c, generator=g))
            bn.running_var.mul_(torch.empty(c).uniform_(0.5, 2.0, generator=g))
            bn.weight.copy_(torch.empty(c).uniform_(0.5, 1.5, generator=g))
            bn.bias.copy_(torch.empty(c).uniform_(-0.3, 0.3, generator=g))
        for name, p in model.named_parameters():
            if 'fc' in name:
                p.copy_(torch.randn(p.shape, generator=g) * 0.01)


def make_images(n, h, w, bright, rng):
    """Smooth random colour images with noise (uint8 (n, h, w, 3)); `bright` shifts the distribution."""
    yy, xx = np.meshgrid(np.linspace(0, 1, h), np.linspace(0, 1, w), indexing='ij')
    out = np.empty((n, h, w, 3), np.uint8)
    for i in range(n):
        a = rng.uniform(-1, 1, (3, 3))
        img = a[:, 0, None, None] * xx + a[:, 1, None, None] * yy + a[:, 2, None, None] * xx * yy
        img = 0.5 + 0.35 * img + 0.15 * rng.standard_normal((3, h, w)) + bright
        out[i] = np.clip(img.transpose(1, 2, 0) * 255.0, 0, 255).astype(np.uint8)
    return out


def cmd_make(a):
    import torch
    from PIL import Image
    import pytorch_fid.fid_score as fs
    torch.set_num_threads(int(os.environ.get('OMP_NUM_THREADS', '2')))
    os.makedirs(a.out, exist_ok=True)
    model, net = build_model(a.width_div, a.seed)
    tensors = {k: v.detach().cpu().numpy() for k, v in net.state_dict().items()}
    st.write(os.path.join(a.out, 'inception.safetensors'), tensors)
    rng = np.random.default_rng(a.seed)
    stats = []
    for spec in a.sets.split(','):
        name, n, hw, bright = spec.split(':')
        h, w = (int(v) for v in hw.split('x'))
        imgs = make_images(int(n), h, w, float(bright), rng)
        np.savez(os.path.join(a.out, name + '.npz'), arr_0=imgs)
        if a.png:
            d = os.path.join(a.out, name)
            os.makedirs(d, exist_ok=True)
            files = []
            for i, im in enumerate(imgs):
                files.append(os.path.join(d, f'{i:05d}.png'))
                Image.fromarray(im).save(files[-1])
            files = sorted(files)
            dims = net.fc.in_features
            # pytorch-fid's own path: ImagePathDataset (PIL convert('RGB'), ToTensor) → model → float64 array
            t0 = time.perf_counter()
            act = fs.get_activations(files, model, batch_size=min(50, len(files)), dims=dims, device='cpu',
                                     num_workers=0)
            if a.time:
                mu, sigma = np.mean(act, axis=0), np.cov(act, rowvar=False)
                dt = time.perf_counter() - t0
                print(f'pytorch-fid: {len(files)} PNG files → mu, sigma in {dt:.2f} s ({len(files) / dt:.2f} images/s, '
                      f'{torch.get_num_threads()} threads)')
        else:
            with torch.no_grad():
                x = torch.from_numpy(imgs).permute(0, 3, 1, 2).contiguous().float().div(255)
                act = model(x)[0].squeeze(3).squeeze(2).numpy().astype(np.float64)
        np.save(os.path.join(a.out, name + '.feat.npy'), act.astype(np.float32))
        mu, sigma = np.mean(act, axis=0), np.cov(act, rowvar=False)
        np.savez_compressed(os.path.join(a.out, name + '.stats.npz'), mu=mu, sigma=sigma)
        stats.append((mu, sigma))
    if len(stats) >= 2 and not a.no_fid:
        fid = fs.calculate_frechet_distance(stats[0][0], stats[0][1], stats[1][0], stats[1][1])
        with open(os.path.join(a.out, 'fid.txt'), 'w') as f:
            f.write(f'{fid:.17g}\n')
    print(f'made {a.out}: width/{a.width_div}, sets {a.sets}')


def cmd_features(a):
    rng = np.random.default_rng(a.seed)
    mix = rng.standard_normal((a.d, a.d)) / np.sqrt(a.d)
    x = np.abs(rng.standard_normal((a.n, a.d)) @ mix + a.shift) * 0.5
    np.savez(a.out, features=x.astype(np.float32))


def cmd_stats(a):
    mu, sigma = load_npz_any(a.features)
    np.savez_compressed(a.out, mu=mu, sigma=sigma)


def cmd_frechet(a):
    import pytorch_fid.fid_score as fs
    m1, s1 = load_npz_any(a.a)
    m2, s2 = load_npz_any(a.b)
    t0 = time.perf_counter()
    fid = fs.calculate_frechet_distance(m1, s1, m2, s2)
    print(f'pytorch-fid calculate_frechet_distance ({m1.shape[0]}-d): {time.perf_counter() - t0:.2f} s', file=sys.stderr)
    print(f'{fid:.17g}')


def cmd_compare_features(a):
    ref = np.load(a.ref).astype(np.float64)
    with np.load(a.got) as f:
        got = f['features'][:].astype(np.float64)
    if got.shape != ref.shape:
        print(f'FAIL features shape {got.shape} != reference {ref.shape}')
        return 1
    per = np.max(np.abs(got - ref), axis=1) / np.max(np.abs(ref), axis=1)
    rel = float(np.max(np.abs(got - ref)) / np.max(np.abs(ref)))
    ok = rel <= a.tol and float(per.max()) <= a.tol
    print(f'{"PASS" if ok else "FAIL"} features {ref.shape}: max|diff|/max|ref| {rel:.3g}, worst image {per.max():.3g}'
          f' (tol {a.tol:g})')
    return 0 if ok else 1


def cmd_compare_stats(a):
    with np.load(a.ref) as f:
        rm, rs = f['mu'][:].astype(np.float64), f['sigma'][:].astype(np.float64)
    with np.load(a.got) as f:
        if f['mu'].dtype != np.float64 or f['sigma'].dtype != np.float64:
            print(f'FAIL stats dtypes {f["mu"].dtype}, {f["sigma"].dtype} (float64 expected)')
            return 1
        gm, gs = f['mu'][:], f['sigma'][:]
    if gm.shape != rm.shape or gs.shape != rs.shape:
        print(f'FAIL stats shapes {gm.shape} {gs.shape} != {rm.shape} {rs.shape}')
        return 1
    em = float(np.max(np.abs(gm - rm)) / np.max(np.abs(rm)))
    es = float(np.max(np.abs(gs - rs)) / np.max(np.abs(rs)))
    ok = em <= a.tol and es <= a.tol
    print(f'{"PASS" if ok else "FAIL"} stats: mu {em:.3g}, sigma {es:.3g} (max|diff|/max|ref|, tol {a.tol:g})')
    return 0 if ok else 1


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest='cmd', required=True)
    m = sub.add_parser('make')
    m.add_argument('--out', required=True)
    m.add_argument('--width-div', type=int, default=1)
    m.add_argument('--seed', type=int, default=0)
    m.add_argument('--sets', required=True)
    m.add_argument('--png', action='store_true')
    m.add_argument('--time', action='store_true', help='print the time of pytorch-fid on the PNG folder')
    m.add_argument('--no-fid', action='store_true', help='skip fid.txt (scipy sqrtm of 2048² takes a minute)')
    f = sub.add_parser('features')
    f.add_argument('--out', required=True)
    f.add_argument('--n', type=int, required=True)
    f.add_argument('--d', type=int, required=True)
    f.add_argument('--seed', type=int, default=0)
    f.add_argument('--shift', type=float, default=0.0)
    s = sub.add_parser('stats')
    s.add_argument('--features', required=True)
    s.add_argument('--out', required=True)
    r = sub.add_parser('frechet')
    r.add_argument('a')
    r.add_argument('b')
    c = sub.add_parser('compare-features')
    c.add_argument('--ref', required=True)
    c.add_argument('--got', required=True)
    c.add_argument('--tol', type=float, default=1e-4)
    c2 = sub.add_parser('compare-stats')
    c2.add_argument('--ref', required=True)
    c2.add_argument('--got', required=True)
    c2.add_argument('--tol', type=float, default=1e-6)
    a = p.parse_args()
    fn = {'make': cmd_make, 'features': cmd_features, 'stats': cmd_stats, 'frechet': cmd_frechet,
          'compare-features': cmd_compare_features, 'compare-stats': cmd_compare_stats}[a.cmd]
    return fn(a) or 0


if __name__ == '__main__':
    sys.exit(main())
