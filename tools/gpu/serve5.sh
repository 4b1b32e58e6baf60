#!/usr/bin/env bash
# Session 5: the server on the GPU with this session's levers (joined weights,
# 8-bit decode on the device, live previews with per-step latents): three
# txt2img requests (live previews polled),
# HTTP status, images decoded, times.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
[ -f $M/sd15.safetensors ] || python3 tools/gpu/mkckpt.py $G/shapes/sd15.json $M/sd15.safetensors
$SDGO serve --model $M/sd15.safetensors --clip-vocab $G/clip --backend cuda --listen 127.0.0.1:7861 > $OUT/serve.log 2>&1 &
PID=$!
for i in $(seq 120); do curl -s -o /dev/null http://127.0.0.1:7861/sdapi/v1/sd-models && break; sleep 1; done
req() {
  python3 - "$1" <<'PY'
import json, sys, time, urllib.request, base64, threading
body = json.dumps({"prompt": "a castle on a hill", "negative_prompt": "blurry", "steps": 20, "cfg_scale": 7,
                   "width": 512, "height": 512, "seed": 7, "sampler_name": "Euler a", "batch_size": int(sys.argv[1])}).encode()
seen = []
def poll():
    for _ in range(200):
        try:
            p = json.load(urllib.request.urlopen("http://127.0.0.1:7861/sdapi/v1/progress"))
            if p.get("current_image"): seen.append(p["progress"])
        except Exception: pass
        time.sleep(0.02)
t = threading.Thread(target=poll, daemon=True); t.start()
s = time.time()
r = urllib.request.urlopen(urllib.request.Request("http://127.0.0.1:7861/sdapi/v1/txt2img", body, {"Content-Type": "application/json"}))
d = json.load(r)
png = base64.b64decode(d["images"][0])
print(f"batch {sys.argv[1]}: HTTP {r.status}, {len(d['images'])} images, first PNG {len(png)} bytes ({png[:4]!r}), {time.time()-s:.2f} s, previews seen {len(seen)}")
PY
}
req 1; req 1; req 4
kill $PID; wait $PID 2>/dev/null
tail -3 $OUT/serve.log
