#!/usr/bin/python3
"""Dev-only: writes tests/golden/ptest.safetensors, the refined-masking code's P_test computed with OpenCV.

Needs numpy and cv2 (Debian's python3-opencv, 4.6 when this was written); CI never runs this.
Regenerate with:  /usr/bin/python3 tests/golden/make_ptest_goldens.py   (from the repository root)

P_test as the authors' released code computes it (kernels::perturb_test_code is checked against
this bit for bit, `perturbation_params.quantize: code`):
    q = m * 255 (float32); q[q <= th] = 0; q = q.astype(uint8)
    M = cv2.getRotationMatrix2D((W / 2, H / 2), 0, scale)
    out = cv2.warpAffine(q, M, (W, H), flags=cv2.INTER_LINEAR)   # BORDER_CONSTANT, 0
    out.astype(float32) / 255
with th in 0..255 units (100 for faces, 60 for taichi and bair).

Note: OpenCV 4.6 (and every release before 4.11) warps 8-bit images in fixed point (1/32-pixel
coordinates, 15-bit weights); 4.11 brought a new floating-point warpAffine whose results differ
in the last unit, so regenerate this file with an OpenCV older than 4.11.

Contents (float32): masks "m64" [1, 1, 64, 64], "m58" [1, 1, 58, 58], "m37x53" [1, 1, 37, 53], and
one output per case "<mask>.th<th>.s<scale>" of the same shape (the cases are listed in the
metadata and in tests/models/test_refined_mask_ptest.cpp). The masks are smooth random fields in
[0, 1] from a seeded generator, with a few planted values: exactly 0, 1 and 0.5, the float32 values
whose m * 255 lands exactly on the thresholds 60 and 100 (zeroed: the code's test is <=) and the
next float32 above them (kept), and values just under and over an integer after * 255 (truncation).
"""
import json
import os
import struct

import cv2
import numpy as np

OUT = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20)


def save(name, tensors, meta):
    header, blobs, offset = {"__metadata__": {k: str(v) for k, v in meta.items()}}, [], 0
    for key, a in tensors.items():
        a = np.ascontiguousarray(a, dtype=np.float32)
        data = a.astype("<f4").tobytes()
        header[key] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def exactly_at(t):
    """The float32 v in [0, 1] with float32(v * 255) == t, and the next float32 above it."""
    v = np.float32(t / 255.0)
    while v * np.float32(255) > np.float32(t):
        v = np.nextafter(v, np.float32(0))
    while v * np.float32(255) < np.float32(t):
        v = np.nextafter(v, np.float32(1))
    assert v * np.float32(255) == np.float32(t)
    return v, np.nextafter(v, np.float32(1))


def smooth_mask(h, w):
    """A smooth field in [0, 1]: a coarse random grid, upsampled (bicubic), clipped."""
    coarse = rng.uniform(-0.3, 1.3, size=(5, 6)).astype(np.float32)
    m = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
    m = np.clip(m, 0, 1).astype(np.float32)
    planted = [0.0, 1.0, 0.5, *exactly_at(60), *exactly_at(100)]
    for t in (37, 128, 200):  # just under and just over t after * 255
        v, _ = exactly_at(t)
        planted += [np.nextafter(v, np.float32(0)), v]
    planted = np.array(planted, dtype=np.float32)
    # Each planted value on a few pixels spread over the mask, centre included.
    idx = rng.choice(h * w, size=4 * len(planted), replace=False)
    m.reshape(-1)[idx] = np.tile(planted, 4)
    m[h // 2, w // 2] = planted[6]  # exactly on 100: zeroed
    return m


def ptest_code(m, th, scale):
    h, w = m.shape
    q = m.astype(np.float32) * np.float32(255)
    q[q <= th] = 0
    q = q.astype(np.uint8)
    M = cv2.getRotationMatrix2D((w / 2, h / 2), 0, scale)
    out = cv2.warpAffine(q, M, (w, h), flags=cv2.INTER_LINEAR)
    return out.astype(np.float32) / np.float32(255)


def main():
    masks = {"m64": smooth_mask(64, 64), "m58": smooth_mask(58, 58), "m37x53": smooth_mask(37, 53)}
    cases = [("m64", 100, 0.75), ("m64", 60, 0.75), ("m58", 100, 0.75), ("m37x53", 60, 0.75),
             ("m37x53", 100, 0.6)]
    out = {k: v[None, None] for k, v in masks.items()}
    for name, th, scale in cases:
        out[f"{name}.th{th}.s{scale}"] = ptest_code(masks[name], th, scale)[None, None]
    save("ptest.safetensors", out, {"opencv": cv2.__version__, "cases": json.dumps(cases)})


if __name__ == "__main__":
    main()
