"""Host time of dispatching XLA executions from JAX, for comparison with
sdgo's (Go trace): (1) the per-argument cost, with jitted sums of 1, 100
and 700 small arguments; (2) an sdgo HLO module (dumped with
XLA_FLAGS=--xla_dump_to) run through JAX's copy of the same XLA: the host
time of each queued execute call, and the host-side profiler events of
the runtime by name.

usage: python3 hosttime.py MODULE.before_optimizations.txt OUTDIR
"""
import collections, os, re, sys, time
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

path, outdir = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hloprof  # the same loading, compiling and tracing

exe, args = hloprof.load(path)


def run():
    hloprof.wait(exe.execute(args))


for _ in range(3):
    run()
ts = []
outs = []
for _ in range(20):
    t = time.perf_counter()
    outs.append(exe.execute(args))
    ts.append(time.perf_counter() - t)
hloprof.wait(outs[-1])
print(f"queued execute calls: host median {np.median(ts)*1e3:.2f} ms, mean {np.mean(ts)*1e3:.2f}, min {min(ts)*1e3:.2f}, max {max(ts)*1e3:.2f}", flush=True)
events, pids = hloprof.trace(outdir, run)
tot = collections.defaultdict(float); cnt = collections.Counter()
for e in events:
    if "host" not in pids.get(e["pid"], "").lower():
        continue
    name = re.sub(r"[:#].*", "", e["name"])[:90]
    tot[name] += e["dur"]; cnt[name] += 1
print("== host events per call (3 calls), by name")
for k, v in sorted(tot.items(), key=lambda x: -x[1])[:45]:
    print(f"{v/3:9.1f} us {cnt[k]/3:7.1f}x {k}")
