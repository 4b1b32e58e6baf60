# Probe: how JAX lowers cuDNN flash attention (the StableHLO sdgo must emit)
# and how fast it is against plain XLA attention at SD shapes.
import os, time, sys
import jax, jax.numpy as jnp
out = os.environ.get("OUT", "/tmp/out")
print("jax", jax.__version__, jax.devices())
def bench(f, *a, n=50):
    r = f(*a); r.block_until_ready()
    t = time.perf_counter()
    for _ in range(n): r = f(*a)
    r.block_until_ready()
    return (time.perf_counter() - t) / n * 1e3
cases = [("self512", 2, 4096, 4096, 8, 40), ("cross512", 2, 4096, 77, 8, 40),
         ("self_b16", 16, 4096, 4096, 8, 40), ("xl_self", 2, 4096, 4096, 10, 64),
         ("xl_1024", 2, 1024, 1024, 20, 64), ("vae", 1, 4096, 4096, 1, 512)]
for name, b, tq, tk, n, h in cases:
    k0 = jax.random.PRNGKey(0)
    q = jax.random.normal(k0, (b, tq, n, h), jnp.float16)
    k = jax.random.normal(k0, (b, tk, n, h), jnp.float16)
    v = jax.random.normal(k0, (b, tk, n, h), jnp.float16)
    for impl in ["xla", "cudnn"]:
        f = jax.jit(lambda q, k, v, impl=impl: jax.nn.dot_product_attention(q, k, v, implementation=impl))
        try:
            ms = bench(f, q, k, v)
            print(f"{name} {impl} {ms:.3f} ms")
            if name in ("self512", "cross512") :
                lo = f.lower(q, k, v)
                open(f"{out}/{name}_{impl}.stablehlo.txt", "w").write(lo.as_text())
                open(f"{out}/{name}_{impl}.hlo.txt", "w").write(lo.compile().as_text())
        except Exception as e:
            print(f"{name} {impl} FAILED {type(e).__name__}: {str(e)[:400]}")
