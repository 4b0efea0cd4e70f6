#!/usr/bin/python3
"""Dev-only: writes the PyTorch checkpoint files the native reader's tests read (tests/golden/pytorch/).

Needs PyTorch (Debian's python3-torch); CI never runs this. Regenerate from the repository root with

    build-cpu/anima make-dataset --out /tmp/d16 --size 16 --videos 4 --frames 6 --seed 1
    build-cpu/anima train --config tests/golden/pytorch/tiny-fomm.yaml --data /tmp/d16 --out /tmp/r16 --max-steps 1
    /usr/bin/python3 tests/golden/make_pytorch_goldens.py /tmp/r16/checkpoint.safetensors

The anima checkpoint only supplies the tiny FOMM's state-dict names and shapes; every value here
is drawn from torch's seeded generator. Files:
  nested-zip.pth, nested-legacy.pth   one object in both containers: nested dicts as the official
                                      files hold them, every dtype the reader converts, a
                                      non-contiguous and an offset view, two tensors sharing a storage
  nested-expected.safetensors         what each of those tensors must read as (contiguous)
  tiny-fomm-cpk.pth.tar               the official FOMM layout (generator, kp_detector, discriminator,
                                      optimizer_*, epoch), legacy stream as PyTorch 1.0 wrote it
  tiny-fomm-cpk.zip.pth               the same object in the zip container
  tiny-fomm-expected.safetensors      what tools/convert_fomm_checkpoint.py (the Python converter
                                      this reader replaces; its logic is kept below) wrote for it
  bad-*.pth                           hostile and lying files, each refused with a clear error
"""
import collections
import io
import json
import os
import pickle
import struct
import sys
import zipfile

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pytorch")
torch.manual_seed(0)


def st_dtype(t):
    return {torch.float32: "F32", torch.int64: "I64", torch.int32: "I32", torch.uint8: "U8"}[t.dtype]


def write_safetensors(path, tensors, metadata=None):
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, t in tensors.items():
        t = t.detach().contiguous()
        data = t.numpy().tobytes()
        header[name] = {"dtype": st_dtype(t), "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    out = collections.OrderedDict()
    types = {"F32": torch.float32, "I64": torch.int64}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b, end = e["data_offsets"]
        buf = bytearray(raw[8 + n + b:8 + n + end])
        out[name] = torch.frombuffer(buf, dtype=types[e["dtype"]]).reshape(e["shape"]).clone()
    return out


def save_both(name, obj):
    torch.save(obj, os.path.join(OUT, name + "-zip.pth"))
    torch.save(obj, os.path.join(OUT, name + "-legacy.pth"), _use_new_zipfile_serialization=False)


def nested():
    base = torch.arange(24, dtype=torch.float32) * 0.25 - 3
    shared = torch.randn(10)
    gen = collections.OrderedDict()
    gen["conv.weight"] = torch.randn(4, 3, 3, 3)
    gen["conv.bias"] = torch.randn(4)
    gen["half"] = torch.randn(2, 3).half()
    gen["bfloat16"] = torch.randn(5).bfloat16()
    gen["double"] = torch.randn(3, 2, dtype=torch.float64)
    gen["long"] = torch.tensor([-(2 ** 40), -1, 0, 7, 2 ** 62])
    gen["int32"] = torch.tensor([-5, 0, 2 ** 30], dtype=torch.int32)
    gen["int16"] = torch.tensor([-300, 12], dtype=torch.int16)
    gen["int8"] = torch.tensor([-128, 5, 127], dtype=torch.int8)
    gen["uint8"] = torch.tensor([0, 200, 255], dtype=torch.uint8)
    gen["bool"] = torch.tensor([True, False, True])
    gen["bn.num_batches_tracked"] = torch.tensor(12)
    gen["transposed"] = base.reshape(4, 6).t()               # non-contiguous: strides (1, 6)
    gen["offset_view"] = base[5:17].reshape(3, 4)            # storage offset 5
    gen["strided"] = base.reshape(4, 6)[1::2, ::3]           # offset 6, strides (12, 3)
    gen["shared_a"] = shared[:6]                             # two tensors, one storage
    gen["shared_b"] = shared[4:].reshape(2, 3)
    gen["empty"] = torch.zeros(0, 3)
    gen["scalar"] = torch.tensor(2.5)
    obj = {
        "generator": gen,
        "kp_detector": collections.OrderedDict([("fc.weight", torch.randn(2, 2))]),
        "optimizer_generator": {"state": {0: {"step": 3, "exp_avg": torch.randn(4)}},
                                "param_groups": [{"lr": 2e-4, "betas": (0.5, 0.999), "eps": 1e-8,
                                                  "amsgrad": False, "params": [0]}]},
        "epoch": 99,
        "note": "saved by make_pytorch_goldens.py",
    }
    save_both("nested", obj)
    expected = collections.OrderedDict()
    for k, v in gen.items():
        t = v.contiguous()
        if t.dtype in (torch.float16, torch.bfloat16, torch.float64):
            t = t.float()
        elif t.dtype in (torch.int8, torch.int16):
            t = t.int()
        elif t.dtype == torch.bool:
            t = t.to(torch.uint8)
        expected["generator." + k] = t
    expected["kp_detector.fc.weight"] = obj["kp_detector"]["fc.weight"]
    expected["optimizer_generator.state.0.exp_avg"] = obj["optimizer_generator"]["state"][0]["exp_avg"]
    write_safetensors(os.path.join(OUT, "nested-expected.safetensors"), expected)


def python_converter(ckpt):
    """What tools/convert_fomm_checkpoint.py wrote: '<part>.<name>', floats as float32, ints as int64."""
    tensors = collections.OrderedDict()
    for part in ("generator", "kp_detector", "discriminator"):
        for name, t in ckpt.get(part, {}).items():
            t = t.detach().cpu().contiguous()
            tensors[f"{part}.{name}"] = t.float() if t.is_floating_point() else t.to(torch.int64)
    return tensors


def tiny_fomm(layout_path):
    layout = read_safetensors(layout_path)
    ckpt = {}
    for part in ("generator", "kp_detector", "discriminator"):
        sd = collections.OrderedDict()
        for name, t in layout.items():
            if name.startswith(part + "."):
                key = name[len(part) + 1:]
                sd[key] = torch.randint(0, 50, t.shape) if t.dtype == torch.int64 else torch.randn(t.shape) * 0.1
        sd._metadata = collections.OrderedDict([("", {"version": 1})])  # as Module.state_dict() sets it
        ckpt[part] = sd
        params = list(range(len(sd)))
        ckpt["optimizer_" + part] = {
            "state": {i: {"step": 10, "exp_avg": torch.randn(2), "exp_avg_sq": torch.rand(2)} for i in params[:3]},
            "param_groups": [{"lr": 2e-4, "betas": (0.5, 0.999), "eps": 1e-8, "weight_decay": 0,
                              "amsgrad": False, "initial_lr": 2e-4, "params": params}]}
    ckpt["epoch"] = 7
    torch.save(ckpt, os.path.join(OUT, "tiny-fomm-cpk.pth.tar"), _use_new_zipfile_serialization=False)
    torch.save(ckpt, os.path.join(OUT, "tiny-fomm-cpk.zip.pth"))
    # The converter's own reading of the file, as a user ran it.
    loaded = torch.load(os.path.join(OUT, "tiny-fomm-cpk.pth.tar"), map_location="cpu")
    write_safetensors(os.path.join(OUT, "tiny-fomm-expected.safetensors"), python_converter(loaded))


# ---- hostile files: a legacy stream written by hand (the layout torch.save uses) ----------------

class Evil:
    def __init__(self, fn, arg):
        self.fn, self.arg = fn, arg

    def __reduce__(self):
        return (self.fn, (self.arg,))


def legacy_stream(obj, storages, numel_override=None, pid_override=None):
    """torch's legacy layout: magic, version, sys info, the object with ('storage', ...) persistent
    ids, the storage key list, then per storage an int64 element count and its bytes."""
    f = io.BytesIO()
    pickle.dump(0x1950a86a20f9469cfc6c, f, protocol=2)
    pickle.dump(1001, f, protocol=2)
    pickle.dump({"protocol_version": 1001, "little_endian": True,
                 "type_sizes": {"short": 2, "int": 4, "long": 4}}, f, protocol=2)

    class P(pickle.Pickler):
        def persistent_id(self, o):
            if isinstance(o, torch.storage.TypedStorage):
                key = str(id(o))
                return pid_override(key, o) if pid_override else ("storage", torch.FloatStorage, key, "cpu",
                                                                  o.size(), None)
            return None
    P(f, protocol=2).dump(obj)
    keys = [str(id(s)) for s in storages]
    pickle.dump(keys, f, protocol=2)
    for s in storages:
        data = torch.tensor([], dtype=torch.float32).set_(s).numpy().tobytes()
        n = numel_override if numel_override is not None else s.size()
        f.write(struct.pack("<q", n) + data)
    return f.getvalue()


def tensor_reduce(t):
    return (torch._utils._rebuild_tensor_v2, (t.storage(), t.storage_offset(), tuple(t.size()), t.stride(), False,
                                              collections.OrderedDict()))


class T:
    """A tensor placeholder pickled as _rebuild_tensor_v2 with chosen (possibly lying) fields."""
    def __init__(self, storage, offset, size, stride):
        self.s, self.o, self.size, self.stride = storage, offset, size, stride

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2, (self.s, self.o, self.size, self.stride, False,
                                                  collections.OrderedDict()))


def bad_files():
    s = torch.arange(6, dtype=torch.float32).storage()
    good = {"w": T(s, 0, (2, 3), (3, 1))}
    write = lambda name, data: open(os.path.join(OUT, name), "wb").write(data)
    write("bad-os-system.pth", legacy_stream({"w": Evil(os.system, "echo anima-pwned > /tmp/anima-pwned")}, []))
    write("bad-eval.pth", legacy_stream({"w": Evil(eval, "__import__('os').system('true')")}, []))
    write("bad-storage-past-file.pth", legacy_stream(good, [s], numel_override=1 << 30))
    write("bad-view-past-storage.pth", legacy_stream({"w": T(s, 4, (2, 3), (3, 1))}, [s]))
    write("bad-negative-size.pth", legacy_stream({"w": T(s, 0, (-2, 3), (3, 1))}, [s]))
    write("bad-overflow-size.pth", legacy_stream({"w": T(s, 0, (2 ** 62, 2 ** 62), (1, 1))}, [s]))
    write("bad-overflow-stride.pth", legacy_stream({"w": T(s, 0, (2, 3), (2 ** 62, 1))}, [s]))
    write("bad-negative-numel.pth", legacy_stream(good, [s], pid_override=lambda k, o: (
        "storage", torch.FloatStorage, k, "cpu", -1, None)))
    write("bad-unknown-storage-type.pth", legacy_stream(good, [s], pid_override=lambda k, o: (
        "storage", torch.nn.Module, k, "cpu", 6, None)))
    ok = legacy_stream(good, [s])
    assert torch.load(io.BytesIO(ok))["w"].tolist() == [[0, 1, 2], [3, 4, 5]]  # the hand-written layout is torch's
    write("good-hand-written.pth", ok)
    # An unknown opcode (pickle protocol 0's INT) where the object pickle starts.
    write("bad-opcode.pth", ok[:ok.rfind(b"\x80\x02}")] + b"\x80\x02I5\n.")
    # A zip whose data.pkl calls builtins.eval (protocol 4: STACK_GLOBAL).
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", pickle.dumps({"w": Evil(eval, "1+1")}, protocol=4))
        z.writestr("archive/version", "3\n")
    write("bad-eval-zip.pth", buf.getvalue())


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    os.makedirs(OUT, exist_ok=True)
    nested()
    tiny_fomm(sys.argv[1])
    bad_files()
    for n in sorted(os.listdir(OUT)):
        print(f"{n}: {os.path.getsize(os.path.join(OUT, n))} bytes")
