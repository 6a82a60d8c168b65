"""Helpers of scripts/e2e-twin.

  seed DIR   the LV seed (patient mm, LPS) of a demo cine: the image centre
             of slice 5 (as tests/tests/demo_pipeline.rs clicks it)
  check DIR  checks the twins and reports both sessions wrote
"""
import json
import pathlib
import re
import sys

import numpy as np
import pydicom


def seed(folder):
    slices = {}
    for f in sorted(pathlib.Path(folder).rglob("*")):
        if not f.is_file():
            continue
        try:
            d = pydicom.dcmread(f, stop_before_pixels=True)
        except Exception:
            continue
        ipp = tuple(float(v) for v in d.ImagePositionPatient)
        slices.setdefault(ipp, d)
    first = next(iter(slices.values()))
    iop = np.array([float(v) for v in first.ImageOrientationPatient])
    row, col = iop[:3], iop[3:]
    normal = np.cross(row, col)
    order = sorted(slices, key=lambda p: float(np.dot(p, normal)))
    d = slices[order[5]]
    dr, dc = (float(v) for v in d.PixelSpacing)  # row spacing, column spacing
    p = np.array(order[5]) + 96 * dc * row + 96 * dr * col
    print(",".join(f"{v:.2f}" for v in p))


def fail(msg):
    print(f"e2e-twin: {msg}", file=sys.stderr)
    sys.exit(1)


def check_twin(path, want_imaging):
    t = json.loads(path.read_text())
    if t.get("format") != "twinscope-twin":
        fail(f"{path.name}: not a twin file")
    names = [v["name"] for v in t["variants"]]
    if names[:2] != ["severe AS", "TAVR"]:
        fail(f"{path.name}: variants {names}")
    cardio = t.get("cardio") or fail(f"{path.name}: not calibrated")
    if want_imaging and "LV curve" not in cardio["source"]:
        fail(f"{path.name}: targets not from the LV curve: {cardio['source']}")
    worst = max(abs(r["error_percent"]) for r in cardio["residuals"])
    if worst > 5:
        fail(f"{path.name}: calibration residual {worst:.1f} %")
    g = [v["results"].get("aortic_mean_gradient_mmhg") for v in t["variants"][:2]]
    if g[0] is None or g[1] is None or not (g[0] > 40 and g[1] < g[0] / 2):
        fail(f"{path.name}: mean aortic gradients severe AS {g[0]}, TAVR {g[1]}")
    return t, g


def check_report(path, screenshot):
    h = path.read_text()
    wants = ["severe AS", "TAVR", "Provenance", "Calibration", "<svg"]
    if screenshot:  # the app's twin refers to its study: hidden with privacy on
        wants.append("hidden (privacy mode)")
    for want in wants:
        if want not in h:
            fail(f"{path.name}: no “{want}”")
    if not re.search(r"<h1>Twin [0-9A-F]{4}</h1>", h):
        fail(f"{path.name}: the title is not a pseudonym")
    if screenshot and "data:image/png;base64," not in h:
        fail(f"{path.name}: no 3D view screenshot")


def check(folder):
    w = pathlib.Path(folder)
    cli, gc = check_twin(w / "cli.twin.json", False)
    app, ga = check_twin(w / "app.twin.json", True)
    if not app["segments"]:
        fail("app.twin.json: no segment (the LV was segmented)")
    ec, ea = cli["cardio"]["targets"]["lv_edv_ml"], app["cardio"]["targets"]["lv_edv_ml"]
    if abs(ec - ea) > 0.01 * ec:
        fail(f"EDV target CLI {ec:.1f} vs app {ea:.1f} mL")
    check_report(w / "cli-report.html", False)
    check_report(w / "app-report.html", True)
    for png in ["session1.png", "session2.png"]:
        if (w / png).stat().st_size < 10_000:
            fail(f"{png}: too small")
    print(
        f"e2e-twin: EDV target {ec:.1f} (CLI) / {ea:.1f} mL (app); mean aortic gradient "
        f"severe AS {gc[0]:.1f} / {ga[0]:.1f}, TAVR {gc[1]:.1f} / {ga[1]:.1f} mmHg; "
        f"app segment {app['segments'][0]['name']!r} {app['segments'][0].get('volume_ml')} mL"
    )


def gait(folder):
    """The CLI's prosthesis variants: each has its gait summary, the two
    devices differ, and the report tables and plots them."""
    w = pathlib.Path(folder)
    ran = json.loads((w / "gait-run.json").read_text())
    base = ran.get("gait_baseline") or fail("gait-run.json: no intact gait baseline")
    peaks = []
    for v in ran["variants"]:
        r = v["results"]
        for k in ["gait_metabolic_umberger_w_per_kg", "gait_ankle_reserve_percent",
                  "gait_device_peak_plantarflexor_moment_nm"]:
            if k not in r:
                fail(f"gait-run.json: variant {v['name']!r} has no {k}")
        peaks.append(r["gait_device_peak_plantarflexor_moment_nm"])
    if len(peaks) != 2 or abs(peaks[0] - peaks[1]) < 1.0:
        fail(f"gait-run.json: device peak moments {peaks}")
    h = (w / "gait-report.html").read_text()
    for want in ["bilinear soft (prosthesis)", "(prosthesis)</h2>", "Prosthetic ankle moment",
                 "gait_ankle_reserve_percent"]:
        if want not in h:
            fail(f"gait-report.html: no “{want}”")
    print(
        f"e2e-twin: gait variants: intact {base['gait_metabolic_umberger_w_per_kg']:.2f} W/kg; "
        f"device peak plantarflexor moments {peaks[0]:.1f} / {peaks[1]:.1f} N·m"
    )


if __name__ == "__main__":
    {"seed": seed, "check": check, "gait": gait}[sys.argv[1]](sys.argv[2])
