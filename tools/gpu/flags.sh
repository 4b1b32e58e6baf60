#!/usr/bin/env bash
# Session 4: XLA flags against kernel gaps and the per-call weight
# concatenations, with the device sampling loop; variants alternate.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
[ -f $M/sd15.safetensors ] || python3 tools/gpu/mkckpt.py $G/shapes/sd15.json $M/sd15.safetensors
( python3 tools/gpu/mkckpt.py $G/shapes/sdxl_base.json $M/sdxl.safetensors > /dev/null 2>&1 & )
A="--model $M/sd15.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 512 -H 512"
X="--model $M/sdxl.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 1024 -H 1024"
V0=""
V1="--xla_disable_hlo_passes=dot-merger"
V2="--xla_gpu_graph_min_graph_size=1"
V3="--xla_gpu_enable_command_buffer=FUSION,CUBLAS,CUBLASLT,CUSTOM_CALL,CUDNN,CONDITIONAL,WHILE"
b() { XLA_FLAGS="$1" timeout 200 $SDGO bench "${@:2}" 2>&1 | grep -v opened; echo "exit ${PIPESTATUS[0]}"; }
for v in V0 V1 V2 V3; do
  echo "== SD1.5 $v ${!v}"; b "${!v}" $A --what unet,txt2img --iters 20 | grep -v "images/s" | cut -c1-150
done
for v in V0 V2; do
  echo "== SD1.5 again $v"; b "${!v}" $A --what unet,txt2img --iters 20 | grep -v "images/s" | cut -c1-150
done
while [ ! -f $M/sdxl.safetensors ] || pgrep -f mkckpt > /dev/null; do sleep 2; done
for v in V0 V1 V2 V0 V1 V2; do
  echo "== SDXL $v ${!v}"; b "${!v}" $X --what txt2img --iters 5 | grep -v "images/s" | cut -c1-170
done
