#!/usr/bin/env python3
"""make_check_inputs.py OUT B C S NUM_CLASSES SEED — `ditc check` inputs (x, noise F32 [B,C,S,S]; t, y I32 [B])
as .safetensors, with the standard library only (a fixed LCG; no numpy/torch needed)."""
import json, math, struct, sys

out, B, C, S, K, seed = sys.argv[1], *map(int, sys.argv[2:7])
state = seed * 6364136223846793005 + 1442695040888963407
def u():
    global state
    state = (state * 6364136223846793005 + 1442695040888963407) % (1 << 64)
    return ((state >> 11) + 0.5) / float(1 << 53)
def normal():
    return math.sqrt(-2.0 * math.log(u())) * math.cos(2.0 * math.pi * u())
n = B * C * S * S
tensors = {
    "x": ("F32", [B, C, S, S], struct.pack(f"<{n}f", *[max(-1.0, min(1.0, 0.5 * normal())) for _ in range(n)])),
    "noise": ("F32", [B, C, S, S], struct.pack(f"<{n}f", *[normal() for _ in range(n)])),
    "t": ("I32", [B], struct.pack(f"<{B}i", *[(0 if b == 0 else int(u() * 1000)) for b in range(B)])),
    "y": ("I32", [B], struct.pack(f"<{B}i", *[int(u() * K) for _ in range(B)])),
}
header, off, blobs = {}, 0, []
for name, (dt, shape, data) in tensors.items():
    header[name] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + len(data)]}
    off += len(data)
    blobs.append(data)
h = json.dumps(header).encode()
h += b" " * ((8 - len(h) % 8) % 8)
with open(out, "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
