#!/usr/bin/env python3
"""How much of the expert's end-systolic LV cavity can the image itself tell
apart from the myocardium? (Sunnybrook SCD0003701 subset, ../shared/data.)

Independent of Twinscope's segmentation: per slice with an endocardial
contour, the pixels inside the contour are split into *blood* (3 x 3 median
above the half-way level between the blood and wall levels) and *tissue
counted as cavity* (below it: papillary muscles and trabeculae). That tissue
is compared with the myocardium just outside the contour (1.5-6 mm band):
medians, and the balanced accuracy of the best single threshold on the
3 x 3 median (1.0 = separable, 0.5 = indistinguishable).

Usage: python scripts/sunnybrook_es_contrast.py [DATA_ROOT]
(DATA_ROOT defaults to $TWIN_DATA or ../shared/data; needs numpy + pydicom,
see scripts/requirements-test.txt.)
"""

import os
import sys
from pathlib import Path

import numpy as np
import pydicom

CASE = "dicom/cmr_sax_sunnybrook_SCD0003701_subset"


def data_root():
    if len(sys.argv) > 1:
        return Path(sys.argv[1])
    if os.environ.get("TWIN_DATA"):
        return Path(os.environ["TWIN_DATA"])
    return Path(__file__).resolve().parents[1].parent / "shared" / "data"


def inside(poly, xs, ys):
    """Pixel centres inside a polygon (even-odd rule), as the Rust test does."""
    c = np.zeros(xs.shape, bool)
    n = len(poly)
    for i in range(n):
        a, b = poly[i], poly[i - 1]
        if a[1] == b[1]:
            continue
        cross = (a[1] > ys) != (b[1] > ys)
        c ^= cross & (xs < (b[0] - a[0]) * (ys - a[1]) / (b[1] - a[1]) + a[0])
    return c


def median3(img):
    shifted = [np.roll(np.roll(img, dy, 0), dx, 1) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    return np.median(np.stack(shifted), 0)


def band(mask, inner_mm, outer_mm, spacing):
    """Pixels between inner_mm and outer_mm outside a mask (4-connected steps)."""
    dist = np.full(mask.shape, np.inf)
    dist[mask] = 0
    cur = mask.copy()
    step = 0
    while step * spacing < outer_mm:
        step += 1
        grown = cur | np.roll(cur, 1, 0) | np.roll(cur, -1, 0) | np.roll(cur, 1, 1) | np.roll(cur, -1, 1)
        dist[grown & ~cur] = step * spacing
        cur = grown
    return (dist >= inner_mm) & (dist < outer_mm)


def best_threshold_accuracy(a, b):
    levels = np.unique(np.concatenate([a, b]))
    return max(((a >= t).mean() + (b < t).mean()) / 2 for t in levels)


def main():
    root = data_root() / CASE
    if not root.is_dir():
        print(f"{root}: not found (set TWIN_DATA)", file=sys.stderr)
        return 2
    print("phase  inst  tissue%  tissue/wall median  best-threshold accuracy")
    for path in sorted((root / "expert_contours").glob("*-icontour-manual.txt")):
        number = int(path.name[8:12])
        ds = pydicom.dcmread(root / "dicom" / f"IM-0009-{number:04d}.dcm")
        img = median3(ds.pixel_array.astype(float))
        spacing = float(ds.PixelSpacing[0])
        ys, xs = np.mgrid[0 : img.shape[0], 0 : img.shape[1]].astype(float)
        cavity = inside(np.loadtxt(path), xs, ys)
        wall_band = band(cavity, 1.5, 6.0, spacing)
        blood = np.percentile(img[cavity], 90)
        wall = np.median(img[wall_band])
        tissue = cavity & (img < wall + 0.5 * (blood - wall))
        phase = "ED" if float(ds.TriggerTime) > 900 else "ES"
        acc = best_threshold_accuracy(img[tissue], img[wall_band]) if tissue.any() else float("nan")
        print(
            f"{phase:5}  {number:4}  {100 * tissue.sum() / cavity.sum():6.1f}  "
            f"{np.median(img[tissue]) if tissue.any() else float('nan'):7.1f} / {wall:5.1f}   {acc:6.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
