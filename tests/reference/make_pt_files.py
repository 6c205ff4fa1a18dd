#!/usr/bin/env python3
"""make_pt_files.py — torch.save files for test_torch_pt.sh, written with (Debian's) PyTorch, and their checks.

  make --out DIR     good files: tiny DiT state_dicts in F32/F16/BF16 (sd_*.pt + the same bytes as
                     sd_*.safetensors), views.pt (a transposed view saved as is, storage offsets, several tensors
                     on one storage, strided/expanded/permuted views, empty/0-d tensors, I64/I32/U8/F64), a
                     reference-train.py checkpoint ckpt.pt {"model", "ema", "opt" (AdamW after one step),
                     "args" (argparse.Namespace)} + ckpt.model/ckpt.ema.safetensors, a Large-DiT state_dict
                     consolidated.00-of-01.pth + .safetensors, and views.pt re-zipped: deflated with another
                     archive name (deflated.pt), ZIP64 records (zip64.pt); the same objects in torch.save's legacy
                     (pre-1.6, non-zip) format: X.legacy.pt for X = sd_f32, sd_f16, sd_bf16, views, ckpt,
                     model_only, consolidated.00-of-01 (.legacy.pth), views.legacy_p4.pt (pickle protocol 4), and
                     legacy_views.pt (storage views with view_metadata, as PyTorch < 1.0 wrote them; crafted)
  bad --out DIR      bad files, one problem each (see cmd_bad)
  seeds --out DIR    the seed corpus of tests/fuzz_torch_pt.c (committed in tests/fuzz/torch_pt/)
  verify PT ST       every tensor of PT (torch.load, names flattened as ditc does) equals ST's (a `ditc convert
                     --select all` of PT): same names, dtypes, shapes and bytes
  same ST1 ST2       two safetensors files hold the same tensors (names, dtypes, shapes, bytes)
"""
import argparse
import collections
import json
import os
import pickle
import struct
import sys
import zipfile
import zlib

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

DT = {torch.float32: 'F32', torch.float16: 'F16', torch.bfloat16: 'BF16', torch.float64: 'F64',
      torch.int64: 'I64', torch.int32: 'I32', torch.uint8: 'U8'}


def raw(t):
    """The row-major bytes of tensor t."""
    t = t.detach().contiguous().reshape(-1)
    return t.view(torch.uint8).numpy().tobytes() if t.numel() else b''


# ---- safetensors (raw bytes, dtype kept) ----------------------------------------------------------------

def st_write(path, tensors, metadata=None):
    hdr, blobs, pos = {}, [], 0
    if metadata:
        hdr['__metadata__'] = metadata
    for name, t in tensors.items():
        b = raw(t)
        hdr[name] = {'dtype': DT[t.dtype], 'shape': list(t.shape), 'data_offsets': [pos, pos + len(b)]}
        blobs.append(b)
        pos += len(b)
    h = json.dumps(hdr).encode()
    h += b' ' * ((-(8 + len(h))) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)) + h + b''.join(blobs))


def st_read(path):
    with open(path, 'rb') as f:
        blob = f.read()
    (n,) = struct.unpack('<Q', blob[:8])
    hdr = json.loads(blob[8:8 + n])
    meta = hdr.pop('__metadata__', {})
    data = blob[8 + n:]
    return {k: (v['dtype'], v['shape'], data[v['data_offsets'][0]:v['data_offsets'][1]]) for k, v in hdr.items()}, meta


# ---- names as ditc flattens them ----------------------------------------------------------------------

def scalar(x):
    return x is None or isinstance(x, (bool, int, float, str))


def flatten(obj, path, out):
    if isinstance(obj, torch.Tensor):
        out[path] = obj
    elif isinstance(obj, argparse.Namespace):
        flatten(vars(obj), path, out)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            ks = k if isinstance(k, str) else repr(k)
            flatten(v, f'{path}.{ks}' if path else ks, out)
    elif isinstance(obj, (list, tuple)) and not (obj and path and all(scalar(x) for x in obj)):
        for i, v in enumerate(obj):
            flatten(v, f'{path}.{i}' if path else str(i), out)
    return out


# ---- a zip writer with the options torch's does not have ----------------------------------------------

def write_zip(path, entries, zip64=False, deflate=False, align=64, lie=None):
    """entries: [(name, bytes)]. lie: {name: {'crc': int, 'usize': int}} written in place of the truth."""
    out, central = bytearray(), []
    for name, data in entries:
        nb = name.encode()
        crc, usize = zlib.crc32(data) & 0xffffffff, len(data)
        if deflate:
            co = zlib.compressobj(9, zlib.DEFLATED, -15)
            comp, method = co.compress(data) + co.flush(), 8
        else:
            comp, method = data, 0
        csize = len(comp)
        if lie and name in lie:
            crc, usize = lie[name].get('crc', crc), lie[name].get('usize', usize)
            if not deflate:
                csize = usize if 'usize' in lie[name] else csize
        off = len(out)
        extra = struct.pack('<HHQQ', 1, 16, usize, csize) if zip64 else b''
        pad = (-(off + 30 + len(nb) + len(extra) + 4)) % align
        extra += struct.pack('<HH', 0x4246, pad) + b'Z' * pad  # torch's "FB" padding record
        c32, u32 = (0xFFFFFFFF, 0xFFFFFFFF) if zip64 else (csize, usize)
        out += struct.pack('<IHHHHHIIIHH', 0x04034b50, 45 if zip64 else 20, 0, method, 0, 0x21, crc, c32, u32,
                           len(nb), len(extra)) + nb + extra + comp
        central.append((nb, method, crc, csize, usize, off))
    cd_off = len(out)
    for nb, method, crc, csize, usize, off in central:
        if zip64:
            cx = struct.pack('<HHQQQ', 1, 24, usize, csize, off)
            c32 = u32 = o32 = 0xFFFFFFFF
        else:
            cx, c32, u32, o32 = b'', csize, usize, off
        out += struct.pack('<IHHHHHHIIIHHHHHII', 0x02014b50, 45, 45 if zip64 else 20, 0, method, 0, 0x21, crc, c32,
                           u32, len(nb), len(cx), 0, 0, 0, 0, o32) + nb + cx
    n, cd_size = len(central), len(out) - cd_off
    if zip64:
        z64 = len(out)
        out += struct.pack('<IQHHIIQQQQ', 0x06064b50, 44, 45, 45, 0, 0, n, n, cd_size, cd_off)
        out += struct.pack('<IIQI', 0x07064b50, 0, z64, 1)
        out += struct.pack('<IHHHHIIH', 0x06054b50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    else:
        out += struct.pack('<IHHHHIIH', 0x06054b50, 0, 0, n, n, cd_size, cd_off, 0)
    with open(path, 'wb') as f:
        f.write(out)


def zip_entries(path, prefix=None):
    with zipfile.ZipFile(path) as z:
        items = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    if prefix is not None:
        items = [(prefix + n[n.index('/'):], d) for n, d in items]
    return items


# ---- crafted pickles: torch.save's layout with any storage/tensor declarations -------------------------

class Storage:
    def __init__(self, key, stype, numel, data, view=None):
        self.key, self.stype, self.numel, self.data = key, stype, numel, data
        self.view = view  # legacy format: None or (view_key, offset, size), a view of the storage `key`

    def viewed(self, view_key, offset, size):
        return Storage(self.key, self.stype, self.numel, self.data, (view_key, offset, size))


class Tensor:
    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, tuple(size), tuple(stride), False, collections.OrderedDict())

    def __reduce__(self):
        return torch._utils._rebuild_tensor_v2, self.args


class Evil:
    def __init__(self, fn, arg):
        self.fn, self.arg = fn, arg

    def __reduce__(self):
        return self.fn, (self.arg,)


def crafted_pickle(obj):
    class P(pickle.Pickler):
        def persistent_id(self, o):
            return ('storage', o.stype, o.key, 'cpu', o.numel) if isinstance(o, Storage) else None

    import io
    buf = io.BytesIO()
    P(buf, protocol=2).dump(obj)
    return buf.getvalue()


# ---- crafted legacy files: _legacy_save's stream with any header, storage list and data records --------------

MAGIC_NUMBER = 0x1950a86a20f9469cfc6c
SYS_INFO = dict(protocol_version=1001, little_endian=True, type_sizes=dict(short=2, int=4, long=4))


def crafted_legacy(path, obj, storages=(), keys=None, counts=None, magic=MAGIC_NUMBER, sys_info=None, protocol=2):
    """storages: the root storages (data records in sorted key order unless keys says otherwise); counts: {key:
    the element count written in its record instead of its numel}."""
    import io

    class P(pickle.Pickler):
        def persistent_id(self, o):
            return ('storage', o.stype, o.key, 'cpu', o.numel, o.view) if isinstance(o, Storage) else None

    buf = io.BytesIO()
    for x in (magic, 1001, SYS_INFO if sys_info is None else sys_info):
        pickle.dump(x, buf, protocol=protocol)
    P(buf, protocol=protocol).dump(obj)
    by_key = {s.key: s for s in storages}
    keys = sorted(by_key) if keys is None else keys
    pickle.dump(keys, buf, protocol=protocol)
    for k in keys:
        buf.write(struct.pack('<q', (counts or {}).get(k, by_key[k].numel)) + by_key[k].data)
    with open(path, 'wb') as f:
        f.write(buf.getvalue())


def legacy_save(obj, path, **kw):
    torch.save(obj, path, _use_new_zipfile_serialization=False, **kw)


def crafted_pt(path, obj, storages=(), prefix='archive', **zip_kw):
    entries = [(f'{prefix}/data.pkl', crafted_pickle(obj))] + [(f'{prefix}/data/{s.key}', s.data) for s in storages]
    write_zip(path, entries + [(f'{prefix}/version', b'3\n')], **zip_kw)


# ---- make ---------------------------------------------------------------------------------------------

def tiny_dit(seed, dtype=torch.float32):
    import dit_reference as ref
    torch.manual_seed(seed)
    m = ref.make_model(dict(side=8, patch=2, channels=1, hidden=48, depth=2, heads=3, classes=6))
    ref.perturb(m)
    return m.to(dtype)


def cmd_make(a):
    d = a.out
    os.makedirs(d, exist_ok=True)
    for dt, name in ((torch.float32, 'f32'), (torch.float16, 'f16'), (torch.bfloat16, 'bf16')):
        sd = tiny_dit(11, dt).state_dict()
        torch.save(sd, f'{d}/sd_{name}.pt')
        legacy_save(sd, f'{d}/sd_{name}.legacy.pt')
        st_write(f'{d}/sd_{name}.safetensors', sd)

    g = torch.Generator().manual_seed(3)
    base = torch.randn(64, generator=g)
    w = torch.randn(6, 5, generator=g)
    x4 = torch.randn(2, 3, 4, 5, generator=g)
    views = collections.OrderedDict([
        ('w_t', w.t()),                                  # non-contiguous transposed view, saved as is
        ('w', w),                                        # the same storage, contiguous
        ('slice_a', base[3:11]),                         # storage offset 3
        ('slice_b', base[20:32].view(3, 4)),             # same storage, offset 20
        ('every_third', base[1::3]),                     # stride 3 from offset 1
        ('cols', base[:48].view(6, 8)[:, 2:5]),          # row stride 8, offset 2
        ('permuted', x4.permute(3, 1, 0, 2)),            # 4-D permutation
        ('expanded', torch.arange(3.0).expand(4, 3)),    # stride 0
        ('zero_d', torch.tensor(2.5)),
        ('empty', torch.zeros(0, 4)),
        ('idx64', torch.arange(-5, 7, dtype=torch.int64).view(3, 4).t()),
        ('idx32', torch.tensor([1, -2, 2**31 - 1], dtype=torch.int32)),
        ('bytes', torch.arange(250, 256, dtype=torch.uint8)),
        ('f64', torch.randn(3, generator=g, dtype=torch.float64)),
        ('half_t', torch.randn(3, 4, generator=g).half().t()),
        ('bf16_slice', torch.randn(10, generator=g).bfloat16()[2:7]),
        ('nested', {'list': [torch.ones(2), (torch.zeros(1), 7)], 3: torch.full((2,), 3.0)}),
    ])
    torch.save(views, f'{d}/views.pt')
    legacy_save(views, f'{d}/views.legacy.pt')
    legacy_save(views, f'{d}/views.legacy_p4.pt', pickle_protocol=4)
    make_legacy_views(f'{d}/legacy_views.pt')
    write_zip(f'{d}/deflated.pt', zip_entries(f'{d}/views.pt', 'another name-1'), deflate=True)
    write_zip(f'{d}/zip64.pt', zip_entries(f'{d}/views.pt', 'z64'), zip64=True)
    write_zip(f'{d}/zip64_deflated.pt', zip_entries(f'{d}/views.pt'), zip64=True, deflate=True)
    for f in ('deflated', 'zip64', 'zip64_deflated'):  # torch itself reads the re-zipped files
        got = flatten(torch.load(f'{d}/{f}.pt'), '', {})
        want = flatten(views, '', {})
        assert got.keys() == want.keys() and all(torch.equal(got[k], want[k]) for k in got), f

    model = tiny_dit(5)
    ema = tiny_dit(6)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0)
    import dit_reference as ref
    x = torch.randn(2, 1, 8, 8, generator=g)
    model(x, torch.tensor([3, 500]), torch.tensor([1, 4])).square().mean().backward()
    opt.step()
    args = argparse.Namespace(data_path='/data/imagenet/train', results_dir='results', model='DiT-S/2',
                              image_size=256, num_classes=6, epochs=1400, global_batch_size=256, global_seed=0,
                              vae='ema', num_workers=4, log_every=100, ckpt_every=50000)
    ckpt = {'model': model.state_dict(), 'ema': ema.state_dict(), 'opt': opt.state_dict(), 'args': args}
    torch.save(ckpt, f'{d}/ckpt.pt')
    legacy_save(ckpt, f'{d}/ckpt.legacy.pt')
    st_write(f'{d}/ckpt.model.safetensors', ckpt['model'])
    st_write(f'{d}/ckpt.ema.safetensors', ckpt['ema'])
    torch.save({'model': model.state_dict()}, f'{d}/model_only.pt')
    legacy_save({'model': model.state_dict()}, f'{d}/model_only.legacy.pt')

    torch.manual_seed(9)
    ld = ref.make_model(dict(arch='ldit', qk_norm=True, side=8, patch=2, channels=4, hidden=64, depth=2, heads=4,
                             classes=6))
    with torch.no_grad():
        for p in ld.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    torch.save(ld.state_dict(), f'{d}/consolidated.00-of-01.pth')
    legacy_save(ld.state_dict(), f'{d}/consolidated.00-of-01.legacy.pth')
    st_write(f'{d}/consolidated.00-of-01.safetensors', ld.state_dict())
    del ref
    print(f'wrote {len(os.listdir(d))} files to {d}')


def make_legacy_views(path):
    """Storage views as PyTorch < 1.0 saved them (persistent ids with view_metadata (view_key, offset, size)),
    tensors on the views and on their roots; torch.load itself reads them back (checked here)."""
    f = Storage('0', torch.FloatStorage, 12, struct.pack('<12f', *[i * 1.5 - 4 for i in range(12)]))
    h = Storage('1', torch.HalfStorage, 5, struct.pack('<5e', 0.5, -1, 2, 65504, 3.25))
    v1, v2, hv = f.viewed('10', 2, 6), f.viewed('11', 6, 6), h.viewed('12', 1, 4)
    obj = collections.OrderedDict(
        root=Tensor(f, 0, (3, 4), (4, 1)),
        v1_t=Tensor(v1, 1, (2, 2), (1, 2)),  # view elements 1, 3 / 2, 4 = root 3, 5 / 4, 6
        v1_all=Tensor(v1, 0, (6,), (1,)),
        v2=Tensor(v2, 0, (2, 3), (3, 1)),
        v2_again=Tensor(f.viewed('11', 6, 6), 2, (2,), (2,)),  # the same view met twice
        half_view=Tensor(hv, 0, (4,), (1,)),
        half=Tensor(h, 0, (5,), (1,)))
    crafted_legacy(path, obj, [f, h])
    got = torch.load(path)
    root = torch.tensor([i * 1.5 - 4 for i in range(12)])
    want = {'root': root.view(3, 4), 'v1_t': root[2:8].clone().as_strided((2, 2), (1, 2), 1), 'v1_all': root[2:8],
            'v2': root[6:].view(2, 3), 'v2_again': root[6:][2::2], 'half_view': torch.tensor([-1, 2, 65504, 3.25]).half(),
            'half': torch.tensor([0.5, -1, 2, 65504, 3.25]).half()}
    assert list(got) == list(want) and all(torch.equal(got[k], want[k]) for k in want), (got, want)


# ---- bad ------------------------------------------------------------------------------------------------

def cmd_bad(a):
    d = a.out
    os.makedirs(d, exist_ok=True)
    marker = a.marker
    good = f'{d}/good.pt'
    sd = collections.OrderedDict(w=torch.arange(12.0).view(3, 4), b=torch.ones(4))
    torch.save(sd, good)
    blob = open(good, 'rb').read()
    crafted_pt(f'{d}/os_system.pt', {'w': Evil(os.system, f'touch {marker}')})
    crafted_pt(f'{d}/eval.pt', {'w': Evil(eval, f'open("{marker}", "w")')})
    write_zip(f'{d}/builtins_eval.pt', [('a/data.pkl', b'\x80\x02cbuiltins\neval\nX\x01\x00\x00\x00x\x85R.')])
    crafted_pt(f'{d}/exec_nested.pt', collections.OrderedDict(ema={'a': Evil(exec, 'import os')}))
    with open(f'{d}/truncated.pt', 'wb') as f:
        f.write(blob[:len(blob) // 2])
    # one byte of the storage of "w" changed: its CRC-32 no longer matches
    entries = zip_entries(good)
    entries = [(n, (d_[:5] + bytes([d_[5] ^ 1]) + d_[6:]) if n.endswith('/data/0') else d_) for n, d_ in entries]
    write_zip(f'{d}/bad_crc.pt', entries, lie={n: {'crc': zlib.crc32(x) ^ 0} for n, x in zip_entries(good)})
    # deflated entries declaring 1 TiB: a storage (its pickle agrees) and the pickle itself
    s = Storage('0', torch.FloatStorage, 1 << 38, struct.pack('<4f', 1, 2, 3, 4))
    crafted_pt(f'{d}/huge_size.pt', {'w': Tensor(s, 0, (4,), (1,))}, [s], deflate=True, zip64=True,
               lie={'archive/data/0': {'usize': 1 << 40}})
    write_zip(f'{d}/huge_pickle.pt', zip_entries(good), deflate=True, zip64=True,
              lie={'good/data.pkl': {'usize': 1 << 40}})
    # a storage declaring 10^15 floats (its record holds 16)
    s = Storage('0', torch.FloatStorage, 10 ** 15, struct.pack('<4f', 1, 2, 3, 4))
    crafted_pt(f'{d}/huge_numel.pt', {'w': Tensor(s, 0, (4,), (1,))}, [s])
    # a tensor of 10 elements on a 4-element storage, and one whose offset runs past it
    s = Storage('0', torch.FloatStorage, 4, struct.pack('<4f', 1, 2, 3, 4))
    crafted_pt(f'{d}/short_storage.pt', {'w': Tensor(s, 0, (10,), (1,))}, [s])
    crafted_pt(f'{d}/short_offset.pt', {'w': Tensor(s, 3, (2, 2), (2, 1))}, [s])
    # 10^12 elements of stride 0 from one float: more than the file could hold
    crafted_pt(f'{d}/stride0_bomb.pt', {'w': Tensor(s, 0, (10 ** 6, 10 ** 6), (0, 0))}, [s])
    # a storage record missing from the archive
    crafted_pt(f'{d}/missing_record.pt', {'w': Tensor(s, 0, (4,), (1,))}, [])
    # the legacy format: os.system in the object pickle; a file cut inside the storage data; a wrong magic number;
    # a storage missing from the storage keys; a storage declaring (and its record counting) 2^40 floats; a
    # big-endian writer; a storage view outside its storage; a record whose count disagrees; the tar format
    crafted_legacy(f'{d}/legacy_os_system.pt', {'w': Evil(os.system, f'touch {marker}')})
    legacy_save(sd, f'{d}/legacy.pt')
    lblob = open(f'{d}/legacy.pt', 'rb').read()
    with open(f'{d}/legacy_truncated.pt', 'wb') as f:
        f.write(lblob[:-10])
    with open(f'{d}/legacy_bad_magic.pt', 'wb') as f:
        f.write(lblob[:5] + bytes([lblob[5] ^ 0x40]) + lblob[6:])
    s = Storage('0', torch.FloatStorage, 4, struct.pack('<4f', 1, 2, 3, 4))
    s2 = Storage('1', torch.FloatStorage, 2, struct.pack('<2f', 5, 6))
    two = {'w': Tensor(s, 0, (4,), (1,)), 'b': Tensor(s2, 0, (2,), (1,))}
    crafted_legacy(f'{d}/legacy_missing_key.pt', two, [s, s2], keys=['0'])
    big = Storage('0', torch.FloatStorage, 1 << 40, struct.pack('<4f', 1, 2, 3, 4))
    crafted_legacy(f'{d}/legacy_huge_numel.pt', {'w': Tensor(big, 0, (4,), (1,))}, [big])
    crafted_legacy(f'{d}/legacy_big_endian.pt', {'w': Tensor(s, 0, (4,), (1,))}, [s],
                   sys_info=dict(SYS_INFO, little_endian=False))
    crafted_legacy(f'{d}/legacy_view_outside.pt', {'w': Tensor(s.viewed('9', 2, 3), 0, (3,), (1,))}, [s])
    crafted_legacy(f'{d}/legacy_count.pt', two, [s, s2], counts={'1': 3})
    make_tar(f'{d}/legacy_tar.pt')
    # an opcode torch.save never writes (INST), and one that does not exist
    write_zip(f'{d}/bad_opcode.pt', [('a/data.pkl', b'\x80\x02ios\nsystem\n(S"x"\ntR.')])
    write_zip(f'{d}/unknown_opcode.pt', [('a/data.pkl', b'\x80\x02}\xff.')])
    write_zip(f'{d}/no_data_pkl.pt', [('a/other.txt', b'hello')])
    # an argparse.Namespace BUILT from itself (it would copy its own growing field list forever), and one
    # BUILT 1000 times from a dict of 500 fields (the copies grow as fields x builds, not with the file)
    ns = b'\x80\x02cargparse\nNamespace\n)\x81'
    write_zip(f'{d}/ns_self_build.pt', [('a/data.pkl', ns + b'}(K\x01K\x02ub2b.')])
    fields = b''.join(b'M' + struct.pack('<H', i) + b'N' for i in range(500))
    write_zip(f'{d}/ns_build_bomb.pt', [('a/data.pkl', ns + b'}q\x00(' + fields + b'u0' + b'h\x00b' * 1000 + b'.')])
    # one 100 kB string shared under 1000 names: 100 MB of metadata from a 100 kB file
    text = 'x' * 100000
    torch.save({'w': torch.ones(2), 'notes': {i: text for i in range(1000)}}, f'{d}/shared_text.pt')
    with open(f'{d}/bare_pickle.pt', 'wb') as f:
        pickle.dump({'w': 1}, f, protocol=2)
    print(f'wrote {len(os.listdir(d))} files to {d}')


def make_tar(path):
    """The tar layout of the first PyTorch releases' torch.save (members storages, tensors, pickle)."""
    import io
    import tarfile
    with tarfile.open(path, 'w', format=tarfile.PAX_FORMAT) as tar:
        for name in ('storages', 'tensors', 'pickle'):
            data = pickle.dumps(0, protocol=2)
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


# ---- fuzz seeds -----------------------------------------------------------------------------------------

def cmd_seeds(a):
    """tests/fuzz_torch_pt.c's seeds: mode byte 0 + a whole .pt (zip or legacy format); 1/2 + a data.pkl over the
    harness's storage records "0".."7" of 8 << k bytes."""
    d = a.out
    os.makedirs(d, exist_ok=True)
    tmp = os.path.join(d, 'tmp.pt')
    sd = collections.OrderedDict(w=torch.arange(6.0).view(2, 3).t(), b=torch.ones(3).half(), n=torch.tensor(3))
    torch.save(sd, tmp)
    seeds = {'0-sd': open(tmp, 'rb').read()}
    lin = torch.nn.Linear(2, 2)
    opt = torch.optim.AdamW(lin.parameters())
    lin(torch.ones(1, 2)).sum().backward()
    opt.step()
    torch.save({'model': lin.state_dict(), 'ema': lin.state_dict(), 'opt': opt.state_dict(),
                'args': argparse.Namespace(model='DiT-S/2', image_size=32, lr=1e-4)}, tmp)
    seeds['0-ckpt'] = open(tmp, 'rb').read()
    ltmp = os.path.join(d, 'tmp.legacy.pt')
    legacy_save({'model': lin.state_dict(), 'opt': opt.state_dict(), 'args': argparse.Namespace(model='DiT-S/2'),
                 'sd': sd}, ltmp)
    seeds['0-legacy-ckpt'] = open(ltmp, 'rb').read()
    f = Storage('0', torch.FloatStorage, 6, struct.pack('<6f', 1, 2, 3, 4, 5, 6))
    h = Storage('1', torch.HalfStorage, 4, struct.pack('<4e', 1, 2, 3, 4))
    crafted_legacy(ltmp, collections.OrderedDict(v=Tensor(f.viewed('9', 1, 4), 0, (2, 2), (1, 2)),
                                                r=Tensor(f, 0, (3, 2), (1, 3)), h=Tensor(h.viewed('8', 2, 2), 0, (2,), (1,))),
                   [f, h], protocol=4)
    seeds['0-legacy-views'] = open(ltmp, 'rb').read()
    os.remove(ltmp)
    write_zip(tmp, zip_entries(tmp, 'x'), deflate=True)
    seeds['0-deflated'] = open(tmp, 'rb').read()
    write_zip(tmp, zip_entries(tmp), zip64=True)
    seeds['0-zip64'] = open(tmp, 'rb').read()
    os.remove(tmp)
    st = [Storage(str(k), t, (8 << k) // torch.tensor([], dtype=dt).element_size(), b'')
          for k, (t, dt) in enumerate([(torch.FloatStorage, torch.float32), (torch.HalfStorage, torch.float16),
                                       (torch.BFloat16Storage, torch.bfloat16), (torch.LongStorage, torch.int64),
                                       (torch.FloatStorage, torch.float32), (torch.DoubleStorage, torch.float64),
                                       (torch.IntStorage, torch.int32), (torch.ByteStorage, torch.uint8)])]
    views = collections.OrderedDict(a=Tensor(st[0], 0, (2,), (1,)), t=Tensor(st[4], 1, (3, 4), (1, 3)),
                                    e=Tensor(st[1], 2, (4, 2), (0, 1)), l=Tensor(st[3], 0, (4,), (1,)),
                                    n={'x': [Tensor(st[7], 5, (2, 3), (3, 1)), 1.5, None]},
                                    d=Tensor(st[5], 0, (), ()), i=Tensor(st[6], 3, (5,), (2,)))
    seeds['1-views'] = crafted_pickle(views)
    seeds['2-ckpt'] = crafted_pickle({'model': {'w': Tensor(st[4], 0, (4, 8), (8, 1))},
                                      'ema': {'w': Tensor(st[4], 0, (8, 4), (1, 8)), 'b': Tensor(st[2], 0, (16,), (1,))},
                                      'opt': {'state': {0: {'step': Tensor(st[0], 0, (), ())}},
                                              'param_groups': [{'lr': 1e-4, 'betas': (0.9, 0.999), 'params': [0]}]},
                                      'args': argparse.Namespace(model='DiT-XL/2', epochs=1400)})
    for name, blob in seeds.items():
        with open(os.path.join(d, name + '.bin'), 'wb') as f:
            f.write(bytes([int(name[0])]) + blob)
    print(f'wrote {len(seeds)} seeds to {d}: {sum(len(b) for b in seeds.values())} bytes')


# ---- checks --------------------------------------------------------------------------------------------

def compare(want, got, label):
    bad = []
    if want.keys() != got.keys():
        bad.append(f'names differ: only in torch {sorted(set(want) - set(got))[:5]}, '
                   f'only in ditc {sorted(set(got) - set(want))[:5]}')
    for k in sorted(set(want) & set(got)):
        if want[k] != got[k]:
            bad.append(f'{k}: torch {want[k][0]} {want[k][1]} ({len(want[k][2])} bytes) vs ditc {got[k][0]} '
                       f'{got[k][1]} ({len(got[k][2])} bytes){" (values differ)" if want[k][:2] == got[k][:2] else ""}')
    for b in bad[:10]:
        print(f'  {label}: {b}')
    return len(bad) == 0


def cmd_verify(a):
    obj = torch.load(a.pt)
    want = {k: (DT[t.dtype], list(t.shape), raw(t)) for k, t in flatten(obj, '', {}).items()}
    got, meta = st_read(a.st)
    ok = compare(want, got, a.pt)
    if isinstance(obj, dict) and isinstance(obj.get('args'), argparse.Namespace):
        for k, v in vars(obj['args']).items():
            if meta.get(f'args.{k}') != str(v):
                print(f'  metadata args.{k}: {meta.get(f"args.{k}")!r}, expected {str(v)!r}')
                ok = False
    print(f'{"OK" if ok else "DIFFER"} {a.pt}: {len(want)} tensors, {sum(len(v[2]) for v in want.values())} bytes, '
          f'bit for bit' + (f', {len(meta)} metadata entries' if meta else ''))
    return 0 if ok else 1


def cmd_same(a):
    x, _ = st_read(a.a)
    y, _ = st_read(a.b)
    ok = compare(x, y, f'{a.a} vs {a.b}')
    print(f'{"OK" if ok else "DIFFER"} {len(x)} tensors')
    return 0 if ok else 1


def main():
    torch.set_num_threads(1)
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest='cmd', required=True)
    p = sub.add_parser('make')
    p.add_argument('--out', required=True)
    p = sub.add_parser('bad')
    p.add_argument('--out', required=True)
    p.add_argument('--marker', required=True, help='file the malicious pickles would create')
    p = sub.add_parser('seeds')
    p.add_argument('--out', required=True)
    p = sub.add_parser('verify')
    p.add_argument('pt')
    p.add_argument('st')
    p = sub.add_parser('same')
    p.add_argument('a')
    p.add_argument('b')
    a = ap.parse_args()
    return {'make': cmd_make, 'bad': cmd_bad, 'seeds': cmd_seeds, 'verify': cmd_verify, 'same': cmd_same}[a.cmd](a) or 0


if __name__ == '__main__':
    sys.exit(main())
