#!/usr/bin/env python3
"""Checks that a Twinscope screenshot shows the app: a drawn panel on the left and
a 3D structure in the viewport (not blank, not one colour). Standard library only.

usage: png_stats.py SHOT.png [--panel-width PX]

When SHOT.json exists beside the PNG (written by `twinscope --screenshot`), its
"viewport" rectangle [x0, y0, x1, y1] (pixels) is where the 3D view was drawn;
otherwise everything right of the panel is taken as the viewport.
Prints the statistics it used and exits 1 with the reason when a check fails.
"""
import json
import os
import struct
import sys
import zlib


def read_png(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG file")
    pos, idat, width = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or colour not in (2, 6) or interlace:
                raise ValueError(f"unsupported PNG (depth {depth}, colour type {colour}, interlace {interlace})")
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, prev = [], bytearray(stride)
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, channels, rows


def region(rows, channels, x0, x1, y0, y1):
    px = []
    for y in range(y0, y1, 2):
        r = rows[y]
        for x in range(x0, x1, 2):
            px.append(tuple(r[x * channels:x * channels + 3]))
    return px


def describe(px):
    lum = [0.2126 * r + 0.7152 * g + 0.0722 * b for r, g, b in px]
    mean = sum(lum) / len(lum)
    sd = (sum((v - mean) ** 2 for v in lum) / len(lum)) ** 0.5
    counts = {}
    for p in px:
        counts[p] = counts.get(p, 0) + 1
    background, bg_n = max(counts.items(), key=lambda kv: kv[1])
    differs = sum(1 for p in px if max(abs(p[i] - background[i]) for i in range(3)) > 24) / len(px)
    return {"mean": mean, "sd": sd, "colours": len(counts), "background": background, "foreground_fraction": differs}


def main():
    path = sys.argv[1]
    panel = int(sys.argv[sys.argv.index("--panel-width") + 1]) if "--panel-width" in sys.argv else 300
    w, h, ch, rows = read_png(path)
    top, bottom = 30, h - 30
    meta = os.path.splitext(path)[0] + ".json"
    if os.path.exists(meta):
        x0, y0, x1, y1 = (int(v) for v in json.load(open(meta))["viewport"])
        # Leave out the orientation marker in the lower-left corner.
        view = describe(region(rows, ch, x0, x1, y0, max(y0 + 2, y1 - 110)))
    else:
        view = describe(region(rows, ch, panel + 40, w, top, h - 140))
    side = describe(region(rows, ch, 0, panel, top, bottom))
    print(f"{path}: {w}x{h}")
    print(f"  viewport: {view}")
    print(f"  panel:    {side}")
    failures = []
    if view["sd"] < 8 or view["colours"] < 200:
        failures.append("the viewport is blank or one colour")
    if not 0.03 <= view["foreground_fraction"] <= 0.9:
        failures.append(f"the viewport's structure covers {view['foreground_fraction']:.1%} (expected 3–90 %)")
    if side["colours"] < 8 or side["sd"] < 3:
        failures.append("the panel is not drawn (no text)")
    if side["background"] == view["background"]:
        failures.append("panel and viewport share one background: the panel is missing")
    for f in failures:
        print(f"FAIL: {f}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
