"""Makes inpaint_pil.json: Pillow references for pipeline's inpainting pixel
helpers (webui's masking.fill, overlay paste, alpha_composite, flatten,
create_binary_mask, GaussianBlur). Run with Pillow 9.x:
python3 gen_inpaint_pil.py > inpaint_pil.json
Source images come from an LCG that inpaint_test.go repeats.
"""
import base64, json
from PIL import Image, ImageFilter, ImageOps

def lcg(n, seed):
    s, out = seed, bytearray()
    for _ in range(n):
        s = (s * 1103515245 + 12345) % 2**31
        out.append((s >> 16) & 255)
    return bytes(out)

W, H = 23, 17
rgb = Image.frombytes("RGB", (W, H), lcg(W * H * 3, 3))
rgba = Image.frombytes("RGBA", (W, H), lcg(W * H * 4, 5))
# a mask with a soft-edged blob: 0 outside, 255 inside, ramps between
mask = Image.new("L", (W, H))
for y in range(H):
    for x in range(W):
        d = ((x - 9) ** 2 + (y - 8) ** 2) ** 0.5
        mask.putpixel((x, y), max(0, min(255, int((6 - d) * 80))))

def b64(im):
    return base64.b64encode(im.tobytes()).decode()

def fill(image, mask):  # webui masking.fill, restated
    image_mod = Image.new('RGBA', (image.width, image.height))
    image_masked = Image.new('RGBa', (image.width, image.height))
    image_masked.paste(image.convert("RGBA").convert("RGBa"), mask=ImageOps.invert(mask.convert('L')))
    image_masked = image_masked.convert('RGBa')
    for radius, repeats in [(256, 1), (64, 1), (16, 2), (4, 4), (2, 2), (0, 1)]:
        blurred = image_masked.filter(ImageFilter.GaussianBlur(radius)).convert('RGBA')
        for _ in range(repeats):
            image_mod.alpha_composite(blurred)
    return image_mod.convert("RGB")

def overlay(image, mask_for_overlay):  # webui's image_masked for apply_overlay
    image_masked = Image.new('RGBa', (image.width, image.height))
    image_masked.paste(image.convert("RGBA").convert("RGBa"), mask=ImageOps.invert(mask_for_overlay.convert('L')))
    return image_masked.convert('RGBA')

def flatten(img, bg):
    background = Image.new('RGBA', img.size, bg)
    background.paste(img, mask=img)
    return background.convert('RGB')

def binary(image):
    if image.mode == 'RGBA' and image.getextrema()[-1] != (255, 255):
        return image.split()[-1].convert("L").point(lambda x: 255 if x > 128 else 0)
    return image.convert('L').point(lambda x: 255 if x > 128 else 0)

gen = rgb.resize((W, H))  # a "generated" image: another view of the data
gen = Image.frombytes("RGB", (W, H), lcg(W * H * 3, 9))
ov = overlay(rgb, mask)
comp = gen.convert("RGBA"); comp.alpha_composite(ov)
out = {
    "w": W, "h": H, "pillow": Image.__version__,
    "mask": b64(mask),
    "fill": b64(fill(rgb, mask)),
    "overlay": b64(ov),
    "composite": b64(comp.convert("RGB")),
    "flatten": b64(flatten(rgba, "#ffffff")),
    "binary_rgba": b64(binary(rgba)),
    "binary_rgb": b64(binary(rgb)),
    "blur": {str(r): b64(rgba.convert("RGBa").filter(ImageFilter.GaussianBlur(r))) for r in (0, 1, 2, 4, 16, 64)},
}
print(json.dumps(out))
