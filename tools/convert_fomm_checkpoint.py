#!/usr/bin/env python3
"""Converts an official First Order Motion Model checkpoint (.pth.tar) into an anima checkpoint.

User-side tool: needs PyTorch (any version that reads the file); not used by the build or CI.

    python3 tools/convert_fomm_checkpoint.py vox-cpk.pth.tar vox-cpk.safetensors --config config/vox-256.yaml

The official file is a dict with 'generator', 'kp_detector' and, in the adversarial checkpoints,
'discriminator' state dicts. Their tensors are written as "<part>.<official name>" (the names our
modules use), float32 / int64, with the config text in the metadata so that `anima animate
--checkpoint FILE` needs nothing else. Optimiser states are not converted.
"""
import argparse
import json
import struct

import torch


def write_safetensors(path, tensors, metadata):
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name in sorted(tensors, key=lambda n: -tensors[n].element_size()):
        t = tensors[name].detach().cpu().contiguous()
        if t.is_floating_point():
            t, dtype = t.float(), "F32"
        elif t.dtype == torch.int64:
            dtype = "I64"
        else:
            t, dtype = t.to(torch.int64), "I64"
        data = t.numpy().tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint")
    p.add_argument("output")
    p.add_argument("--config", help="the YAML config the checkpoint was trained with (stored in the metadata)")
    a = p.parse_args()
    ckpt = torch.load(a.checkpoint, map_location="cpu")
    tensors = {}
    for part in ("generator", "kp_detector", "discriminator"):
        if part in ckpt:
            for name, t in ckpt[part].items():
                tensors[f"{part}.{name}"] = t
    if not tensors:
        raise SystemExit(f"{a.checkpoint}: no 'generator' / 'kp_detector' / 'discriminator' state dicts found")
    metadata = {"format": "anima-checkpoint-1", "model": "fomm", "converted_from": a.checkpoint,
                "epoch": str(ckpt.get("epoch", 0)), "step": "0"}
    if a.config:
        with open(a.config) as f:
            metadata["config"] = f.read()
    write_safetensors(a.output, tensors, metadata)
    print(f"{a.output}: {len(tensors)} tensors")


if __name__ == "__main__":
    main()
