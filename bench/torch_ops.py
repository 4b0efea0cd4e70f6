#!/usr/bin/env python3
"""PyTorch at the shapes of `anima bench ops` and `anima bench kernels`, for a side-by-side table.

A dev script (PyTorch from PyPI, CPU or CUDA); never a build or CI dependency of anima. Each entry
has the name, shape and work of the anima entry of the same name (tools/bench.cpp), written with
PyTorch's own ops the way the official First Order Motion Model code uses them; an anima entry with
no PyTorch counterpart (P_train, P_test, the PriorityCut mask, anima's colour jitter, the masked
SSIM) is left out and shows as such in the comparison. Timing: one warm-up call, then the median
of --repeats calls, each timed with CUDA events on the GPU (time.perf_counter on the CPU), as anima
does. Defaults as PyTorch's: TF32 convolutions on, strict FP32 matmul.

  python3 bench/torch_ops.py --device cuda --batch 16 --csv torch.csv
  python3 bench/compare_bench.py anima.csv torch.csv
"""
import argparse
import csv
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F


def timed(fn, repeats, device):
    fn()
    if device == "cuda":
        torch.cuda.synchronize()
    ms = []
    for _ in range(repeats):
        if device == "cuda":
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            fn()
            b.record()
            b.synchronize()
            ms.append(a.elapsed_time(b))
        else:
            t0 = time.perf_counter()
            fn()
            ms.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(ms), min(ms), max(ms)


def shape_str(*dims):
    return "[" + ", ".join(str(d) for d in dims) + "]"


def uniform(shape, lo, hi, dev, grad=False):
    t = torch.empty(shape, device=dev).uniform_(lo, hi)
    return t.requires_grad_(grad)


def fwd_bwd(f):
    def run():
        y = f()
        y.backward(y.detach())
    return run


def op_entries(dev, n):
    e = []
    act = (n, 64, 128, 128)
    a, b = uniform(act, -1, 1, dev), uniform(act, -1, 1, dev)
    bias = uniform((1, 64, 1, 1), -1, 1, dev)
    ag = uniform(act, -1, 1, dev, True)
    s = shape_str(*act)
    e.append(("add (same shape)", s, lambda: a + b))
    e.append(("add (channel bias broadcast)", s, lambda: a + bias))
    e.append(("mul", s, lambda: a * b))
    e.append(("exp", s, lambda: torch.exp(a)))
    e.append(("sigmoid fwd+bwd", s, fwd_bwd(lambda: torch.sigmoid(ag))))
    e.append(("relu fwd+bwd", s, fwd_bwd(lambda: F.relu(ag))))
    e.append(("sum over N,H,W (bias grad)", s, lambda: a.sum((0, 2, 3))))
    e.append(("sum over H,W", s, lambda: a.sum((2, 3))))
    e.append(("sum all", s, lambda: a.sum()))
    e.append(("amax over C", s, lambda: a.amax(1)))
    e.append(("permute NCHW->NHWC", s, lambda: a.permute(0, 2, 3, 1).contiguous()))
    e.append(("concat channels", s, lambda: torch.cat([a, b], 1)))
    # a copy, as anima's slice (at batch 1 the view alone would already be contiguous)
    e.append(("slice (half the channels)", s, lambda: a[:, :32].clone(memory_format=torch.contiguous_format)))
    e.append(("randn fill", s, lambda: a.normal_()))
    m = uniform((n, 11, 64, 64), -1, 1, dev, True)
    e.append(("softmax over C fwd+bwd", shape_str(n, 11, 64, 64), fwd_bwd(lambda: F.softmax(m, 1))))
    h = uniform((n, 10, 58 * 58), -1, 1, dev, True)
    e.append(("softmax over H*W fwd+bwd", shape_str(n, 10, 58 * 58), fwd_bwd(lambda: F.softmax(h, 2))))
    rows = 256 * n
    x, w = uniform((rows, 1024), -1, 1, dev, True), uniform((1024, 1024), -1, 1, dev, True)
    e.append(("matmul x W^T fwd+bwd", shape_str(rows, 1024) + "x" + shape_str(1024, 1024),
              fwd_bwd(lambda: x @ w.t())))
    w3, b3 = uniform((64, 64, 3, 3), -1, 1, dev, True), uniform((64,), -1, 1, dev, True)

    def conv_fwd():
        with torch.no_grad():
            return F.conv2d(ag, w3, b3, padding=1)
    e.append(("conv2d 3x3 64->64 fwd", s, conv_fwd))
    e.append(("conv2d 3x3 64->64 fwd+bwd", s, fwd_bwd(lambda: F.conv2d(ag, w3, b3, padding=1))))
    img = uniform((n, 3, 256, 256), -1, 1, dev, True)
    w7 = uniform((64, 3, 7, 7), -1, 1, dev, True)
    e.append(("conv2d 7x7 3->64 fwd+bwd", shape_str(n, 3, 256, 256), fwd_bwd(lambda: F.conv2d(img, w7, padding=3))))
    w7o, b7o = uniform((3, 64, 7, 7), -1, 1, dev, True), uniform((3,), -1, 1, dev, True)
    e.append(("conv2d 7x7 64->3 fwd+bwd", s, fwd_bwd(lambda: F.conv2d(ag, w7o, b7o, padding=3))))
    bn_w, bn_b = uniform((64,), -1, 1, dev, True), uniform((64,), -1, 1, dev, True)
    rm, rv = torch.zeros(64, device=dev), torch.ones(64, device=dev)
    e.append(("batch_norm train fwd+bwd", s, fwd_bwd(lambda: F.batch_norm(ag, rm, rv, bn_w, bn_b, training=True))))
    e.append(("interpolate bilinear x2 fwd+bwd", s,
              fwd_bwd(lambda: F.interpolate(ag, scale_factor=2.0, mode="bilinear", align_corners=False))))
    e.append(("avg_pool2d 2x2 fwd+bwd", s, fwd_bwd(lambda: F.avg_pool2d(ag, 2))))
    params = uniform((14215368,), -1, 1, dev, True)
    params.grad = uniform((14215368,), -1, 1, dev)
    # The fused implementation (one kernel for all of Adam) where this PyTorch has it.
    try:
        adam = torch.optim.Adam([params], lr=2e-4, betas=(0.5, 0.999), fused=True)
        adam_name = "fused"
    except (RuntimeError, TypeError):
        adam = torch.optim.Adam([params], lr=2e-4, betas=(0.5, 0.999))
        adam_name = "default"
    e.append(("adam step (14.2M params)", shape_str(14215368), adam.step))
    return e, {"adam": adam_name}


def coordinate_grid(h, w, dev):
    # FOMM's make_coordinate_grid: x and y in [-1, 1], last dim (x, y)
    x = 2 * (torch.arange(w, device=dev, dtype=torch.float32) / (w - 1)) - 1
    y = 2 * (torch.arange(h, device=dev, dtype=torch.float32) / (h - 1)) - 1
    return torch.cat([x.view(1, -1, 1).repeat(h, 1, 1), y.view(-1, 1, 1).repeat(1, w, 1)], 2)


def kp2gaussian(kp, h, w, variance):
    # FOMM's kp2gaussian: exp(-0.5 |grid - kp|^2 / variance), [N, K, H, W]
    grid = coordinate_grid(h, w, kp.device).view(1, 1, h, w, 2)
    d = grid - kp.view(kp.shape[0], kp.shape[1], 1, 1, 2)
    return torch.exp(-0.5 * (d ** 2).sum(-1) / variance)


def heatmap_to_keypoints(pred, temperature):
    # FOMM's KPDetector: spatial softmax, then the expected coordinate
    n, k, h, w = pred.shape
    heat = F.softmax(pred.view(n, k, -1) / temperature, 2).view(n, k, h, w, 1)
    return (heat * coordinate_grid(h, w, pred.device).view(1, 1, h, w, 2)).sum((2, 3))


class AntiAlias(torch.nn.Module):
    # FOMM's AntiAliasInterpolation2d: a depthwise Gaussian blur, then every (1/scale)-th pixel
    def __init__(self, channels, scale):
        super().__init__()
        sigma = (1 / scale - 1) / 2
        k = 2 * round(sigma * 4) + 1
        mean = (k - 1) / 2
        g = torch.exp(-(torch.arange(k, dtype=torch.float32) - mean) ** 2 / (2 * sigma ** 2))
        kernel = g.view(-1, 1) * g.view(1, -1)
        kernel = kernel / kernel.sum()
        self.register_buffer("weight", kernel.view(1, 1, k, k).repeat(channels, 1, 1, 1))
        self.pad, self.step, self.groups = k // 2, int(1 / scale), channels

    def forward(self, x):
        out = F.conv2d(F.pad(x, (self.pad,) * 4), self.weight, groups=self.groups)
        return out[:, :, ::self.step, ::self.step]


class Pyramid(torch.nn.Module):
    def __init__(self, scales, channels):
        super().__init__()
        self.scales = scales
        self.downs = torch.nn.ModuleList([AntiAlias(channels, s) for s in scales if s != 1])

    def forward(self, x):
        outs, i = [], 0
        for s in self.scales:
            if s == 1:
                outs.append(x)
            else:
                outs.append(self.downs[i](x))
                i += 1
        return outs


class Vgg19Slices(torch.nn.Module):
    # FOMM's Vgg19: torchvision's features cut after relu1_1, relu2_1, relu3_1, relu4_1, relu5_1,
    # with ImageNet normalisation; random weights here (as anima's benchmark).
    def __init__(self):
        super().__init__()
        try:
            import torchvision
            features = torchvision.models.vgg19(weights=None).features
        except Exception:  # torchvision absent: the same layers by hand
            cfg = [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512]
            layers, c = [], 3
            for v in cfg:
                if v == "M":
                    layers.append(torch.nn.MaxPool2d(2, 2))
                else:
                    layers += [torch.nn.Conv2d(c, v, 3, padding=1), torch.nn.ReLU(inplace=True)]
                    c = v
            features = torch.nn.Sequential(*layers)
        cuts = [(0, 2), (2, 7), (7, 12), (12, 21), (21, 30)]
        self.slices = torch.nn.ModuleList([torch.nn.Sequential(*[features[i] for i in range(a, b)]) for a, b in cuts])
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))
        for p in self.parameters():
            p.requires_grad_(False)

    def forward(self, x):
        h, outs = (x - self.mean) / self.std, []
        for s in self.slices:
            h = s(h)
            outs.append(h)
        return outs


def ssim_per_image(a, b):
    # SSIM with an 11-tap Gaussian window (sigma 1.5), per image: the mean of the SSIM map
    g = torch.exp(-(torch.arange(11, dtype=torch.float32, device=a.device) - 5) ** 2 / (2 * 1.5 ** 2))
    g = g / g.sum()
    c = a.shape[1]
    wx, wy = g.view(1, 1, 1, 11).repeat(c, 1, 1, 1), g.view(1, 1, 11, 1).repeat(c, 1, 1, 1)

    def blur(x):
        return F.conv2d(F.conv2d(x, wx, groups=c), wy, groups=c)
    mu_a, mu_b = blur(a), blur(b)
    saa, sbb, sab = blur(a * a) - mu_a ** 2, blur(b * b) - mu_b ** 2, blur(a * b) - mu_a * mu_b
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    m = ((2 * mu_a * mu_b + c1) * (2 * sab + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (saa + sbb + c2))
    return m.mean((1, 2, 3))


def kernel_entries(dev, n):
    e = []
    img = (n, 3, 256, 256)
    x = uniform(img, 0, 1, dev, True)
    grid = uniform((n, 256, 256, 2), -1, 1, dev, True)
    f = uniform((n, 256, 64, 64), -1, 1, dev, True)
    fgrid = uniform((n, 64, 64, 2), -1, 1, dev, True)
    s = shape_str(*img)

    def gs_fwd():
        with torch.no_grad():
            return F.grid_sample(x, grid, align_corners=False)
    e.append(("grid_sample image fwd", s, gs_fwd))
    e.append(("grid_sample image fwd+bwd", s, fwd_bwd(lambda: F.grid_sample(x, grid, align_corners=False))))
    e.append(("grid_sample features fwd+bwd", shape_str(n, 256, 64, 64),
              fwd_bwd(lambda: F.grid_sample(f, fgrid, align_corners=False))))
    kp = uniform((n, 10, 2), -1, 1, dev, True)
    e.append(("kp2gaussian 10 kp @64x64 fwd+bwd", shape_str(n, 10, 64, 64), fwd_bwd(lambda: kp2gaussian(kp, 64, 64, 0.01))))
    pred = uniform((n, 10, 58, 58), -1, 1, dev, True)
    e.append(("heatmap->keypoints fwd+bwd", shape_str(n, 10, 58, 58), fwd_bwd(lambda: heatmap_to_keypoints(pred, 0.1))))
    pyramid = Pyramid([1, 0.5, 0.25, 0.125], 3).to(dev)

    def pyr():
        with torch.no_grad():
            return pyramid(x)
    e.append(("anti-alias pyramid (4 scales)", s, pyr))
    vgg = Vgg19Slices().to(dev)
    real = uniform(img, 0, 1, dev)

    def perceptual():
        loss = 0
        for xs, rs in zip(pyramid(x), pyramid(real)):
            for fx, fr in zip(vgg(xs), vgg(rs)):
                loss = loss + 10 * (fx - fr.detach()).abs().mean()
        loss.backward()
    e.append(("perceptual loss fwd+bwd", s, perceptual))
    masks = (n, 1, 64, 64)
    lam = torch.full(masks, 20.0, device=dev)
    e.append(("poisson lambda=20", shape_str(*masks), lambda: torch.poisson(lam)))
    mm = uniform(masks, 0, 1, dev)
    e.append(("per-sample median", shape_str(*masks), lambda: mm.view(n, -1).median(1)))

    def box_mask():
        # CutMix: one box per sample, area ~ U(0, 1) (Beta(1, 1)), centre uniform
        h = w = 256
        lam_ = torch.rand(n, device=dev)
        cut = torch.sqrt(1 - lam_)
        bh, bw = (cut * h).long(), (cut * w).long()
        cy, cx = torch.randint(0, h, (n,), device=dev), torch.randint(0, w, (n,), device=dev)
        ys = torch.arange(h, device=dev).view(1, h, 1)
        xs = torch.arange(w, device=dev).view(1, 1, w)
        y0, y1 = (cy - bh // 2).clamp(0, h).view(n, 1, 1), (cy + bh // 2).clamp(0, h).view(n, 1, 1)
        x0, x1 = (cx - bw // 2).clamp(0, w).view(n, 1, 1), (cx + bw // 2).clamp(0, w).view(n, 1, 1)
        return ((ys >= y0) & (ys < y1) & (xs >= x0) & (xs < x1)).float().view(n, 1, h, w)
    e.append(("CutMix box mask", shape_str(n, 1, 256, 256), box_mask))
    gen_img = uniform(img, 0, 1, dev)
    e.append(("metrics: L1 + MSE per image", s,
              lambda: ((gen_img - real).abs().mean((1, 2, 3)), ((gen_img - real) ** 2).mean((1, 2, 3)))))
    e.append(("metrics: SSIM per image", s, lambda: ssim_per_image(gen_img, real)))
    mp = uniform((n, 64, 256, 256), -1, 1, dev, True)
    e.append(("max_pool2d 2x2 fwd+bwd", shape_str(n, 64, 256, 256), fwd_bwd(lambda: F.max_pool2d(mp, 2))))
    return e, {}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cuda", choices=["cpu", "cuda"])
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--suite", default="all", choices=["ops", "kernels", "all"])
    p.add_argument("--filter", default="", help="only entries whose name contains this")
    p.add_argument("--csv", default="", help="write one row per entry to this file")
    a = p.parse_args()
    if a.device == "cuda" and not torch.cuda.is_available():
        sys.exit("torch_ops: --device cuda but torch sees no GPU")
    torch.manual_seed(0)
    dev = a.device
    where = torch.cuda.get_device_name(0) if dev == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"torch_ops: PyTorch {torch.__version__}, cuDNN {torch.backends.cudnn.version()}, {where}; "
          f"TF32 conv {torch.backends.cudnn.allow_tf32}, TF32 matmul {torch.backends.cuda.matmul.allow_tf32}; "
          f"batch {a.batch}; median of {a.repeats} after a warm-up")
    rows = []
    suites = ["ops", "kernels"] if a.suite == "all" else [a.suite]
    for suite in suites:
        entries, notes = (op_entries if suite == "ops" else kernel_entries)(dev, a.batch)
        if notes:
            print(f"  {suite}: " + ", ".join(f"{k}: {v}" for k, v in notes.items()))
        for name, shape, fn in entries:
            if a.filter and a.filter not in name:
                continue
            med, lo, hi = timed(fn, a.repeats, dev)
            print(f"{name:34s} {shape:26s} {med:10.3f} ms  (fastest {lo:.3f}, slowest {hi:.3f})")
            rows.append([suite, dev, a.batch, name, shape, f"{med:.6g}", f"{lo:.6g}", f"{hi:.6g}", "", ""])
        del entries
        if dev == "cuda":
            torch.cuda.empty_cache()
    if a.csv:
        fresh = not os.path.exists(a.csv)
        with open(a.csv, "a", newline="") as f:
            w = csv.writer(f, quoting=csv.QUOTE_MINIMAL)
            if fresh:
                w.writerow(["suite", "device", "batch", "op", "shape", "ms_median", "ms_min", "ms_max", "gb_per_s", "gflop_per_s"])
            w.writerows(rows)


if __name__ == "__main__":
    main()
