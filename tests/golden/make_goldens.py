#!/usr/bin/python3
"""Dev-only: writes the golden files the C++ tests compare against (PyTorch semantics).

Needs PyTorch on the CPU (Debian's python3-torch, or `pip install torch`); CI never runs this.
Regenerate with:  /usr/bin/python3 tests/golden/make_goldens.py   (from the repository root)
Each file is a safetensors file written by the small writer below (no extra package needed).
Inputs are drawn from torch's own seeded generator; the C++ side reads them back, so the two
sides never need the same random numbers.
"""
import json
import os
import struct

import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)))
torch.manual_seed(0)


def save(name, tensors, meta=None):
    header, blobs, offset = {}, [], 0
    if meta:
        header["__metadata__"] = {k: str(v) for k, v in meta.items()}
    for key, t in tensors.items():
        t = t.detach().contiguous()
        if t.dtype == torch.float32:
            dtype, data = "F32", t.numpy().tobytes()
        elif t.dtype == torch.int64:
            dtype, data = "I64", t.numpy().tobytes()
        else:
            raise ValueError(t.dtype)
        header[key] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def rand(*shape):
    return torch.rand(*shape) * 2 - 1


def with_grads(prefix, fn, inputs, out):
    """Runs fn, backpropagates a stored random gy, stores inputs, output and input grads."""
    leaves = {k: v.clone().requires_grad_(True) for k, v in inputs.items()}
    y = fn(**leaves)
    gy = rand(*y.shape)
    y.backward(gy)
    for k, v in inputs.items():
        out[f"{prefix}.{k}"] = v
        out[f"{prefix}.grad_{k}"] = leaves[k].grad
    out[f"{prefix}.y"] = y
    out[f"{prefix}.gy"] = gy


def conv_goldens():
    out = {}
    cases = {  # name: (x shape, w shape, stride, padding, dilation, groups)
        "basic": ((2, 3, 7, 6), (4, 3, 3, 3), 1, 1, 1, 1),
        "stride2": ((2, 3, 8, 9), (5, 3, 3, 3), 2, 1, 1, 1),
        "dilation2": ((1, 2, 9, 9), (3, 2, 3, 3), 1, 2, 2, 1),
        "groups2": ((2, 4, 6, 6), (6, 2, 3, 3), 1, 1, 1, 2),
        "depthwise": ((1, 3, 8, 8), (3, 1, 5, 5), 1, 0, 1, 3),
        "pointwise": ((2, 5, 4, 4), (3, 5, 1, 1), 1, 0, 1, 1),
        "k7_nopad": ((1, 2, 10, 10), (2, 2, 7, 7), 1, 0, 1, 1),
    }
    for name, (xs, ws, s, p, d, g) in cases.items():
        with_grads(name, lambda x, w, b: F.conv2d(x, w, b, stride=s, padding=p, dilation=d, groups=g),
                   {"x": rand(*xs), "w": rand(*ws), "b": rand(ws[0])}, out)
    save("conv2d.safetensors", out)


def norm_goldens():
    out = {}
    x = rand(4, 3, 5, 6) * 3 + 1
    rm, rv = rand(3) * 0.1, torch.rand(3) + 0.5
    out["bn.running_mean_before"], out["bn.running_var_before"] = rm.clone(), rv.clone()
    with_grads("bn", lambda x, w, b: F.batch_norm(x, rm, rv, w, b, training=True, momentum=0.1, eps=1e-5),
               {"x": x, "w": rand(3), "b": rand(3)}, out)
    out["bn.running_mean_after"], out["bn.running_var_after"] = rm, rv
    with_grads("bn_eval", lambda x, w, b: F.batch_norm(x, rm, rv, w, b, training=False, eps=1e-5),
               {"x": x, "w": rand(3), "b": rand(3)}, out)
    with_grads("in", lambda x, w, b: F.instance_norm(x, weight=w, bias=b, eps=1e-5),
               {"x": rand(2, 3, 5, 4) * 2, "w": rand(3), "b": rand(3)}, out)
    save("norm.safetensors", out)


def resample_goldens():
    out = {}
    x = rand(2, 3, 6, 8)
    with_grads("avg2", lambda x: F.avg_pool2d(x, 2), {"x": x}, out)
    with_grads("avg3s2p1", lambda x: F.avg_pool2d(x, 3, stride=2, padding=1), {"x": x}, out)
    for ac in (False, True):
        tag = "ac1" if ac else "ac0"
        with_grads(f"bilinear_up_{tag}", lambda x: F.interpolate(x, size=(11, 13), mode="bilinear", align_corners=ac), {"x": x}, out)
        with_grads(f"bilinear_down_{tag}", lambda x: F.interpolate(x, size=(4, 3), mode="bilinear", align_corners=ac), {"x": x}, out)
    with_grads("bilinear_scale_0.25", lambda x: F.interpolate(x, scale_factor=0.25, mode="bilinear", align_corners=False), {"x": rand(1, 2, 16, 12)}, out)
    with_grads("bilinear_scale_1.5", lambda x: F.interpolate(x, scale_factor=1.5, mode="bilinear", align_corners=False), {"x": x}, out)
    with_grads("nearest_size", lambda x: F.interpolate(x, size=(9, 5), mode="nearest"), {"x": x}, out)
    with_grads("nearest_x2", lambda x: F.interpolate(x, scale_factor=2, mode="nearest"), {"x": x}, out)
    save("resample.safetensors", out)


def grid_sample_goldens():
    out = {}
    x, grid = rand(2, 3, 5, 7), rand(2, 4, 6, 2) * 1.3  # some samples fall outside [-1, 1]
    for mode in ("bilinear", "nearest"):
        for padding in ("zeros", "border", "reflection"):
            for ac in (False, True):
                name = f"{mode}_{padding}_ac{int(ac)}"
                with_grads(name, lambda x, grid: F.grid_sample(x, grid, mode=mode, padding_mode=padding, align_corners=ac),
                           {"x": x, "grid": grid}, out)
    save("grid_sample.safetensors", out)


def antialias_kernel(channels, scale):
    """FOMM's AntiAliasInterpolation2d kernel, recomputed from its published formula."""
    sigma = (1 / scale - 1) / 2
    size = 2 * round(sigma * 4) + 1
    grid = torch.meshgrid([torch.arange(size, dtype=torch.float32)] * 2, indexing="ij")
    kernel = 1
    for mgrid in grid:
        mean = (size - 1) / 2
        kernel = kernel * torch.exp(-(mgrid - mean) ** 2 / (2 * sigma ** 2))
    kernel = kernel / torch.sum(kernel)
    return kernel.view(1, 1, size, size).repeat(channels, 1, 1, 1), size // 2


def pooling_and_pyramid_goldens():
    out = {}
    x = rand(2, 3, 9, 10)
    with_grads("maxpool2", lambda x: F.max_pool2d(x, 2, 2), {"x": x}, out)
    with_grads("maxpool3s2p1", lambda x: F.max_pool2d(x, 3, 2, 1), {"x": x}, out)
    img = torch.rand(1, 3, 32, 32)
    for scale in (0.5, 0.25, 0.125):
        w, ka = antialias_kernel(3, scale)
        step = int(1 / scale)
        with_grads(f"antialias_{scale}", lambda x: F.conv2d(F.pad(x, (ka, ka, ka, ka)), w, groups=3)[:, :, ::step, ::step],
                   {"x": img}, out)
        out[f"antialias_{scale}.weight"] = w
    save("pooling.safetensors", out)


def color_goldens():
    """torchvision's functional colour ops with fixed factors, and one fixed-order composition."""
    import torchvision.transforms.functional as TF
    out = {}
    img = torch.rand(2, 3, 7, 9)
    out["img"] = img
    for name, fn in {"brightness_1.3": lambda x: TF.adjust_brightness(x, 1.3),
                     "contrast_0.6": lambda x: TF.adjust_contrast(x, 0.6),
                     "saturation_1.7": lambda x: TF.adjust_saturation(x, 1.7),
                     "saturation_0.2": lambda x: TF.adjust_saturation(x, 0.2),
                     "hue_0.1": lambda x: TF.adjust_hue(x, 0.1),
                     "hue_-0.35": lambda x: TF.adjust_hue(x, -0.35)}.items():
        out[name] = torch.stack([fn(im) for im in img])
    # hue, saturation, brightness, contrast in that order
    x = torch.stack([TF.adjust_contrast(TF.adjust_brightness(TF.adjust_saturation(TF.adjust_hue(im, 0.2), 0.5), 0.8), 1.4)
                     for im in img])
    out["composed"] = x
    save("color.safetensors", out)


def adam_goldens():
    out = {}
    for name, (lr, b1, b2, eps, wd) in {"fomm": (2e-4, 0.5, 0.999, 1e-8, 0.0),
                                        "refined": (2e-4, 0.5, 0.9, 1e-8, 0.0),
                                        "decay": (1e-2, 0.9, 0.999, 1e-6, 0.1)}.items():
        p = torch.nn.Parameter(rand(5, 3))
        out[f"{name}.p0"] = p.detach().clone()
        opt = torch.optim.Adam([p], lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd)
        for step in range(4):
            g = rand(5, 3)
            p.grad = g.clone()
            opt.step()
            out[f"{name}.g{step}"] = g
            out[f"{name}.p{step + 1}"] = p.detach().clone()
        out[f"{name}.hyper"] = torch.tensor([lr, b1, b2, eps, wd], dtype=torch.float32)
    save("adam.safetensors", out)


def metrics_goldens():
    """SSIM (Wang et al. 2004: 11x11 Gaussian window, sigma 1.5, K1 0.01, K2 0.03, valid region,
    mean over channels), L1, MSE and the masked variants (both images multiplied by the mask or by
    1 - mask) in float64, on two tiny image pairs. Its own generator, so the other files stay put."""
    g = torch.Generator().manual_seed(8)
    a = torch.rand(2, 3, 16, 14, generator=g)
    b = (a + 0.2 * torch.rand(2, 3, 16, 14, generator=g) - 0.1).clamp(0, 1)
    m = torch.rand(2, 1, 16, 14, generator=g)
    k = torch.arange(11, dtype=torch.float64) - 5
    k = torch.exp(-k * k / (2 * 1.5 ** 2))
    k = k / k.sum()
    win = (k[:, None] * k[None, :]).expand(3, 1, 11, 11)

    def ssim(x, y):
        f = lambda t: F.conv2d(t, win, groups=3)
        mx, my = f(x), f(y)
        sxx, syy, sxy = f(x * x) - mx * mx, f(y * y) - my * my, f(x * y) - mx * my
        c1, c2 = 0.01 ** 2, 0.03 ** 2
        s = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
        return s.mean(dim=(1, 2, 3))

    out = {"a": a, "b": b, "mask": m}
    x, y, md = a.double(), b.double(), m.double()
    for region, w in {"all": torch.ones_like(md), "salient": md, "nonsalient": 1 - md}.items():
        d = w * x - w * y
        out[f"l1_{region}"] = d.abs().mean(dim=(1, 2, 3)).float()
        out[f"mse_{region}"] = (d * d).mean(dim=(1, 2, 3)).float()
        out[f"ssim_{region}"] = ssim(w * x, w * y).float()
    save("metrics.safetensors", out)


if __name__ == "__main__":
    conv_goldens()
    norm_goldens()
    resample_goldens()
    adam_goldens()
    grid_sample_goldens()
    pooling_and_pyramid_goldens()
    color_goldens()
    for f in sorted(os.listdir(OUT)):
        if f.endswith(".safetensors"):
            print(f, os.path.getsize(os.path.join(OUT, f)), "bytes")
    metrics_goldens()
