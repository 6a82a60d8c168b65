#!/usr/bin/env python3
"""Trains the LV-cavity network of `twin_mesh::cine_net` (issue 22) on the
Sunnybrook training masks (../shared/data/cmr/sunnybrook_lv_masks_png: 692
ED/ES short-axis frames of 39 cases, the expert's filled endocardial masks,
papillary muscles and trabeculae counted as cavity).

The network is a small U-Net (one input channel, five levels of 8..128
channels, two 3x3 convolutions with batch norm and ReLU per level, max-pool
down, nearest-neighbour up) that gives the probability of "LV cavity" per
pixel. It is trained on 128x128 crops of frames resampled to 1.4 mm pixels
(the frames have no spacing; Sunnybrook cines are 256x256 over 320-400 mm, so
the native grid is taken as 1.4 mm and random scale 0.8-1.25 covers the rest),
with random rotation, flips, contrast and noise. Intensities are normalised
per frame to the 1st..99.5th percentile, as the Rust inference does.

  usage: scripts/train_cine_lv.py [--folds K] [--epochs N] [--out DIR]

--folds K: K-fold cross-validation by patient (no patient in two folds; the
folds are drawn per group with a fixed seed), printing Dice per group at ED
and ES, then the final model on every case. Writes DIR/cine_lv.onnx (the
final model, batch norm folded) and DIR/cine_lv_cv.json (the split and the
scores). Runs on the CPU (torch, 2 threads); every random draw is seeded.
"""
import argparse
import json
import math
import os
import random
import re
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

SEED = 22
CROP = 128
GROUPS = ("SC-N", "SC-HYP", "SC-HF-I", "SC-HF-NI")


def data_dir() -> Path:
    root = Path(os.environ.get("TWIN_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
    return root / "cmr" / "sunnybrook_lv_masks_png"


def normalise(img: np.ndarray) -> np.ndarray:
    lo, hi = np.percentile(img, [1.0, 99.5])
    return np.clip((img - lo) / max(hi - lo, 1e-6), 0.0, 1.0).astype(np.float32)


def group_of(case: str) -> str:
    return next(g for g in sorted(GROUPS, key=len, reverse=True) if case.startswith(g + "-"))


def load():
    """Frames per case: (image, mask, phase 'ED'|'ES')."""
    d = data_dir()
    if not d.is_dir():
        sys.exit(f"no training data at {d} (set TWIN_DATA)")
    cases = {}
    for f in sorted((d / "images").iterdir()):
        m = re.match(r"(SC-[A-Z-]+-\d+)-IM-0001-(\d+)\.png", f.name)
        if not m:
            continue
        case, number = m.group(1), int(m.group(2))
        img = np.asarray(Image.open(f).convert("L"), dtype=np.float32)
        lab = np.asarray(Image.open(d / "labels" / f.name).convert("L")) > 127
        # Image number NNNN: slice (NNNN-1) div 20, phase (NNNN-1) mod 20 + 1.
        phase = (number - 1) % 20 + 1
        cases.setdefault(case, []).append((normalise(img), lab.astype(np.float32), number, phase))
    # ED is the contoured phase with the larger cavity (summed over the
    # case's slices), ES the other one: the phase numbers alone do not say
    # (most cases are contoured at phases 7-10 and 20, some at 1 and 9).
    out = {}
    for case, frames in cases.items():
        area = {}
        for _, l, _, p in frames:
            area[p] = area.get(p, 0.0) + float(l.sum())
        ed = max(area, key=area.get)
        out[case] = [(i, l, "ED" if p == ed else "ES", n) for i, l, n, p in frames]
    return out


def block(cin, cout):
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class UNet(nn.Module):
    WIDTHS = (8, 16, 32, 64, 128)

    def __init__(self):
        super().__init__()
        w = self.WIDTHS
        self.down = nn.ModuleList([block(1 if i == 0 else w[i - 1], w[i]) for i in range(len(w))])
        self.up = nn.ModuleList([block(w[i + 1] + w[i], w[i]) for i in reversed(range(len(w) - 1))])
        self.head = nn.Conv2d(w[0], 1, 1)

    def forward(self, x):
        skips = []
        for i, b in enumerate(self.down):
            if i:
                x = F.max_pool2d(x, 2)
            x = b(x)
            skips.append(x)
        for b, s in zip(self.up, reversed(skips[:-1])):
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
            x = b(torch.cat([x, s], 1))
        return self.head(x)


def batch(frames, rng: np.random.Generator, size: int):
    """Random crops of `size` frames, resampled with scale, rotation, flip
    and a shift that keeps the LV inside most crops (1 in 8 anywhere)."""
    pick = rng.integers(0, len(frames), size)
    imgs = torch.from_numpy(np.stack([frames[k][0] for k in pick]))[:, None]
    labs = torch.from_numpy(np.stack([frames[k][1] for k in pick]))[:, None]
    n, _, h, w = imgs.shape
    theta = torch.zeros(n, 2, 3)
    for j, k in enumerate(pick):
        lab = frames[k][1]
        ys, xs = np.nonzero(lab)
        if len(xs) and rng.random() > 0.125:
            cx, cy = xs.mean() + rng.normal(0, 12), ys.mean() + rng.normal(0, 12)
        else:
            cx, cy = rng.uniform(32, w - 32), rng.uniform(32, h - 32)
        s = math.exp(rng.uniform(math.log(0.8), math.log(1.25)))
        a = rng.uniform(-math.pi, math.pi)
        fx = -1.0 if rng.random() < 0.5 else 1.0
        # Output pixel (crop grid, normalised) → input normalised coordinates.
        half = CROP / 2 * s
        c, si = math.cos(a), math.sin(a)
        theta[j, 0] = torch.tensor([fx * c * half / (w / 2), -si * half / (w / 2), (cx - w / 2 + 0.5) / (w / 2)])
        theta[j, 1] = torch.tensor([fx * si * half / (h / 2), c * half / (h / 2), (cy - h / 2 + 0.5) / (h / 2)])
    grid = F.affine_grid(theta, (n, 1, CROP, CROP), align_corners=False)
    x = F.grid_sample(imgs, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    y = (F.grid_sample(labs, grid, mode="bilinear", align_corners=False) > 0.5).float()
    # Contrast: gamma, gain and offset, then noise.
    g = torch.from_numpy(np.exp(rng.uniform(math.log(0.7), math.log(1.4), (n, 1, 1, 1))).astype(np.float32))
    x = x.clamp(0, 1) ** g
    x = x * torch.from_numpy(rng.uniform(0.8, 1.2, (n, 1, 1, 1)).astype(np.float32))
    x = x + torch.from_numpy(rng.normal(0, 0.03, x.shape).astype(np.float32))
    return x, y


def loss_fn(logits, y):
    p = torch.sigmoid(logits)
    inter = (p * y).sum((1, 2, 3))
    dice = 1 - (2 * inter + 1) / (p.sum((1, 2, 3)) + y.sum((1, 2, 3)) + 1)
    return F.binary_cross_entropy_with_logits(logits, y) + dice.mean()


def train(frames, epochs: int, log: str) -> UNet:
    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    net = UNet()
    opt = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=1e-4)
    steps_per_epoch = max(1, len(frames) // 16)
    total = epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=total)
    t0 = time.time()
    for e in range(epochs):
        net.train()
        run = 0.0
        for _ in range(steps_per_epoch):
            x, y = batch(frames, rng, 16)
            loss = loss_fn(net(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            run += loss.item()
        print(f"{log} epoch {e + 1}/{epochs} loss {run / steps_per_epoch:.4f} ({time.time() - t0:.0f} s)", flush=True)
    net.eval()
    return net


def logits(net: UNet, img: np.ndarray) -> np.ndarray:
    """Whole frame, padded to a multiple of 16, as the Rust inference runs it."""
    h, w = img.shape
    ph, pw = (-h) % 16, (-w) % 16
    x = torch.from_numpy(np.pad(img, ((0, ph), (0, pw))))[None, None]
    with torch.no_grad():
        return net(x)[0, 0, :h, :w].numpy()


# The confidence of a cavity (twin_mesh::cine_net): its area above a logit of
# SURE_INSIDE over its area above SURE_OUTSIDE; below LOW_CONFIDENCE flagged.
SURE_INSIDE, SURE_OUTSIDE, LOW_CONFIDENCE = 2.0, -1.0, 0.6


def keep_largest(mask: np.ndarray) -> np.ndarray:
    """The largest 4-connected component (the Rust side keeps the one at the LV)."""
    from collections import deque
    lab = np.zeros(mask.shape, np.int32)
    best, best_n, cur = 0, 0, 0
    for y0, x0 in zip(*np.nonzero(mask)):
        if lab[y0, x0]:
            continue
        cur += 1
        q, n = deque([(y0, x0)]), 0
        lab[y0, x0] = cur
        while q:
            y, x = q.popleft()
            n += 1
            for yy, xx in ((y + 1, x), (y - 1, x), (y, x + 1), (y, x - 1)):
                if 0 <= yy < mask.shape[0] and 0 <= xx < mask.shape[1] and mask[yy, xx] and not lab[yy, xx]:
                    lab[yy, xx] = cur
                    q.append((yy, xx))
        if n > best_n:
            best, best_n = cur, n
    return lab == best if best else mask


def at_click(mask: np.ndarray, lab: np.ndarray) -> np.ndarray:
    """The component under the expert cavity's centroid: what a user's seed
    click in the LV keeps (empty when the network missed that point)."""
    ys, xs = np.nonzero(lab)
    if not len(xs):
        return keep_largest(mask)
    y, x = int(round(ys.mean())), int(round(xs.mean()))
    if not mask[y, x]:
        return np.zeros_like(mask)
    from collections import deque
    out = np.zeros_like(mask)
    out[y, x] = True
    q = deque([(y, x)])
    while q:
        cy, cx = q.popleft()
        for yy, xx in ((cy + 1, cx), (cy - 1, cx), (cy, cx + 1), (cy, cx - 1)):
            if 0 <= yy < mask.shape[0] and 0 <= xx < mask.shape[1] and mask[yy, xx] and not out[yy, xx]:
                out[yy, xx] = True
                q.append((yy, xx))
    return out


def dice(a: np.ndarray, b: np.ndarray) -> float:
    s = a.sum() + b.sum()
    return 1.0 if s == 0 else 2.0 * (a & b).sum() / s


def folds_by_group(cases, k: int):
    rng = random.Random(SEED)
    folds = [[] for _ in range(k)]
    for g in GROUPS:
        members = sorted(c for c in cases if group_of(c) == g)
        rng.shuffle(members)
        for i, c in enumerate(members):
            folds[i % k].append(c)
    return folds


def bland_altman(frames):
    cases = {}
    for fr in frames:
        c = cases.setdefault(fr["case"], {"ED": [0.0, 0.0], "ES": [0.0, 0.0]})
        c[fr["phase"]][0] += fr["area_px"]
        c[fr["phase"]][1] += fr["expert_area_px"]
    rows, d_ef, d_ed, d_es = [], [], [], []
    for case, c in sorted(cases.items()):
        (ed, ed_x), (es, es_x) = c["ED"], c["ES"]
        ef, ef_x = 100 * (1 - es / ed), 100 * (1 - es_x / ed_x)
        rows.append({"case": case, "ef": ef, "expert_ef": ef_x,
                     "edv_error_pct": 100 * (ed / ed_x - 1), "esv_error_pct": 100 * (es / es_x - 1)})
        d_ef.append(ef - ef_x)
        d_ed.append(rows[-1]["edv_error_pct"])
        d_es.append(rows[-1]["esv_error_pct"])
    summary = {}
    for name, d in (("ef_points", d_ef), ("edv_pct", d_ed), ("esv_pct", d_es)):
        d = np.array(d)
        bias, sd = float(d.mean()), float(d.std(ddof=1))
        summary[name] = {"bias": bias, "lower": bias - 1.96 * sd, "upper": bias + 1.96 * sd,
                         "max_abs": float(np.abs(d).max())}
        print(f"Bland-Altman {name}: bias {bias:+.1f}, limits {bias - 1.96 * sd:+.1f} to {bias + 1.96 * sd:+.1f}"
              f" (max |d| {np.abs(d).max():.1f}) over {len(d)} cases", flush=True)
    return {"rows": rows, "summary": summary}


def export(net: UNet, path: Path):
    net.eval()
    x = torch.zeros(1, 1, 128, 128)
    torch.onnx.export(net, (x,), str(path), input_names=["image"], output_names=["logit"],
                      dynamic_axes={"image": {0: "n", 2: "h", 3: "w"}, "logit": {0: "n", 2: "h", 3: "w"}},
                      opset_version=17, dynamo=False)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--folds", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "crates" / "twin_mesh" / "models"))
    ap.add_argument("--no-final", action="store_true", help="cross-validate only")
    a = ap.parse_args()
    torch.set_num_threads(2)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    cases = load()
    print(f"{sum(len(v) for v in cases.values())} frames of {len(cases)} cases", flush=True)
    report = {"epochs": a.epochs, "seed": SEED, "folds": [], "scores": {}, "frames": []}
    if a.folds:
        per = {}
        for f, held in enumerate(folds_by_group(cases, a.folds)):
            frames = [fr for c, v in cases.items() if c not in held for fr in v]
            net = train(frames, a.epochs, f"fold {f + 1}/{a.folds}")
            report["folds"].append(sorted(held))
            torch.save(net.state_dict(), out / f"cine_lv_fold{f + 1}.pt")
            for c in held:
                for img, lab, phase, number in cases[c]:
                    lg, truth = logits(net, img), lab > 0.5
                    raw = lg > 0
                    click = at_click(raw, truth)
                    scores = (dice(keep_largest(raw), truth), dice(click, truth))
                    outside = at_click(lg > SURE_OUTSIDE, truth).sum()
                    sure = float(at_click(lg > SURE_INSIDE, truth).sum() / outside) if outside else 0.0
                    per.setdefault((group_of(c), phase), []).append(scores)
                    report["frames"].append({"case": c, "image": number, "phase": phase, "fold": f + 1,
                                             "dice_click": scores[1], "dice_largest": scores[0],
                                             "confidence": sure,
                                             "area_px": int(click.sum()), "expert_area_px": float(truth.sum())})
        # Two ways of keeping the LV on a whole frame: the largest component
        # (no click; the Rust side uses every slice to find the LV instead)
        # and the component under a click in the cavity.
        for (g, phase), v in sorted(per.items()):
            v = np.array(v)
            report["scores"][f"{g} {phase}"] = {
                "mean_dice_largest": float(v[:, 0].mean()), "mean_dice_click": float(v[:, 1].mean()),
                "median_dice_click": float(np.median(v[:, 1])), "frames": len(v)}
            print(f"cross-validated Dice {g:9s} {phase}: largest component {v[:, 0].mean():.3f}, "
                  f"at a click {v[:, 1].mean():.3f} (median {np.median(v[:, 1]):.3f}) over {len(v)} frames",
                  flush=True)
        # Does the confidence tell the failures? Dice of the frames below the
        # bound and of the rest.
        conf = np.array([f["confidence"] for f in report["frames"]])
        dc = np.array([f["dice_click"] for f in report["frames"]])
        low = conf < LOW_CONFIDENCE
        report["confidence"] = {
            "correlation_with_dice": float(np.corrcoef(conf, dc)[0, 1]), "low_frames": int(low.sum()),
            "low_mean_dice": float(dc[low].mean()) if low.any() else None,
            "other_mean_dice": float(dc[~low].mean()),
            "dice_below_0.7": int((dc < 0.7).sum()), "of_them_low": int((low & (dc < 0.7)).sum())}
        print(f"confidence: r = {report['confidence']['correlation_with_dice']:.2f} with Dice; "
              f"{low.sum()} frames below {LOW_CONFIDENCE} (mean Dice {dc[low].mean() if low.any() else float('nan'):.2f}),"
              f" the others {dc[~low].mean():.2f}; {(low & (dc < 0.7)).sum()} of the {(dc < 0.7).sum()}"
              f" frames with Dice < 0.7 flagged", flush=True)
        # Per case, the cavity summed over the contoured slices at ED and ES
        # (volumes up to the unknown slice spacing, which EF does not need):
        # Bland-Altman of EF and of the relative volume error.
        report["cases"] = bland_altman(report["frames"])
        with open(out / "cine_lv_cv.json", "w") as fh:
            json.dump(report, fh, indent=1)
    if not a.no_final:
        frames = [fr for v in cases.values() for fr in v]
        net = train(frames, a.epochs, "final")
        export(net, out / "cine_lv.onnx")
        print(f"wrote {out / 'cine_lv.onnx'}")


if __name__ == "__main__":
    main()
