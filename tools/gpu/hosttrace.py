"""Host time per XLA execution from a Go execution trace of sdgo
(`sdgo bench --what txt2img --trace FILE`): how long the launching
goroutine spent inside each execute call (XLA launching the step's
kernels and CUDA graphs), the gaps between consecutive executions, and
the device-to-host copies (per image: the final latents, which wait for
the queued steps, and the decoded pixels; when the latents' copy waits
less than a step, the steps were bound by the host, not the GPU).

usage: python3 hosttrace.py TRACE...   (needs `go` on PATH)
"""
import re
import statistics as st
import subprocess
import sys


def events(path):
    """(time ns, new state, first stack frame) of goroutine 1's syscalls."""
    out = subprocess.run(["go", "tool", "trace", "-d=parsed", path],
                         capture_output=True, text=True, check=True).stdout.split("\n")
    ev = []
    for i, line in enumerate(out):
        m = re.search(r"Time=(\d+) GoID=1 (Running->Syscall|Syscall->Running)", line)
        if m:
            frame = out[i + 2].strip() if m.group(2) == "Running->Syscall" and i + 2 < len(out) else ""
            ev.append((int(m.group(1)), m.group(2), frame))
    return ev


def pct(v, p):
    return sorted(v)[min(len(v) - 1, int(p * len(v)))]


for path in sys.argv[1:]:
    ev = events(path)
    execs, copies = [], []
    for k, (t, kind, frame) in enumerate(ev[:-1]):
        if kind != "Running->Syscall":
            continue
        span = (t, ev[k + 1][0])
        if "ExecuteAndWait" in frame:
            execs.append(span)
        elif "BufferToHost" in frame:
            copies.append(span)
    d = [(b - a) / 1e6 for a, b in execs]
    gaps = [(execs[i + 1][0] - execs[i][1]) / 1e6 for i in range(len(execs) - 1)]
    gaps = [g for g in gaps if g < 2]  # within a job, not between jobs
    c = [(b - a) / 1e6 for a, b in copies]
    print(f"{path}: {len(d)} executions, host ms inside each: median {st.median(d):.2f} mean {st.mean(d):.2f} "
          f"p90 {pct(d, .9):.2f} max {max(d):.2f}; gaps between them median {st.median(gaps):.3f} ms; "
          f"device-to-host copies median {st.median(c):.1f} ms")
