#!/usr/bin/env python3
"""Write a real-size Stable Diffusion checkpoint with random weights.

usage: mkckpt.py SHAPES.json OUT.safetensors

SHAPES.json lists [key, shape, dtype] rows of a real checkpoint in the
original single-file layout (shared/fixtures/real-shapes). Weights are
random normal scaled by 1/sqrt(fan_in) so activations stay finite in fp16;
norm weights are 1, biases 0; the schedule buffers hold SD's real values.
The picture such a model makes means nothing: this is for load, speed and
memory measurements. Needs only PyTorch.
"""
import json
import struct
import sys

import torch


def values(key, shape, dtype, gen):
    if key in ("betas", "alphas_cumprod", "alphas_cumprod_prev"):
        betas = torch.linspace(0.00085 ** 0.5, 0.012 ** 0.5, 1000, dtype=torch.float64) ** 2
        ac = torch.cumprod(1 - betas, 0)
        v = {"betas": betas, "alphas_cumprod": ac,
             "alphas_cumprod_prev": torch.cat([torch.ones(1, dtype=torch.float64), ac[:-1]])}[key]
        return v.float()
    if dtype == "I64":
        n = 1
        for d in shape:
            n *= d
        return torch.arange(n, dtype=torch.int64).reshape(shape)
    last = key.rsplit(".", 1)[-1]
    is_norm = any(p in key for p in ("norm", "ln_", "layer_norm")) and last == "weight"
    if is_norm:
        return torch.ones(shape, dtype=torch.float16)
    if last == "bias" or len(shape) == 0:
        return torch.zeros(shape, dtype=torch.float16)
    fan_in = 1
    for d in shape[1:]:
        fan_in *= d
    if len(shape) == 1:
        fan_in = shape[0]
    t = torch.randn(shape, generator=gen, device="cuda", dtype=torch.float16)
    return (t * (1.0 / max(fan_in, 1) ** 0.5)).cpu()


def main():
    rows = json.load(open(sys.argv[1]))["tensors"]
    gen = torch.Generator(device="cuda").manual_seed(0)
    header, blobs, off = {}, [], 0
    for key, shape, dtype in rows:
        t = values(key, shape, dtype, gen).contiguous()
        b = t.view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[key] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(sys.argv[2], "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


if __name__ == "__main__":
    main()
