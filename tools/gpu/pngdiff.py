# pngdiff A.png B.png: largest and mean absolute difference of two 8-bit
# RGB(A) PNGs, decoded with the standard library only (the GPU host has no PIL
# guarantee).
import struct, sys, zlib

def decode(path):
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    at, idat = 8, b""
    while at < len(data):
        n, kind = struct.unpack(">I4s", data[at:at + 8])
        body = data[at + 8:at + 8 + n]
        if kind == b"IHDR":
            w, h, depth, color = struct.unpack(">IIBB", body[:10])
        elif kind == b"IDAT":
            idat += body
        at += 12 + n
    assert depth == 8 and color in (2, 6), (depth, color)
    bpp = 3 if color == 2 else 4
    raw, stride = zlib.decompress(idat), w * bpp
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1: line[i] = (line[i] + a) & 255
            elif f == 2: line[i] = (line[i] + b) & 255
            elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line); prev = line
    return w, h, b"".join(rows)

wa, ha, a = decode(sys.argv[1])
wb, hb, b = decode(sys.argv[2])
assert (wa, ha) == (wb, hb), ((wa, ha), (wb, hb))
d = [abs(x - y) for x, y in zip(a, b)]
print(f"{sys.argv[1]} vs {sys.argv[2]}: {wa}x{ha} max |diff| {max(d)} mean {sum(d)/len(d):.3f} levels; >2 levels: {sum(1 for v in d if v > 2)/len(d)*100:.2f}%")
