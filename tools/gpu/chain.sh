#!/usr/bin/env bash
# Session 4, first look: where a cold start goes (SDGO_LOG=debug graph
# timings), and 20 CFG steps with the latents back on the host after each
# (guided) against the same steps chained on the device (chain).
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
rm -rf ~/.cache/sdgo
[ -f $M/sd15.safetensors ] || python3 tools/gpu/mkckpt.py $G/shapes/sd15.json $M/sd15.safetensors
A="--model $M/sd15.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 512 -H 512"
for l in empty warm1 warm2; do
  SDGO_LOG=debug fresh "SD1.5 $l" $OUT/c_$l.png $A
  cp $OUT/fresh.log $OUT/fresh_$l.log
done
grep -h "graph built\|model opened" $OUT/fresh_*.log | cut -c1-200
b() { timeout 300 $SDGO bench "$@" 2>&1 | grep -v opened; }
echo "== SD1.5 guided vs chain, 20 steps"
b $A --what guided,chain,guided,chain --steps 20 --iters 10
echo "== SD1.5 txt2img"
b $A --what txt2img --iters 10 | tail -3
echo "== SD1.5 unet b2, command buffers off"
XLA_FLAGS=--xla_gpu_enable_command_buffer= b $A --what unet,guided --steps 20 --iters 10
python3 tools/gpu/mkckpt.py $G/shapes/sdxl_base.json $M/sdxl.safetensors
X="--model $M/sdxl.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 1024 -H 1024"
echo "== SDXL guided vs chain, 20 steps"
b $X --what guided,chain,guided,chain --steps 20 --iters 3
echo "== SDXL txt2img"
b $X --what txt2img --iters 5 | tail -3
