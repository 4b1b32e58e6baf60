#!/usr/bin/env bash
# GPU diagnosis: Go CPU profile + GC trace of txt2img steps (sampler
# overhead), the optimized HLO of the SD1.5 UNet, and per-kernel GPU times
# of one UNet call from Nsight Compute.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee $OUT/gpu.txt
[ -f $M/sd15.safetensors ] || python3 tools/gpu/mkckpt.py $G/shapes/sd15.json $M/sd15.safetensors
B="$SDGO bench --model $M/sd15.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 512 -H 512"
# 1. txt2img with profile and GC trace
GODEBUG=gctrace=1 timeout 200 $B --what txt2img --iters 10 --steps 20 --cpuprofile $OUT/t2i.prof > $OUT/t2i.txt 2> $OUT/t2i_gc.txt
grep -v opened $OUT/t2i.txt | tail -25
grep -c "^gc " $OUT/t2i_gc.txt
# 2. UNet with HLO dump (autotune cache now warm)
XLA_FLAGS="--xla_dump_to=$OUT/dump --xla_dump_hlo_as_text --xla_dump_hlo_pass_re=^$" timeout 150 $B --what unet --iters 20 2>&1 | grep -v opened | tail -5
ls $OUT/dump | head -30; du -sh $OUT/dump
# 3. ncu per-kernel durations of UNet calls
NCU=/usr/local/cuda/bin/ncu
timeout 300 $NCU --metrics gpu__time_duration.sum --csv --print-units base --target-processes all $B --what unet --iters 1 > $OUT/ncu.csv 2> $OUT/ncu.err
tail -3 $OUT/ncu.err; wc -l $OUT/ncu.csv
python3 - <<'PY'
import csv, collections, os, io
out = os.environ.get("OUT", "/tmp/out")
lines = open(f"{out}/ncu.csv").read().splitlines()
start = next((i for i, l in enumerate(lines) if l.startswith('"ID"')), None)
if start is None:
    print("no ncu table"); raise SystemExit
rows = list(csv.DictReader(io.StringIO("\n".join(lines[start:]))))
print(len(rows), "kernel rows")
tot = collections.defaultdict(float); cnt = collections.Counter()
for r in rows:
    try: v = float(r["Metric Value"])
    except: continue
    k = r["Kernel Name"][:90]
    tot[k] += v; cnt[k] += 1
s = sum(tot.values())
print("total ns", s)
for k, v in sorted(tot.items(), key=lambda x: -x[1])[:60]:
    print(f"{v/1e3:10.1f} us {cnt[k]:5d} {k}")
PY
