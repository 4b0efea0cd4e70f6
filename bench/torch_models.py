#!/usr/bin/env python3
"""The official First Order Motion Model code, timed the way `anima bench model` times anima.

A dev script (PyTorch from PyPI, CPU or CUDA); never a build or CI dependency of anima. It runs the
official code itself (github.com/AliaksandrSiarohin/first-order-model, a checkout given with
--fomm; nothing of it is in this repository), so the PyTorch column is the official model, not a
re-implementation:

  training step: GeneratorFullModel forward (keypoints of source and driving, the generator, the
    VGG-19 pyramid perceptual loss, both equivariance losses), backward, and the generator's and
    keypoint detector's Adam steps, as train.py does them (with a discriminator step too when the
    config's generator_gan weight is not 0).
  animation: per driving frame, the keypoint detector on the frame and the generator with the
    source's keypoints (computed once, outside the timing), as reconstruction.py does; anima's
    bench times its reconstruct() the same way.

The VGG-19 has random weights (torchvision's ImageNet download is not reachable; the time does
not depend on the values): a stand-in `torchvision.models.vgg19` with VGG-19's layer list is
installed before the official code is imported. Inputs are uniform random frames of the config's
size. Timing: one warm-up, then the median of --steps runs with time.perf_counter (CUDA: after a
synchronize), as anima does.

  python3 bench/torch_models.py --fomm ../first-order-model --config configs/vox-256.yaml \
      --batch 1 --steps 3 --threads 2
"""
import argparse
import os
import resource
import statistics
import sys
import time
import types


def vgg19_standin(torch):
    """A torchvision-shaped vgg19() whose .features has VGG-19's 37 layers (random weights)."""
    nn = torch.nn
    layers, cin = [], 3
    for v in [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
              512, 512, 512, 512, "M"]:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers += [nn.Conv2d(cin, v, kernel_size=3, padding=1), nn.ReLU(inplace=True)]
            cin = v

    def vgg19(pretrained=False, **kwargs):
        return types.SimpleNamespace(features=nn.Sequential(*layers))

    tv = types.ModuleType("torchvision")
    tv.models = types.SimpleNamespace(vgg19=vgg19)
    sys.modules["torchvision"] = tv


def timed(fn, steps, sync):
    fn()
    sync()
    ms = []
    for _ in range(steps):
        t0 = time.perf_counter()
        fn()
        sync()
        ms.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(ms), min(ms), max(ms)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fomm", required=True, help="a checkout of the official first-order-model code")
    ap.add_argument("--config", required=True, help="an anima FOMM config (its model_params and train_params "
                    "are the official config's keys)")
    ap.add_argument("--batch", type=int, default=0, help="batch size (default: the config's)")
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--anim-batch", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (default: PyTorch's)")
    ap.add_argument("--skip-train", action="store_true")
    a = ap.parse_args()

    import torch
    import yaml
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    vgg19_standin(torch)
    sys.path.insert(0, os.path.abspath(a.fomm))
    from modules.generator import OcclusionAwareGenerator
    from modules.keypoint_detector import KPDetector
    from modules.discriminator import MultiScaleDiscriminator
    from modules.model import GeneratorFullModel, DiscriminatorFullModel

    with open(a.config) as f:
        cfg = yaml.safe_load(f)
    mp, tp = cfg["model_params"], cfg["train_params"]
    h, w = cfg["dataset_params"]["frame_shape"][:2]
    b = a.batch or tp["batch_size"]
    dev = torch.device(a.device)
    sync = (lambda: torch.cuda.synchronize()) if dev.type == "cuda" else (lambda: None)
    torch.manual_seed(0)
    generator = OcclusionAwareGenerator(**mp["generator_params"], **mp["common_params"]).to(dev)
    kp_detector = KPDetector(**mp["kp_detector_params"], **mp["common_params"]).to(dev)
    discriminator = MultiScaleDiscriminator(**mp["discriminator_params"], **mp["common_params"]).to(dev)
    with_gan = tp["loss_weights"]["generator_gan"] != 0
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {dev}; official FOMM code "
          f"({os.path.abspath(a.fomm)}); config {a.config}; batch {b} at {h}x{w}"
          f"{'; with the discriminator step' if with_gan else ''}")

    if not a.skip_train:
        gen_full = GeneratorFullModel(kp_detector, generator, discriminator, tp).to(dev)
        disc_full = DiscriminatorFullModel(kp_detector, generator, discriminator, tp).to(dev)
        opt_g = torch.optim.Adam(generator.parameters(), lr=tp["lr_generator"], betas=(0.5, 0.999))
        opt_k = torch.optim.Adam(kp_detector.parameters(), lr=tp["lr_kp_detector"], betas=(0.5, 0.999))
        opt_d = torch.optim.Adam(discriminator.parameters(), lr=tp["lr_discriminator"], betas=(0.5, 0.999))
        x = {"source": torch.rand(b, 3, h, w, device=dev), "driving": torch.rand(b, 3, h, w, device=dev)}

        def step():  # train.py's loop body
            losses, generated = gen_full(x)
            loss = sum(v.mean() for v in losses.values())
            loss.backward()
            opt_g.step()
            opt_g.zero_grad()
            opt_k.step()
            opt_k.zero_grad()
            if with_gan:
                opt_d.zero_grad()
                ld = disc_full(x, generated)
                sum(v.mean() for v in ld.values()).backward()
                opt_d.step()
                opt_d.zero_grad()

        med, lo, hi = timed(step, a.steps, sync)
        print(f"training step: {med:.1f} ms (median of {a.steps} after a warm-up; fastest {lo:.1f}, "
              f"slowest {hi:.1f}), peak RSS so far {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")

    generator.eval()
    kp_detector.eval()
    ab = a.anim_batch
    with torch.no_grad():
        source = torch.rand(ab, 3, h, w, device=dev)
        driving = torch.rand(ab, 3, h, w, device=dev)
        kp_source = kp_detector(source)

        def animate():  # reconstruction.py's per-frame body, as anima's bench times reconstruct()
            kp_driving = kp_detector(driving)
            return generator(source, kp_source=kp_source, kp_driving=kp_driving)["prediction"]

        med, lo, hi = timed(animate, a.steps, sync)
    print(f"animation: {ab / (med * 1e-3):.2f} frames/s (batch {ab}, {med:.2f} ms per batch, fastest {lo:.2f}, "
          f"slowest {hi:.2f})")


if __name__ == "__main__":
    main()
