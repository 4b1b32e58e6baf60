"""Writes the pickle test archives without PyTorch installed.

Fake `torch`, `pytorch_lightning` and `numpy` modules stand in for the real
ones: the pickler only records module and class names, so the archives have
the byte structure torch.save (protocol 2) gives a CompVis/Lightning
checkpoint. Run from this folder: python3 gen.py
"""
import collections
import io
import pickle
import struct
import sys
import types
import zipfile


def module(name):
    m = types.ModuleType(name)
    sys.modules[name] = m
    return m


torch = module("torch")
tutils = module("torch._utils")
torch._utils = tutils


class _Storage:
    def __init__(self, key, data, numel):
        self.key, self.data, self.numel = key, data, numel


for _n in ["FloatStorage", "HalfStorage", "LongStorage", "BFloat16Storage"]:
    setattr(torch, _n, type(_n, (), {"__module__": "torch"}))


def _rebuild_tensor_v2(*a):
    raise NotImplementedError


_rebuild_tensor_v2.__module__ = "torch._utils"
tutils._rebuild_tensor_v2 = _rebuild_tensor_v2


class Tensor:
    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, tuple(size), tuple(stride))

    def __reduce_ex__(self, proto):
        return (_rebuild_tensor_v2, self.args + (False, collections.OrderedDict()))


for m in ["pytorch_lightning", "pytorch_lightning.callbacks", "pytorch_lightning.callbacks.model_checkpoint"]:
    module(m)


class ModelCheckpoint:
    pass


ModelCheckpoint.__module__ = "pytorch_lightning.callbacks.model_checkpoint"
sys.modules["pytorch_lightning.callbacks.model_checkpoint"].ModelCheckpoint = ModelCheckpoint

for m in ["numpy", "numpy.core", "numpy.core.multiarray"]:
    module(m)


class dtype:
    def __init__(self, s):
        self.s = s

    def __reduce__(self):
        return (dtype, (self.s, False, True), (3, "<", None, None, None, -1, -1, 0))


dtype.__module__ = "numpy"
sys.modules["numpy"].dtype = dtype


def scalar(*a):
    raise NotImplementedError


scalar.__module__ = "numpy.core.multiarray"
sys.modules["numpy.core.multiarray"].scalar = scalar


class NumpyInt:
    def __init__(self, v):
        self.v = v

    def __reduce__(self):
        return (scalar, (dtype("i8"), struct.pack("<q", self.v)))


def save(path, obj, storages):
    buf = io.BytesIO()

    class P(pickle.Pickler):
        def persistent_id(self, o):
            if isinstance(o, _Storage):
                return ("storage", o.cls, o.key, "cpu", o.numel)
            return None

    P(buf, protocol=2).dump(obj)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", buf.getvalue())
        z.writestr("archive/byteorder", "little")
        for s in storages:
            z.writestr("archive/data/" + s.key, s.data)
        z.writestr("archive/version", "3\n")


def storage(cls, key, fmt, values):
    s = _Storage(key, struct.pack("<" + fmt * len(values), *values), len(values))
    s.cls = cls
    return s


# lightning.ckpt: a CompVis-style checkpoint with Lightning and numpy objects.
w = storage(torch.FloatStorage, "0", "f", [1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
h = storage(torch.HalfStorage, "1", "e", [0.5, -1.0, 2.0])
sd = collections.OrderedDict()
sd["model.diffusion_model.w"] = Tensor(w, 0, [2, 3], [3, 1])
sd["model.diffusion_model.w_tail"] = Tensor(w, 4, [2], [1])  # a view at an offset
sd["model.diffusion_model.h"] = Tensor(h, 0, [3], [1])
sd["model.diffusion_model.wT"] = Tensor(w, 0, [3, 2], [1, 3])  # transposed: not contiguous
sd._metadata = collections.OrderedDict([("", {"version": 1})])
mc = ModelCheckpoint()
mc.__dict__.update({"monitor": None, "best_model_score": None, "dirpath": "/logs/ckpt", "save_top_k": -1})
obj = {
    "epoch": 6,
    "global_step": NumpyInt(470000),
    "pytorch-lightning_version": "1.4.2",
    "state_dict": sd,
    "callbacks": {ModelCheckpoint: mc},
    "optimizer_states": [],
    "lr_schedulers": [],
}
save("lightning.ckpt", obj, [w, h])

# flat.pt: a bare state dict at the top level (what many .pt/.pth files are).
b = storage(torch.BFloat16Storage, "0", "H", [0x3F80, 0xC040])
l = storage(torch.LongStorage, "1", "q", [0, 1, 2])
save("flat.pt", collections.OrderedDict([("a.bf16", Tensor(b, 0, [2], [1])), ("b.i64", Tensor(l, 0, [1, 3], [3, 1]))]), [b, l])
