"""Profile an HLO module dumped by sdgo (XLA_FLAGS=--xla_dump_to) through
JAX's copy of the same XLA: compile it, run it on random inputs under
jax.profiler, and print the GPU kernels by total time.

usage: python3 hloprof.py MODULE.before_optimizations.txt OUTDIR
"""
import collections, glob, gzip, json, os, re, sys, time
import numpy as np
import jax
import jax.extend.backend
from jax._src.lib import xla_client as xc


def varint(b, i):
    v = s = 0
    while True:
        c = b[i]; i += 1
        v |= (c & 0x7F) << s; s += 7
        if c < 0x80:
            return v, i


def module_proto(raw):
    """The HloModuleProto inside XLA's dumped HloProto (its field 1)."""
    i = 0
    while i < len(raw):
        tag, i = varint(raw, i)
        if tag & 7 == 2:
            n, i = varint(raw, i)
            if tag >> 3 == 1:
                return raw[i:i + n]
            i += n
        elif tag & 7 == 0:
            _, i = varint(raw, i)
        else:
            break
    return raw


def load(path):
    """Compiles the dumped module at path (…before_optimizations.txt, with its
    .hlo.pb beside it) on the first device; returns the executable and
    random arguments of its entry signature, already on the device."""
    text = open(path).read()
    print("jax", jax.__version__, flush=True)
    raw = open(path.replace(".txt", ".hlo.pb"), "rb").read()
    proto = module_proto(raw)
    print("module proto", len(proto), "of", len(raw), "bytes", flush=True)
    mlir = xc._xla.mlir.hlo_to_stablehlo(proto)
    backend = jax.extend.backend.get_backend()
    dev = jax.devices()[0]
    opts = xc.CompileOptions()
    exe = None
    for name in ("compile_and_load", "compile"):
        fn = getattr(backend, name, None)
        if fn is None:
            continue
        for devs in (xc.DeviceList((dev,)), [dev]):
            try:
                exe = fn(mlir, devs, opts)
                break
            except Exception as e:
                print(name, type(devs).__name__, "failed:", str(e)[:300], flush=True)
        if exe is not None:
            break
    if exe is None:
        print([n for n in dir(backend) if not n.startswith("_")])
        raise SystemExit(1)
    print("compiled with", name, flush=True)
    # parameters from the entry signature
    entry = re.search(r"ENTRY [^\n]*\{\n(.*?)\n\}", text, re.S).group(1)
    params = {}
    for m in re.finditer(r"= (\w+)\[([0-9,]*)\][^ ]* parameter\((\d+)\)", entry):
        dt, dims, i = m.group(1), m.group(2), int(m.group(3))
        shape = tuple(int(d) for d in dims.split(",") if d)
        params[i] = (dt, shape)
    npdt = {"f16": np.float16, "f32": np.float32, "bf16": jax.numpy.bfloat16, "s32": np.int32, "s64": np.int64}
    rng = np.random.default_rng(0)
    args = []
    for i in range(len(params)):
        dt, shape = params[i]
        a = (rng.standard_normal(shape) * 0.02).astype(np.float32)
        args.append(jax.device_put(a.astype(npdt[dt]), dev))
    print(len(args), "parameters", flush=True)
    return exe, args


def wait(out):
    """Blocks until every output of one execution is ready."""
    for o in (out if isinstance(out, (list, tuple)) else [out]):
        if hasattr(o, "block_until_ready"):
            o.block_until_ready()


def trace(outdir, run, calls=3):
    """Runs run() calls times under JAX's profiler; returns the trace's
    complete events and the process names by pid."""
    os.makedirs(outdir, exist_ok=True)
    with jax.profiler.trace(outdir, create_perfetto_trace=True):
        for _ in range(calls):
            run()
    files = glob.glob(os.path.join(outdir, "**", "*.trace.json.gz"), recursive=True)
    print("trace files", files, flush=True)
    ev = json.load(gzip.open(files[0]))
    events = ev["traceEvents"] if isinstance(ev, dict) else ev
    pids = {}
    for e in events:
        if e.get("ph") == "M" and e.get("name") == "process_name":
            pids[e["pid"]] = e["args"]["name"]
    return [e for e in events if e.get("ph") == "X" and "dur" in e], pids


def main(path, outdir):
    exe, args = load(path)

    def run():
        wait(exe.execute(args))

    for _ in range(3):
        run()
    t = time.perf_counter()
    for _ in range(20):
        run()
    print("median-ish ms per call:", (time.perf_counter() - t) / 20 * 1e3, flush=True)
    events, pids = trace(outdir, run)
    # GPU kernel events live on the device's process
    tot = collections.defaultdict(float); cnt = collections.Counter()
    for e in events:
        pn = pids.get(e["pid"], "")
        if "GPU" not in pn and "gpu" not in pn and "/device" not in pn:
            continue
        tot[e["name"]] += e["dur"]; cnt[e["name"]] += 1
    s = sum(tot.values())
    print(f"GPU events total {s/3/1e3:.2f} ms per call, {sum(cnt.values())//3} events per call; processes: {set(pids.values())}")
    with open("/tmp/prof_kernels.tsv", "w") as f:
        for k, v in sorted(tot.items(), key=lambda x: -x[1]):
            f.write(f"{v/3:.2f}\t{cnt[k]//3}\t{k}\n")
    for k, v in sorted(tot.items(), key=lambda x: -x[1])[:70]:
        print(f"{v/3:9.1f} us {cnt[k]//3:4d}x {k[:110]}")
    grp = collections.defaultdict(float); gc = collections.Counter()
    for k, v in tot.items():
        g = re.sub(r"[._]?\d+(\.\d+)*$", "", k)
        g = re.sub(r"\d+", "N", g)[:80]
        grp[g] += v; gc[g] += cnt[k]
    print("== grouped")
    for k, v in sorted(grp.items(), key=lambda x: -x[1])[:40]:
        print(f"{v/3:9.1f} us {gc[k]//3:4d}x {k}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
