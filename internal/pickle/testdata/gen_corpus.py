"""Writes seed inputs for FuzzPickle (testdata/fuzz/FuzzPickle) from the
data.pkl of the test archives. Run from this folder after gen.py."""
import os
import zipfile


def go_quote(b):
    out = []
    for c in b:
        ch = chr(c)
        if ch == '"' or ch == "\\":
            out.append("\\" + ch)
        elif 32 <= c < 127:
            out.append(ch)
        else:
            out.append("\\x%02x" % c)
    return '"' + "".join(out) + '"'


os.makedirs("fuzz/FuzzPickle", exist_ok=True)
for name in ["lightning.ckpt", "flat.pt"]:
    z = zipfile.ZipFile(name)
    pkl = [n for n in z.namelist() if n.endswith("/data.pkl")][0]
    with open("fuzz/FuzzPickle/" + name.replace(".", "_"), "w") as f:
        f.write("go test fuzz v1\n[]byte(" + go_quote(z.read(pkl)) + ")\n")
