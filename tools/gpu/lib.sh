# Shared by the GPU scripts: paths and a peak-memory probe.
G=.gpu; OUT=${OUT:-/tmp/out}; M=/tmp/m
mkdir -p "$OUT" "$M"
[ -x $G/sdgo ] || gunzip -kf $G/sdgo.gz
SDGO=$G/sdgo
# measure NAME CMD...: runs CMD with nvidia-smi sampling GPU memory every
# 100 ms; appends "NAME peak_MiB" to $OUT/peak_mem.txt.
measure() {
  local name=$1; shift
  nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 100 > "$OUT/mem_$name.log" 2>/dev/null &
  local pid=$!
  "$@"
  local rc=$?
  kill $pid 2>/dev/null; wait $pid 2>/dev/null
  echo "$name $(sort -n "$OUT/mem_$name.log" | tail -1) MiB (idle $(sort -n "$OUT/mem_$name.log" | head -1))" >> "$OUT/peak_mem.txt"
  return $rc
}
