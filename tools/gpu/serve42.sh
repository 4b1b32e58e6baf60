#!/usr/bin/env bash
# Session 8: the REST server on the GPU with the executable cache and lazy
# preview copies: the first request on an empty machine, then requests with
# /sdapi/v1/progress polled every 20 ms (previews rendered) and without
# (no latents copied between steps), medians of 10; then a restarted
# server's first request (executables loaded) and a batch of 4.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
begin
start() {
  $SDGO serve --model $M/sd15.safetensors --clip-vocab $G/clip --backend cuda --listen 127.0.0.1:7861 >> $OUT/serve.log 2>&1 &
  PID=$!
  for i in $(seq 120); do curl -s -o /dev/null http://127.0.0.1:7861/sdapi/v1/sd-models && break; sleep 0.25; done
}
req() { # label batch repeats poll
  python3 - "$@" <<'PY'
import json, sys, time, urllib.request, base64, threading
label, batch, reps, poll_on = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
body = json.dumps({"prompt": "a castle on a hill", "negative_prompt": "blurry", "steps": 20, "cfg_scale": 7,
                   "width": 512, "height": 512, "seed": 7, "sampler_name": "Euler a", "batch_size": batch}).encode()
times, seen, pngs = [], [], set()
for _ in range(reps):
    stop = threading.Event()
    def poll():
        while not stop.is_set():
            try:
                p = json.load(urllib.request.urlopen("http://127.0.0.1:7861/sdapi/v1/progress"))
                if p.get("current_image"): seen.append(p["progress"])
            except Exception: pass
            time.sleep(0.02)
    t = threading.Thread(target=poll, daemon=True)
    if poll_on: t.start()
    s = time.time()
    r = urllib.request.urlopen(urllib.request.Request("http://127.0.0.1:7861/sdapi/v1/txt2img", body, {"Content-Type": "application/json"}))
    d = json.load(r)
    times.append(time.time() - s)
    stop.set()
    png = base64.b64decode(d["images"][0]); pngs.add(png)
    assert r.status == 200 and png[:4] == b"\x89PNG" and len(d["images"]) == batch
times.sort()
print(f"{label}: batch {batch}, {reps} requests, HTTP 200, median {times[len(times)//2]*1e3:.1f} ms (min {times[0]*1e3:.1f}), previews seen {len(seen)}, distinct first PNGs {len(pngs)}")
PY
}
start
req "empty machine, first request" 1 1 0
req "warm up" 1 2 0
for i in 1 2; do
  req "no polling, round $i" 1 10 0
  req "progress polled, round $i" 1 10 1
done
kill $PID; wait $PID 2>/dev/null
s=$EPOCHREALTIME; start; echo "restart to listening: $(awk "BEGIN{print $EPOCHREALTIME-$s}") s"
req "restarted server, first request (executables cached)" 1 1 0
req "batch 4, new shapes" 4 1 0
kill $PID; wait $PID 2>/dev/null
grep -i "error\|warn" $OUT/serve.log | head -5
