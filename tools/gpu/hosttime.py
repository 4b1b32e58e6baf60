"""Host time of dispatching XLA executions from JAX, for comparison with
sdgo's (Go trace): (1) the per-argument cost, with jitted sums of 1, 100
and 700 small arguments; (2) an sdgo HLO module (dumped with
XLA_FLAGS=--xla_dump_to) run through JAX's copy of the same XLA: the host
time of each queued execute call, and the host-side profiler events of
the runtime by name.

usage: python3 hosttime.py MODULE.before_optimizations.txt OUTDIR
"""
import collections, glob, gzip, json, os, re, sys, time
import numpy as np
import jax

dev = jax.devices()[0]
for n in (1, 100, 700):
    xs = [jax.device_put(np.ones((64,), np.float16), dev) for _ in range(n)]
    f = jax.jit(lambda *a: sum(a[1:], a[0]))
    f(*xs).block_until_ready()
    ts = []
    for _ in range(50):
        t = time.perf_counter()
        o = f(*xs)
        ts.append(time.perf_counter() - t)
    o.block_until_ready()
    print(f"jit sum of {n} args: dispatch median {np.median(ts)*1e6:.0f} us", flush=True)

sys.argv = [sys.argv[0], sys.argv[1], sys.argv[2]]
# Reuse hloprof.py's loading and compiling, stopping before its profile.
src = open(os.path.join(os.path.dirname(__file__), "hloprof.py")).read()
src = src[: src.index("for _ in range(3):\n    run()")]
exec(src)
for _ in range(3):
    run()
ts = []
outs = []
for _ in range(20):
    t = time.perf_counter()
    outs.append(exe.execute(args))
    ts.append(time.perf_counter() - t)
for o in outs[-1] if isinstance(outs[-1], (list, tuple)) else [outs[-1]]:
    if hasattr(o, "block_until_ready"):
        o.block_until_ready()
print(f"queued execute calls: host median {np.median(ts)*1e3:.2f} ms, mean {np.mean(ts)*1e3:.2f}, min {min(ts)*1e3:.2f}, max {max(ts)*1e3:.2f}", flush=True)
os.makedirs(outdir, exist_ok=True)
with jax.profiler.trace(outdir):
    for _ in range(3):
        run()
files = glob.glob(os.path.join(outdir, "**", "*.trace.json.gz"), recursive=True)
ev = json.load(gzip.open(files[0]))
events = ev["traceEvents"] if isinstance(ev, dict) else ev
pids = {}
for e in events:
    if e.get("ph") == "M" and e.get("name") == "process_name":
        pids[e["pid"]] = e["args"]["name"]
tot = collections.defaultdict(float); cnt = collections.Counter()
for e in events:
    if e.get("ph") != "X" or "dur" not in e:
        continue
    if "host" not in pids.get(e["pid"], "").lower():
        continue
    name = re.sub(r"[:#].*", "", e["name"])[:90]
    tot[name] += e["dur"]; cnt[name] += 1
print("== host events per call (3 calls), by name")
for k, v in sorted(tot.items(), key=lambda x: -x[1])[:45]:
    print(f"{v/3:9.1f} us {cnt[k]/3:7.1f}x {k}")
