"""Makes pil.json: reference resizes from Pillow for upscale's tests.

Run with Pillow 9.x (webui pins 9.5): python3 gen_pil.py > pil.json
The source images come from a small LCG that the Go test repeats.
fit() restates webui's images.resize_image (no upscaler model) for modes 0-2.
"""
import base64, json
from PIL import Image

def source(w, h, c, seed):
    s = seed
    data = bytearray()
    for _ in range(w * h * c):
        s = (s * 1103515245 + 12345) % 2**31
        data.append((s >> 16) & 255)
    return Image.frombytes({3: "RGB", 1: "L"}[c], (w, h), bytes(data))

FILTERS = {"nearest": Image.NEAREST, "bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC, "lanczos": Image.LANCZOS}

def fit(mode, im, width, height):
    def resize(im, w, h):
        return im.resize((w, h), resample=Image.LANCZOS)
    if mode == 0:
        return resize(im, width, height)
    ratio, src_ratio = width / height, im.width / im.height
    if mode == 1:
        sw = width if ratio > src_ratio else im.width * height // im.height
        sh = height if ratio <= src_ratio else im.height * width // im.width
    else:
        sw = width if ratio < src_ratio else im.width * height // im.height
        sh = height if ratio >= src_ratio else im.height * width // im.width
    resized = resize(im, sw, sh)
    res = Image.new(im.mode, (width, height))
    res.paste(resized, box=(width // 2 - sw // 2, height // 2 - sh // 2))
    if mode == 2:
        if ratio < src_ratio:
            fill = height // 2 - sh // 2
            if fill > 0:
                res.paste(resized.resize((width, fill), box=(0, 0, width, 0)), box=(0, 0))
                res.paste(resized.resize((width, fill), box=(0, resized.height, width, resized.height)), box=(0, fill + sh))
        elif ratio > src_ratio:
            fill = width // 2 - sw // 2
            if fill > 0:
                res.paste(resized.resize((fill, height), box=(0, 0, 0, height)), box=(0, 0))
                res.paste(resized.resize((fill, height), box=(resized.width, 0, resized.width, height)), box=(fill + sw, 0))
    return res

cases = []
def add(name, c, seed, src_size, out, **kw):
    cases.append(dict(name=name, channels=c, seed=seed, src=list(src_size), w=out.width, h=out.height,
                      pixels=base64.b64encode(out.tobytes()).decode(), **kw))

for c, seed in ((3, 7), (1, 11)):
    im = source(13, 9, c, seed)
    for fname, f in FILTERS.items():
        for (w, h) in ((5, 4), (26, 18), (13, 9), (7, 20), (40, 3)):
            add(f"resize/{c}/{fname}/{w}x{h}", c, seed, im.size, im.resize((w, h), resample=f), op="resize", filter=fname)
    for box in ((0, 0, 13, 0), (0, 9, 13, 9), (0, 0, 0, 9), (13, 0, 13, 9), (2.5, 1, 9, 7.25)):
        out = im.resize((6, 5), resample=Image.BICUBIC, box=box)
        add(f"box/{c}/{box}", c, seed, im.size, out, op="box", filter="bicubic", box=list(box))
    for mode in (0, 1, 2):
        for (w, h) in ((8, 8), (16, 8), (8, 16), (20, 12), (13, 9), (6, 30)):
            add(f"fit/{c}/{mode}/{w}x{h}", c, seed, im.size, fit(mode, im, w, h), op="fit", mode=mode)

print(json.dumps({"pillow": Image.__version__, "cases": cases}, indent=0))
