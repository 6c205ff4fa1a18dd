"""Minimal safetensors reader/writer (numpy + struct + json), test-only.

Format (docs/spec formats.md): u64 LE header length N, N bytes of JSON
{"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}},
then the data buffer (offsets relative to it, row-major little-endian).

Reader validates like the reference library and raises `SafetensorsError`
naming the file and the tensor.  Writer pads the header with spaces so the data
starts 8-byte aligned and orders tensors like safetensors.torch.save_file
(larger dtype first, then by name).

Dtypes: F32, F64, F16, BF16, I64, I32, U8.  numpy has no bfloat16, so BF16 is
read as float32 (exact: bits << 16) and written from float arrays with
round-to-nearest-even.
"""
import json
import struct

import numpy as np

MAX_HEADER = 100_000_000

# dtype name -> (numpy dtype of the stored bytes, element size)
_DTYPES = {
    'F64': (np.dtype('<f8'), 8),
    'F32': (np.dtype('<f4'), 4),
    'F16': (np.dtype('<f2'), 2),
    'BF16': (np.dtype('<u2'), 2),
    'I64': (np.dtype('<i8'), 8),
    'I32': (np.dtype('<i4'), 4),
    'U8': (np.dtype('u1'), 1),
}
_NP_TO_NAME = {np.dtype('float64'): 'F64', np.dtype('float32'): 'F32', np.dtype('float16'): 'F16',
               np.dtype('int64'): 'I64', np.dtype('int32'): 'I32', np.dtype('uint8'): 'U8'}


class SafetensorsError(ValueError):
    pass


def _no_dup_pairs(path):
    def hook(pairs):
        d = {}
        for k, v in pairs:
            if k in d:
                raise SafetensorsError(f'{path}: duplicate key "{k}" in header')
            d[k] = v
        return d
    return hook


def _parse_header(path, blob):
    """blob: whole file bytes -> (entries {name: (dtype, shape, begin, end)}, metadata, data offset)."""
    if len(blob) < 8:
        raise SafetensorsError(f'{path}: file shorter than the 8-byte header length')
    (n,) = struct.unpack('<Q', blob[:8])
    if n > MAX_HEADER:
        raise SafetensorsError(f'{path}: header length {n} exceeds {MAX_HEADER}')
    if 8 + n > len(blob):
        raise SafetensorsError(f'{path}: header length {n} runs past end of file ({len(blob)} bytes)')
    raw = blob[8:8 + n]
    if not raw.startswith(b'{'):
        raise SafetensorsError(f'{path}: header does not start with "{{"')
    try:
        hdr = json.loads(raw.decode('utf-8'), object_pairs_hook=_no_dup_pairs(path))
    except SafetensorsError:
        raise
    except (UnicodeDecodeError, ValueError) as e:
        raise SafetensorsError(f'{path}: invalid header JSON: {e}') from None
    if not isinstance(hdr, dict):
        raise SafetensorsError(f'{path}: header is not a JSON object')
    meta = hdr.pop('__metadata__', None)
    if meta is not None:
        if not isinstance(meta, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                 for k, v in meta.items()):
            raise SafetensorsError(f'{path}: __metadata__ must map strings to strings')
    buflen = len(blob) - 8 - n
    entries = {}
    for name, info in hdr.items():
        where = f'{path}: tensor "{name}"'
        if not isinstance(info, dict) or set(info) != {'dtype', 'shape', 'data_offsets'}:
            raise SafetensorsError(f'{where}: entry must have exactly dtype, shape, data_offsets')
        dt, shape, offs = info['dtype'], info['shape'], info['data_offsets']
        if dt not in _DTYPES:
            raise SafetensorsError(f'{where}: unsupported dtype {dt!r}')
        if not isinstance(shape, list) or not all(type(s) is int and s >= 0 for s in shape):
            raise SafetensorsError(f'{where}: bad shape {shape!r}')
        if (not isinstance(offs, list) or len(offs) != 2 or not all(type(o) is int and o >= 0 for o in offs)
                or offs[0] > offs[1]):
            raise SafetensorsError(f'{where}: bad data_offsets {offs!r}')
        numel = int(np.prod(shape, dtype=object)) if shape else 1
        if offs[1] - offs[0] != numel * _DTYPES[dt][1]:
            raise SafetensorsError(f'{where}: data_offsets span {offs[1] - offs[0]} bytes, '
                                   f'shape {shape} x {dt} needs {numel * _DTYPES[dt][1]}')
        entries[name] = (dt, shape, offs[0], offs[1])
    pos = 0
    for name, (_, _, b, e) in sorted(entries.items(), key=lambda kv: (kv[1][2], kv[1][3])):
        if b != pos:
            raise SafetensorsError(f'{path}: tensor "{name}" starts at {b}, expected {pos} '
                                   f'(gap or overlap in the data buffer)')
        pos = e
    if pos != buflen:
        raise SafetensorsError(f'{path}: tensors cover {pos} bytes but the data buffer has {buflen}')
    return entries, meta or {}, 8 + n


def read(path, with_metadata=False):
    """path -> {name: np.ndarray} (BF16 returned as float32); optionally also the metadata dict."""
    with open(path, 'rb') as f:
        blob = f.read()
    entries, meta, base = _parse_header(path, blob)
    out = {}
    for name, (dt, shape, b, e) in entries.items():
        npdt, _ = _DTYPES[dt]
        a = np.frombuffer(blob, dtype=npdt, count=(e - b) // npdt.itemsize, offset=base + b).reshape(shape)
        if dt == 'BF16':
            a = (a.astype(np.uint32) << 16).view(np.float32)
        out[name] = a.astype(a.dtype.newbyteorder('='), copy=True)
    return (out, meta) if with_metadata else out


def _to_numpy(x):
    if hasattr(x, 'detach'):  # torch tensor
        x = x.detach().cpu()
        if str(x.dtype) == 'torch.bfloat16':
            x = x.float()
        x = x.numpy()
    return np.array(x, order='C', copy=False)  # keeps 0-d arrays 0-d


def _bf16_bits(a):
    """float array -> uint16 bfloat16 bits, round to nearest even, NaN kept quiet."""
    u = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    nan = np.isnan(np.asarray(a, dtype=np.float32))
    r[nan] = ((u[nan] >> 16) | 0x40).astype(np.uint16)
    return r


def write(path, tensors, metadata=None, dtype=None):
    """tensors: {name: np.ndarray | torch.Tensor}.  dtype: None (keep) or 'F32'/'F16'/'BF16'
    applied to every floating tensor.  Integer tensors keep I64/I32/U8."""
    items = []
    for name, x in tensors.items():
        a = _to_numpy(x)
        if a.dtype.kind == 'f' and dtype is not None:
            if dtype == 'BF16':
                items.append((name, 'BF16', list(a.shape), _bf16_bits(a).astype('<u2').tobytes()))
                continue
            a = a.astype(_DTYPES[dtype][0])
        if a.dtype.kind == 'b':
            a = a.astype(np.uint8)
        name_dt = _NP_TO_NAME.get(np.dtype(a.dtype.newbyteorder('=')))
        if name_dt is None:
            raise SafetensorsError(f'{path}: tensor "{name}": unsupported numpy dtype {a.dtype}')
        items.append((name, name_dt, list(a.shape), a.astype(_DTYPES[name_dt][0]).tobytes()))
    items.sort(key=lambda it: (-_DTYPES[it[1]][1], it[0]))
    hdr, pos = {}, 0
    if metadata:
        hdr['__metadata__'] = {str(k): str(v) for k, v in metadata.items()}
    for name, dt, shape, data in items:
        hdr[name] = {'dtype': dt, 'shape': shape, 'data_offsets': [pos, pos + len(data)]}
        pos += len(data)
    raw = json.dumps(hdr, separators=(',', ':'), ensure_ascii=False).encode('utf-8')
    raw += b' ' * ((-(8 + len(raw))) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(raw)))
        f.write(raw)
        for _, _, _, data in items:
            f.write(data)


def read_torch(path):
    """path -> {name: torch.Tensor} (floats as stored dtype except BF16 -> float32)."""
    import torch
    return {k: torch.from_numpy(v) for k, v in read(path).items()}
