#!/usr/bin/env bash
# Session 6: the folded upsampling build (sdgo) on its own: fresh-process
# times (weights now folded on the host), XLA buffer assignment of the UNet
# and VAE graphs, XLA's split-K GEMM autotuning off against the default
# (own autotune cache each), peak memory sampled every 20 ms.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
exec > >(tee $OUT/log) 2>&1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
[ -f $M/sd15.safetensors ] || python3 tools/gpu/mkckpt.py $G/shapes/sd15.json $M/sd15.safetensors
A="--model $M/sd15.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 512 -H 512"
echo "== fresh processes"
fresh "empty autotune cache" $OUT/c1.png $A
fresh "warm autotune cache" $OUT/c2.png $A
fresh "warm autotune cache" $OUT/c3.png $A
SDGO_LOG=debug timeout 100 $SDGO txt2img $A --prompt "a castle on a hill" --seed 7 --steps 20 -o /tmp/c4.png 2>&1 | grep -i "weights\|load\|compil" | head -20
cmp $OUT/c2.png $OUT/c3.png && echo "c2 c3 identical"
echo "== buffer assignment"
rm -rf /tmp/d; XLA_FLAGS="--xla_dump_to=/tmp/d --xla_dump_hlo_pass_re=^$" timeout 150 $SDGO bench $A --what vae,unet --batch 1 --iters 2 2>&1 | grep -v opened | tail -2
for f in $(ls -S /tmp/d/*buffer-assignment.txt | head -4); do echo "-- $f"; grep -m3 -i "total bytes\|peak\|heap" $f; done
ls -S /tmp/d/*memory-usage* 2>/dev/null | head -3
echo "== split-K autotuning off vs default"
B="$A --what chain,unet --batch 2 --iters 20"
for i in 1 2; do
  echo "-- default"; timeout 200 $SDGO bench $B 2>&1 | grep -v "opened\|stages" | tail -2
  timeout 200 $SDGO bench $A --what unet --batch 16 --iters 10 2>&1 | grep -v opened | tail -1
  echo "-- split-K off"; XLA_FLAGS="--xla_gpu_per_fusion_autotune_cache_dir=/tmp/cns --xla_gpu_enable_split_k_autotuning=false" timeout 250 $SDGO bench $B 2>&1 | grep -v "opened\|stages" | tail -2
  XLA_FLAGS="--xla_gpu_per_fusion_autotune_cache_dir=/tmp/cns --xla_gpu_enable_split_k_autotuning=false" timeout 200 $SDGO bench $A --what unet --batch 16 --iters 10 2>&1 | grep -v opened | tail -1
done
echo "== peak memory, 20 ms samples"
nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 20 > $OUT/mem20.log 2>/dev/null &
P=$!; timeout 200 $SDGO bench $A --what txt2img --iters 10 2>&1 | tail -1; kill $P
sort -n $OUT/mem20.log | uniq -c | tail -4
