#!/usr/bin/env bash
# After the fused attention: XLA allocator A/B (alternating) for speed and
# peak memory, then GPU kernel profiles (hloprof.py) of the SD 1.5 UNet at
# batch 2 and 16 and the SDXL UNet at batch 2.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
nvidia-smi --query-gpu=name --format=csv,noheader
[ -f $M/sd15.safetensors ] || python3 tools/gpu/mkckpt.py $G/shapes/sd15.json $M/sd15.safetensors
A="--model $M/sd15.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 512 -H 512"
timeout 100 $SDGO bench $A --what txt2img --iters 2 > /dev/null 2>&1 # fills the autotune cache
for i in 1 2; do
  for a in default cuda_async async_pre; do
    if [ $a = async_pre ]; then export SDGO_XLA_ALLOCATOR=cuda_async SDGO_XLA_PREALLOCATE=1 SDGO_XLA_MEMORY_FRACTION=0.03
    else export SDGO_XLA_ALLOCATOR=$a; unset SDGO_XLA_PREALLOCATE SDGO_XLA_MEMORY_FRACTION; fi
    echo "== $a"
    measure t2i_${a}_$i timeout 100 $SDGO bench $A --what txt2img --iters 10 2>&1 | grep -v opened | tail -1
    tail -1 $OUT/peak_mem.txt
  done
done
unset SDGO_XLA_ALLOCATOR SDGO_XLA_PREALLOCATE SDGO_XLA_MEMORY_FRACTION
prof() { # name bench-args...
  local name=$1; shift
  rm -rf /tmp/dump /tmp/prof
  XLA_FLAGS="--xla_dump_to=/tmp/dump --xla_dump_hlo_as_text --xla_dump_hlo_as_proto --xla_dump_hlo_pass_re=^$" timeout 150 $SDGO bench "$@" --what unet --iters 2 2>&1 | grep -v opened | tail -1
  F=$(ls -S /tmp/dump/*before_optimizations.txt | head -1)
  timeout 200 python3 tools/gpu/hloprof.py $F /tmp/prof > $OUT/prof_$name.txt 2>&1
  grep "median-ish\|GPU events" $OUT/prof_$name.txt
  sed -n '/== grouped/,$p' $OUT/prof_$name.txt | head -16
}
prof sd15_b2 $A --batch 2
prof sd15_b16 $A --batch 16
python3 tools/gpu/mkckpt.py $G/shapes/sdxl_base.json $M/sdxl.safetensors
prof sdxl_b2 --model $M/sdxl.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 1024 -H 1024 --batch 2
cd $OUT && tar czf mem.tgz mem_*.log && rm mem_*.log
