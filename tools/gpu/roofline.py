"""Where a compiled XLA program's GPU time goes, against the card's bounds.

Reads the optimized HLO text XLA dumped (…after_optimizations.txt) and the
kernel times hloprof.py wrote (/tmp/prof_kernels.tsv: microseconds per call,
launches per call, kernel name), and prints per kind of work: the time,
the useful work (FLOPs for convolutions, matrix products and attention; bytes
moved for XLA's own fusions) and the rate reached, with the time the same
work would take at the rates given (defaults: an H100 SXM's dense f16 tensor
rate and HBM3 bandwidth). Runs anywhere with Python 3, no GPU needed.

usage: python3 roofline.py OPT_HLO.txt KERNELS.tsv [--tflops 989] [--tbs 3.35]
"""
import argparse
import collections
import re

p = argparse.ArgumentParser()
p.add_argument("hlo")
p.add_argument("kernels")
p.add_argument("--tflops", type=float, default=989.0, help="dense f16 tensor TFLOP/s")
p.add_argument("--tbs", type=float, default=3.35, help="memory bandwidth, TB/s")
a = p.parse_args()

BYTES = {"f16": 2, "bf16": 2, "f32": 4, "s32": 4, "u32": 4, "s8": 1, "u8": 1, "pred": 1, "s64": 8, "f64": 8}
ARRAY = re.compile(r"(\w+)\[([0-9,]*)\]")


def arrays(text):
    """The (dtype, dims) of every array type written in text."""
    out = []
    for m in ARRAY.finditer(text):
        if m.group(1) in BYTES:
            out.append((m.group(1), [int(d) for d in m.group(2).split(",") if d]))
    return out


def numel(dims):
    n = 1
    for d in dims:
        n *= d
    return n


def nbytes(arrs):
    return sum(BYTES[t] * numel(d) for t, d in arrs)


text = open(a.hlo).read()
entry = text[text.index("\nENTRY "):]
header, body = entry.split("{\n", 1)
shapes = {}  # instruction name -> the arrays it gives (a tuple's elements)
for m in re.finditer(r"(Arg_[\w.]+): (\w+\[[0-9,]*\])", header):
    shapes[m.group(1)] = arrays(m.group(2))
INST = re.compile(r"^\s*(?:ROOT )?%([\w.\-]+) = (.*?) (\w[\w-]*)\((.*?)\)(.*)$")
work = []  # (kind, hlo name, flops, bytes)
for line in body.splitlines():
    m = INST.match(line)
    if not m:
        continue
    name, typ, op, args, rest = m.groups()
    outs = arrays(typ)
    shapes[name] = outs
    ins = []
    for o in args.split(","):
        o = o.strip()
        if not o.startswith("%"):
            continue
        base, _, idx = o[1:].partition("#")
        got = shapes.get(base, [])
        if idx:
            got = got[int(idx):int(idx) + 1]
        elif op != "fusion":
            got = got[:1]
        ins.extend(got)
    if op == "custom-call":
        target = re.search(r'custom_call_target="([^"]+)"', rest).group(1)
        out = outs[0]
        if "conv" in target:
            # dim_labels b01f_o01i->b01f: weights [out, kh, kw, in]
            w = ins[1][1]
            work.append(("convolution", name, 2 * numel(out[1]) * w[1] * w[2] * w[3], 0))
        elif "matmul" in target or "gemm" in target:
            k = numel(ins[0][1]) * out[1][-1] // numel(out[1])
            work.append(("matrix product", name, 2 * numel(out[1]) * k, 0))
        elif "fmha" in target:
            q, kk = ins[0][1], ins[1][1]  # [batch, seq, heads, head size]
            work.append(("attention", name, 4 * q[0] * q[1] * kk[1] * q[2] * q[3], 0))
    elif op == "fusion":
        work.append(("fusion", name, 0, nbytes(outs) + nbytes(ins)))

kern = []
for line in open(a.kernels):
    us, n, k = line.rstrip("\n").split("\t", 2)
    kern.append((float(us), int(n), k))


def kind_of(k):
    if "sdpa" in k or "fmha" in k or "flash" in k:
        return "attention"
    if "fprop" in k or "conv" in k.lower() or "nhwc" in k.lower():
        return "convolution"
    if k.startswith(("nvjet", "sm90_xmma_gemm", "cutlass", "gemm_fusion", "ampere", "sm80_xmma_gemm")):
        return "matrix product"
    if "Memset" in k or "Memcpy" in k:
        return "memset/copy"
    return "fusion"


by_name = {w[1].replace(".", "_").replace("-", "_"): w for w in work}
t = collections.defaultdict(float)
cnt = collections.Counter()
fl = collections.defaultdict(float)
by = collections.defaultdict(float)
slow = []
groups = collections.defaultdict(lambda: [0.0, 0, 0.0])  # fusion kind: us, launches, bytes
for us, n, k in kern:
    kind = kind_of(k)
    t[kind] += us
    cnt[kind] += n
    if kind == "fusion" and k in by_name:
        b = by_name[k][3] * n
        by[kind] += b
        slow.append((us - b / (a.tbs * 1e6), us, b, k))
        g = groups[re.sub(r"_\d+$", "", k)]
        g[0] += us
        g[1] += n
        g[2] += b
for kind, name, f, b in work:
    if kind != "fusion":
        fl[kind] += f
total = sum(t.values())
print(f"{total / 1e3:.2f} ms of kernels per call, {sum(cnt.values())} launches; bounds: {a.tflops:g} TFLOP/s, {a.tbs:g} TB/s")
print(f"{'kind':16} {'ms':>7} {'share':>6} {'launches':>8} {'work':>14} {'rate':>16} {'at the bound':>12}")
bound = 0.0
for kind in sorted(t, key=lambda x: -t[x]):
    ms = t[kind] / 1e3
    if fl[kind]:
        rate = fl[kind] / (ms * 1e-3) / 1e12
        at = fl[kind] / (a.tflops * 1e12) * 1e3
        w = f"{fl[kind] / 1e12:.2f} TFLOP"
        r = f"{rate:.0f} TFLOP/s"
    elif by[kind]:
        rate = by[kind] / (ms * 1e-3) / 1e12
        at = by[kind] / (a.tbs * 1e12) * 1e3
        w = f"{by[kind] / 1e9:.2f} GB"
        r = f"{rate:.2f} TB/s"
    else:
        at, w, r = 0.0, "", ""
    bound += at
    print(f"{kind:16} {ms:7.2f} {t[kind] / total:6.1%} {cnt[kind]:8d} {w:>14} {r:>16} {at:10.2f} ms")
print(f"{'sum at the bounds':16} {bound:7.2f} ms ({bound / (total / 1e3):.0%} of the kernels' time)")
print("fusions furthest above their bandwidth time (us over, us, MB, name):")
for over, us, b, k in sorted(slow, reverse=True)[:15]:
    print(f"  {over:8.1f} {us:8.1f} {b / 1e6:9.1f}  {k}")
print("XLA fusions by kind (ms, launches, GB, TB/s, ms at the bandwidth):")
for k, (us, n, b) in sorted(groups.items(), key=lambda x: -x[1][0]):
    print(f"  {us / 1e3:6.2f} {n:5d} {b / 1e9:7.2f} {b / us / 1e6:6.2f} {b / (a.tbs * 1e9):6.2f}  {k}")
