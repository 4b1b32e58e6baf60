# Shared by the GPU scripts: paths and a peak-memory probe.
G=.gpu; OUT=${OUT:-/tmp/out}; M=/tmp/m
mkdir -p "$OUT" "$M"
[ -x $G/sdgo ] || gunzip -kf $G/sdgo.gz
SDGO=$G/sdgo
# measure NAME CMD...: runs CMD with nvidia-smi sampling GPU memory every
# MEM_MS ms (20; sessions 3-5 sampled every 100 ms, which missed peaks of
# 20-40 ms); appends "NAME peak_MiB" to $OUT/peak_mem.txt.
measure() {
  local name=$1; shift
  nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms ${MEM_MS:-20} > "$OUT/mem_$name.log" 2>/dev/null &
  local pid=$!
  "$@"
  local rc=$?
  kill $pid 2>/dev/null; wait $pid 2>/dev/null
  echo "$name $(sort -n "$OUT/mem_$name.log" | tail -1) MiB (idle $(sort -n "$OUT/mem_$name.log" | head -1))" >> "$OUT/peak_mem.txt"
  return $rc
}
# fresh LABEL PNG ARGS...: times one fresh `sdgo txt2img` process (model
# ARGS, fixed prompt/seed/steps) to its PNG, with its exit status; the
# caller's environment (e.g. XLA_FLAGS=... fresh ...) applies.
fresh() {
  local label=$1 png=$2; shift 2
  local s=$EPOCHREALTIME
  timeout 150 $SDGO txt2img "$@" --prompt "a castle on a hill" --seed 7 --steps 20 -o $png > $OUT/fresh.log 2>&1
  local rc=$?
  echo "fresh process to first image, $label: $(awk "BEGIN{print $EPOCHREALTIME-$s}") s (exit $rc)"
  [ $rc = 0 ] || tail -3 $OUT/fresh.log
}
# begin: the opening the scripts from session 7 on share: its output to
# $OUT/log as well, the card named, the SD 1.5 checkpoint made if missing,
# and A set to the SD 1.5 512x512 f16 model arguments.
begin() {
  exec > >(tee $OUT/log) 2>&1
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  [ -f $M/sd15.safetensors ] || python3 tools/gpu/mkckpt.py $G/shapes/sd15.json $M/sd15.safetensors
  A="--model $M/sd15.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 512 -H 512"
}
# sdxl: starts making the SDXL base checkpoint in the background if it is
# missing and sets X to the SDXL 1024x1024 f16 model arguments; wait_sdxl
# waits until the checkpoint is written.
sdxl() {
  ( [ -f $M/sdxl.safetensors ] || python3 tools/gpu/mkckpt.py $G/shapes/sdxl_base.json $M/sdxl.safetensors > /dev/null 2>&1 & )
  X="--model $M/sdxl.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 1024 -H 1024"
}
wait_sdxl() { while pgrep -f mkckpt > /dev/null; do sleep 2; done; }
