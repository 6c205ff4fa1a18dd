#!/usr/bin/env python3
"""pillow_crop.py OUT_DIR — the Pillow reference corpus for tests/test_image_exact.c.

Writes JPEG and PNG files of many sizes and modes into OUT_DIR (plus any files already in OUT_DIR/extra/, which
test_image_exact --prepare writes with libjpeg: YCCK, CMYK without an Adobe marker, restart markers), and for
each of them what Pillow (9.4, /usr/bin/python3) computes:

  * crop:   center_crop_arr(Image.open(p).convert("RGB"), S) of guided-diffusion, for S in {32, 64, 256}
              (256 skipped for the small PNGs of every mode);
  * rgb:    Image.open(p).convert("RGB") itself (images up to 40,000 pixels);
  * resize: Image.open(p).convert("RGB").resize((w, h), BOX|BICUBIC) for a few sizes (one or both sides);
  * bad files (empty, truncated, corrupt, other formats, missing) on which Pillow must fail, with the class of
    error ditc must report.

Output format (documented here, read by tests/test_image_exact.c):
  OUT_DIR/expected.bin   all expected arrays, uint8, back to back
  OUT_DIR/manifest.txt   one record per line, fields separated by single spaces, file names without spaces:
      crop   <file> <S> <offset>              expected (3, S, S) uint8 CHW at expected.bin[offset:]
      rgb    <file> <w> <h> <offset>          expected (h, w, 3) uint8 HWC
      resize <file> <w> <h> <box|bicubic> <offset>   expected (h, w, 3) uint8 HWC
      bad    <file> <class>                   class: empty | cannot_open | jpeg | png | unsupported[:FORMAT]
  Lines starting with '#' are comments. <file> is relative to OUT_DIR.
"""
import io
import os
import struct
import sys
import warnings
import zlib

import numpy as np
from PIL import Image

warnings.simplefilter("ignore")  # palette-transparency and decompression-bomb warnings

SIZES_S = (32, 64, 256)
RGB_MAX_PIXELS = 40_000


def sizes_for(name, w, h):
    """All S for JPEGs, big and tiny images; the many small PNG modes only at 32 and 64 (keeps the corpus small:
    their decoding is covered by the rgb records)."""
    if name.endswith(".jpg") or max(w, h) >= 200 or w * h <= 64:
        return SIZES_S
    return SIZES_S[:2]


# ---- content ---------------------------------------------------------------------------------------------

def photo_like(w, h, seed, channels=3):
    """Smooth gradients + blobs + texture + noise: compresses like a photo. (h, w, channels) uint8."""
    rs = np.random.RandomState(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    sx, sy = max(w, 2), max(h, 2)
    out = np.empty((h, w, channels), np.float64)
    for c in range(channels):
        f1, f2 = rs.uniform(0.5, 3.0, 2)
        ph = rs.uniform(0, 6.28, 3)
        v = 128 + 70 * np.sin(f1 * 6.28 * x / sx + ph[0]) * np.cos(f2 * 6.28 * y / sy + ph[1])
        v += 40 * (x / sx - y / sy)
        for _ in range(3):  # blobs
            cx, cy, r = rs.uniform(0, sx), rs.uniform(0, sy), rs.uniform(0.05, 0.3) * max(sx, sy)
            v += rs.uniform(-60, 60) * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * r * r))
        v += 12 * np.sin(x * rs.uniform(0.8, 1.6) + ph[2]) * np.sin(y * rs.uniform(0.8, 1.6))  # texture
        v += rs.normal(0, 6, (h, w))
        out[:, :, c] = v
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


# ---- a raw PNG writer (bit depths and chunks Pillow cannot write) ----------------------------------------

def _chunk(tag, data):
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def _pack_row(samples, bit):
    """samples: 1-D integer array of one row's samples -> bytes."""
    if bit == 16:
        return samples.astype(">u2").tobytes()
    if bit == 8:
        return samples.astype(np.uint8).tobytes()
    per = 8 // bit
    s = samples.astype(np.uint8)
    pad = (-len(s)) % per
    s = np.concatenate([s, np.zeros(pad, np.uint8)]).reshape(-1, per)
    shifts = np.array([8 - bit * (i + 1) for i in range(per)], np.uint8)
    return (s << shifts).sum(axis=1).astype(np.uint8).tobytes()


def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - c)
    return np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))


def _filter_row(ft, row, prev, bpp):
    r = np.frombuffer(row, np.uint8).astype(np.int32)
    p = np.frombuffer(prev, np.uint8).astype(np.int32) if prev is not None else np.zeros_like(r)
    left = np.concatenate([np.zeros(bpp, np.int32), r[:-bpp]]) if len(r) > bpp else np.zeros_like(r)
    upleft = np.concatenate([np.zeros(bpp, np.int32), p[:-bpp]]) if len(p) > bpp else np.zeros_like(p)
    if len(r) <= bpp:
        left = np.zeros_like(r)
        upleft = np.zeros_like(r)
    pred = [np.zeros_like(r), left, p, (left + p) // 2, _paeth(left, p, upleft)][ft]
    return bytes([ft]) + ((r - pred) & 0xFF).astype(np.uint8).tobytes()


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def png_raw(path, samples, bit, color_type, interlace=False, before_idat=b"", plte=None, trns=None,
            stream_rows=None, tail=None):
    """samples: (h, w, channels) integer sample values (palette indices for color type 3).
    stream_rows: compress only that many rows (a stream that ends early; Pillow leaves the rest zero).
    tail: replaces everything after the IDAT chunks (default: a tEXt chunk and IEND)."""
    h, w, ch = samples.shape
    bpp = max(1, ch * bit // 8)

    def encode(img):
        out, prev = [], None
        for y in range(img.shape[0]):
            row = _pack_row(img[y].reshape(-1), bit)
            out.append(_filter_row((y * 7 + 3) % 5, row, prev, bpp))
            prev = row
        return b"".join(out)

    if interlace:
        raw = b"".join(encode(samples[ys::dy, xs::dx]) for xs, ys, dx, dy in ADAM7
                       if samples[ys::dy, xs::dx].size)
    else:
        raw = encode(samples if stream_rows is None else samples[:stream_rows])
    z = zlib.compress(raw, 9)
    data = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, bit, color_type, 0, 0,
                                                                1 if interlace else 0))
    data += before_idat
    if plte is not None:
        data += _chunk(b"PLTE", bytes(plte))
    if trns is not None:
        data += _chunk(b"tRNS", trns)
    # two IDAT chunks when there is enough data (readers must join them)
    cut = len(z) // 2 if len(z) > 64 else len(z)
    data += _chunk(b"IDAT", z[:cut]) + (_chunk(b"IDAT", z[cut:]) if cut < len(z) else b"")
    data += _chunk(b"tEXt", b"Comment\0after the image data") + _chunk(b"IEND", b"") if tail is None else tail
    with open(path, "wb") as f:
        f.write(data)


# ---- the corpus ------------------------------------------------------------------------------------------

def make_images(d):
    """Writes the good images; returns their file names."""
    names = []

    def save(name, im, **kw):
        im.save(os.path.join(d, name), **kw)
        names.append(name)

    # JPEG RGB, default quality/subsampling (4:2:0), many sizes
    sizes = [(500, 375), (375, 500), (333, 517), (64, 64), (63, 65), (1, 1), (3, 7), (17, 5), (1000, 3), (4, 900),
             (2000, 1500), (31, 31), (256, 256), (512, 384), (129, 257), (1030, 2050), (640, 480), (97, 1)]
    for i, (w, h) in enumerate(sizes):
        save(f"rgb420_{w}x{h}.jpg", Image.fromarray(photo_like(w, h, 100 + i)), quality=75)
    for q, sub, tag in ((95, 0, "444"), (90, 1, "422"), (50, 2, "420q50"), (100, 0, "444q100")):
        save(f"rgb{tag}_301x203.jpg", Image.fromarray(photo_like(301, 203, 7)), quality=q, subsampling=sub)
    save("rgb444_203x301.jpg", Image.fromarray(photo_like(203, 301, 8)), quality=92, subsampling=0)
    save("progressive_411x257.jpg", Image.fromarray(photo_like(411, 257, 9)), quality=85, progressive=True)
    save("progressive_257x411.jpg", Image.fromarray(photo_like(257, 411, 10)), quality=85, progressive=True)
    save("optimized_300x300.jpg", Image.fromarray(photo_like(300, 300, 11)), quality=80, optimize=True)
    for w, h in ((120, 90), (5, 3), (600, 450)):
        save(f"gray_{w}x{h}.jpg", Image.fromarray(photo_like(w, h, 12, 1)[:, :, 0], "L"), quality=85)
    for w, h in ((150, 100), (33, 71)):
        save(f"cmyk_{w}x{h}.jpg", Image.fromarray(photo_like(w, h, 13, 4), "CMYK"), quality=90)

    # PNG via Pillow
    a = photo_like(97, 61, 20)
    save("rgb_97x61.png", Image.fromarray(a))
    save("rgb_64x64.png", Image.fromarray(photo_like(64, 64, 21)))
    save("rgb_300x200.png", Image.fromarray(photo_like(300, 200, 22)))
    save("l_97x61.png", Image.fromarray(a[:, :, 0], "L"))
    save("bw_97x61.png", Image.fromarray(a[:, :, 0] > 128))  # mode "1"
    la = np.dstack([a[:, :, 0], a[:, :, 1]])
    save("la_97x61.png", Image.fromarray(la, "LA"))
    rgba = np.dstack([a, a[:, :, :1] // 2])
    save("rgba_97x61.png", Image.fromarray(rgba, "RGBA"))
    p = Image.fromarray(photo_like(150, 90, 23)).quantize(200)
    save("p_150x90.png", p)
    p16 = Image.fromarray(photo_like(70, 45, 24)).quantize(16)
    save("p4bit_70x45.png", p16, bits=4)
    ptr = Image.fromarray(photo_like(80, 60, 25)).quantize(64)
    save("p_trns_idx_80x60.png", ptr, transparency=3)
    ptr.info.pop("transparency", None)
    save("p_trns_bytes_80x60.png", ptr, transparency=bytes(range(0, 256, 4)))
    g16 = (photo_like(90, 70, 26, 1)[:, :, 0].astype(np.uint16) * 3) ^ (np.arange(90, dtype=np.uint16) & 7)
    save("i16_90x70.png", Image.fromarray(g16.astype(np.uint16), "I;16"))
    save("rgb_interlaced_pillow_41x37.png", Image.fromarray(photo_like(41, 37, 27)))  # Pillow writes no Adam7

    # PNG via the raw writer
    def raw(name, samples, bit, ct, **kw):
        png_raw(os.path.join(d, name), samples, bit, ct, **kw)
        names.append(name)

    rs = np.random.RandomState(30)
    g = photo_like(77, 43, 31, 1)
    for bit in (1, 2, 4):
        raw(f"gray{bit}_77x43.png", (g >> (8 - bit)).astype(np.uint8), bit, 0)
    raw("gray16_full_77x43.png", rs.randint(0, 65536, (43, 77, 1)), 16, 0)
    raw("gray16_small_77x43.png", rs.randint(0, 400, (43, 77, 1)), 16, 0)
    big = photo_like(77, 43, 32).astype(np.uint16) * 257 + rs.randint(0, 256, (43, 77, 3)).astype(np.uint16)
    raw("rgb16_77x43.png", big, 16, 2)
    raw("rgba16_77x43.png", np.dstack([big, rs.randint(0, 65536, (43, 77, 1))]), 16, 6)
    raw("la16_77x43.png", np.dstack([big[:, :, :1], rs.randint(0, 65536, (43, 77, 1))]), 16, 4)
    raw("gray8_trns_77x43.png", g, 8, 0, trns=struct.pack(">H", 77))
    raw("rgb8_trns_77x43.png", photo_like(77, 43, 33), 8, 2, trns=struct.pack(">HHH", 1, 2, 3))
    pal = rs.randint(0, 256, 3 * 12).astype(np.uint8)
    idx = rs.randint(0, 16, (43, 77, 1))  # indices 12..15 lie past the 12-entry PLTE
    idx[0, :8, 0] = [0, 11, 12, 13, 14, 15, 1, 2]
    raw("p_short_plte_77x43.png", idx, 4, 3, plte=pal)
    raw("p_short_plte_8bit_77x43.png", np.where(idx > 11, 200 + idx, idx), 8, 3, plte=pal)
    raw("p1bit_77x43.png", (g > 120).astype(np.uint8), 1, 3, plte=bytes([200, 10, 10, 10, 10, 200]))
    raw("p2bit_trns_77x43.png", (g >> 6).astype(np.uint8), 2, 3, plte=pal[:12], trns=b"\x00\x80")
    chunks = (_chunk(b"gAMA", struct.pack(">I", 100000)) + _chunk(b"sRGB", b"\x00") +
              _chunk(b"cHRM", bytes(32)) + _chunk(b"pHYs", struct.pack(">IIB", 2835, 2835, 1)) +
              _chunk(b"sBIT", b"\x05\x06\x05") + _chunk(b"iCCP", b"fake\0\0" + zlib.compress(b"x" * 100)) +
              _chunk(b"zTXt", b"k\0\0" + zlib.compress(b"compressed text")) + _chunk(b"bKGD", b"\0\1\0\2\0\3"))
    raw("rgb_gamma_chunks_77x43.png", photo_like(77, 43, 34), 8, 2, before_idat=chunks)
    raw("rgba8_77x43.png", np.dstack([photo_like(77, 43, 35), rs.randint(0, 256, (43, 77, 1))]), 8, 6)
    # interlaced, including sizes where some Adam7 passes are empty
    for w, h in ((1, 1), (3, 1), (1, 5), (2, 9), (9, 9), (77, 43), (300, 200)):
        raw(f"rgb_adam7_{w}x{h}.png", photo_like(w, h, 40 + w), 8, 2, interlace=True)
    raw("gray2_adam7_13x11.png", (photo_like(13, 11, 50, 1) >> 6).astype(np.uint8), 2, 0, interlace=True)
    raw("gray16_adam7_13x11.png", rs.randint(0, 600, (11, 13, 1)), 16, 0, interlace=True)
    raw("p4_adam7_13x11.png", rs.randint(0, 16, (11, 13, 1)), 4, 3, interlace=True, plte=pal)
    raw("rgba16_adam7_13x11.png", rs.randint(0, 65536, (11, 13, 4)), 16, 6, interlace=True)
    # damaged files Pillow still loads: stream ends early, no IEND, file ends inside the last IDAT checksum,
    # bad checksum on a chunk after the image data
    pidx = rs.randint(0, 12, (30, 40, 1))
    raw("short_stream_p_40x30.png", pidx, 8, 3, plte=pal, stream_rows=11)
    raw("short_stream_gray_40x30.png", photo_like(40, 30, 51, 1), 8, 0, stream_rows=7)
    raw("no_iend_40x30.png", photo_like(40, 30, 52), 8, 2, tail=b"")
    raw("bad_text_crc_after_40x30.png", photo_like(40, 30, 53), 8, 2,
        tail=_chunk(b"tEXt", b"a\0b")[:-1] + b"\0" + _chunk(b"IEND", b""))
    raw("cut_in_idat_crc_40x30.png", photo_like(40, 30, 54), 8, 2, tail=b"")
    with open(os.path.join(d, "cut_in_idat_crc_40x30.png"), "r+b") as f:
        f.truncate(os.path.getsize(f.name) - 2)
    return names


def make_bad(d):
    """Writes files Pillow cannot load; returns (name, class)."""
    bad = []

    def put(name, data, cls):
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
        bad.append((name, cls))

    def enc(im, fmt, **kw):
        b = io.BytesIO()
        im.save(b, fmt, **kw)
        return b.getvalue()

    im = Image.fromarray(photo_like(120, 80, 60))
    jpg = enc(im, "JPEG", quality=85)
    pjpg = enc(im, "JPEG", quality=85, progressive=True)
    png = enc(im, "PNG")
    put("empty.jpg", b"", "empty")
    put("empty.png", b"", "empty")
    put("truncated_half.jpg", jpg[: len(jpg) // 2], "jpeg")
    put("truncated_sos.jpg", jpg[: jpg.index(b"\xff\xda") + 20], "jpeg")
    put("truncated_progressive.jpg", pjpg[: len(pjpg) * 2 // 3], "jpeg")
    # only the bottom rows are missing: a crop that does not need them must still fail, as in Pillow
    tall = enc(Image.fromarray(photo_like(375, 500, 61)), "JPEG", quality=90)
    put("truncated_bottom_375x500.jpg", tall[: len(tall) * 95 // 100], "jpeg")
    put("no_eoi_375x500.jpg", tall[:-2], "jpeg")  # Pillow: "image file is truncated" too

    put("truncated_header.jpg", jpg[:40], "jpeg")
    put("soi_garbage.jpg", b"\xff\xd8\xff" + b"garbage" * 20, "jpeg")
    put("truncated.png", png[: len(png) // 2], "png")
    put("truncated_header.png", png[:30], "png")
    put("bad_ihdr_crc.png", png[:29] + bytes([png[29] ^ 0xFF]) + png[30:], "png")
    i = png.index(b"IDAT") + 4
    put("bad_zlib.png", png[:i] + b"\x00\x00" + png[i + 2:], "png")
    put("text.jpg", b"this is not an image, just some text\n" * 10, "unsupported")
    put("image.gif", enc(im, "GIF"), "unsupported:GIF")
    put("image.bmp", enc(im, "BMP"), "unsupported:BMP")
    put("image.tif", enc(im, "TIFF"), "unsupported:TIFF")
    put("image.ppm", enc(im, "PPM"), "unsupported:PNM")
    try:
        put("image.webp", enc(im, "WEBP"), "unsupported:WebP")
    except (OSError, KeyError, ValueError):
        pass
    bad.append(("missing.jpg", "cannot_open"))
    os.makedirs(os.path.join(d, "directory.jpg"), exist_ok=True)
    bad.append(("directory.jpg", "cannot_open"))
    # Pillow must reject every one of them (else the expectation would be wrong).
    for name, _ in bad:
        try:
            with Image.open(os.path.join(d, name)) as t:
                t.convert("RGB")
                fmt = t.format
        except Exception:  # noqa: BLE001 — any failure is what we want
            continue
        if fmt in ("JPEG", "PNG"):
            raise SystemExit(f"pillow_crop.py: Pillow loads bad file {name}")
    return bad


def center_crop_arr(pil_image, image_size):
    """guided-diffusion image_datasets.py, verbatim semantics."""
    while min(*pil_image.size) >= 2 * image_size:
        pil_image = pil_image.resize(tuple(x // 2 for x in pil_image.size), resample=Image.BOX)
    scale = image_size / min(*pil_image.size)
    pil_image = pil_image.resize(tuple(round(x * scale) for x in pil_image.size), resample=Image.BICUBIC)
    arr = np.array(pil_image)
    crop_y = (arr.shape[0] - image_size) // 2
    crop_x = (arr.shape[1] - image_size) // 2
    return arr[crop_y: crop_y + image_size, crop_x: crop_x + image_size]


RESIZES = {  # file -> list of (w, h, filter): one side only, both, up and down
    "rgb_97x61.png": [(97, 30, "bicubic"), (40, 61, "bicubic"), (200, 61, "box"), (97, 150, "box"),
                      (48, 30, "box"), (23, 17, "bicubic"), (301, 7, "bicubic"), (1, 1, "box"), (1, 1, "bicubic")],
    "rgb420_500x375.jpg": [(250, 187, "box"), (333, 250, "bicubic"), (500, 100, "bicubic"), (77, 375, "box")],
}


def main():
    if len(sys.argv) != 2:
        raise SystemExit("usage: pillow_crop.py OUT_DIR")
    d = sys.argv[1]
    os.makedirs(d, exist_ok=True)
    names = make_images(d)
    extra = os.path.join(d, "extra")
    if os.path.isdir(extra):
        names += sorted(os.path.join("extra", n) for n in os.listdir(extra))
    bad = make_bad(d)
    lines = ["# pillow_crop.py corpus: see the docstring for the format",
             f"# Pillow {Image.__version__}, numpy {np.__version__}"]
    off = 0
    with open(os.path.join(d, "expected.bin"), "wb") as out:
        def emit(arr):
            nonlocal off
            b = np.ascontiguousarray(arr, dtype=np.uint8).tobytes()
            out.write(b)
            off += len(b)
            return off - len(b)

        for n in names:
            with Image.open(os.path.join(d, n)) as im:
                rgb = im.convert("RGB")
            if rgb.width * rgb.height <= RGB_MAX_PIXELS:
                lines.append(f"rgb {n} {rgb.width} {rgb.height} {emit(np.asarray(rgb))}")
            for S in sizes_for(n, rgb.width, rgb.height):
                lines.append(f"crop {n} {S} {emit(center_crop_arr(rgb, S).transpose(2, 0, 1))}")
            for w, h, f in RESIZES.get(n, []):
                r = rgb.resize((w, h), resample=Image.BOX if f == "box" else Image.BICUBIC)
                lines.append(f"resize {n} {w} {h} {f} {emit(np.asarray(r))}")
    lines += [f"bad {n} {c}" for n, c in bad]
    with open(os.path.join(d, "manifest.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"pillow_crop.py: {len(names)} images, {sum(l.startswith('crop') for l in lines)} crops, "
          f"{len(bad)} bad files, {off} expected bytes in {d}")


if __name__ == "__main__":
    main()
