#!/usr/bin/env python3
"""Independent check of `twin gait so` with OpenSim's own StaticOptimization
(PyPI `opensim`) on the same model, motion, loads and time range: both with a
reserve (CoordinateActuator, optimal force 1) on every unlocked coordinate,
activation exponent 2, muscle physiology on, 6 Hz low-pass on the
coordinates. Checks, for the major muscles named on the command line:
activations correlate >= 0.9 with OpenSim's and peak within 5 % of the gait
cycle of it (two peaks within 5 % of each other, in either curve, count as
the same peak), and forces within 15 % RMS of OpenSim's peak.
Also measures every muscle's moment arms against OpenSim's
`computeMomentArm` at the trial's frames (the models have no wrap objects:
the paths are the same via points, so they must agree to 0.1 mm).

usage: check_so.py TWIN MODEL.osim MOTION.mot LOADS.xml T0 T1 CYCLE_S WORKDIR MUSCLE...
"""
import json
import math
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import opensim

opensim.Logger.setLevelString("Error")
twin, model_path, motion, loads, t0, t1, cycle, work = sys.argv[1:9]
major = sys.argv[9:]
t0, t1, cycle = float(t0), float(t1), float(cycle)
os.makedirs(work, exist_ok=True)
absolute = lambda p: os.path.abspath(p)  # noqa: E731

# ExternalLoads with an absolute data file (OpenSim resolves it against the
# setup's folder otherwise).
tree = ET.parse(loads)
datafile = tree.find(".//datafile")
datafile.text = absolute(os.path.join(os.path.dirname(loads), datafile.text.strip()))
loads_copy = os.path.join(work, "loads.xml")
tree.write(loads_copy)

# The model with a reserve on every unlocked coordinate.
model = opensim.Model(model_path)
model.initSystem()
for c in model.getCoordinateSet():
    if c.get_locked():
        continue
    act = opensim.CoordinateActuator(c.getName())
    act.setName(c.getName() + "_reserve")
    act.setOptimalForce(1.0)
    act.setMinControl(-math.inf)
    act.setMaxControl(math.inf)
    model.addForce(act)
model_copy = os.path.join(work, "model_reserves.osim")
model.printToXML(model_copy)

setup = f"""<?xml version="1.0" encoding="UTF-8" ?>
<OpenSimDocument Version="40000"><AnalyzeTool name="check">
<model_file>{model_copy}</model_file><replace_force_set>false</replace_force_set>
<results_directory>{absolute(work)}</results_directory>
<initial_time>{t0}</initial_time><final_time>{t1}</final_time>
<AnalysisSet><objects><StaticOptimization name="StaticOptimization">
<on>true</on><start_time>{t0}</start_time><end_time>{t1}</end_time><step_interval>1</step_interval>
<use_model_force_set>true</use_model_force_set><activation_exponent>2</activation_exponent>
<use_muscle_physiology>true</use_muscle_physiology>
<optimizer_convergence_criterion>0.0001</optimizer_convergence_criterion>
<optimizer_max_iterations>100</optimizer_max_iterations>
</StaticOptimization></objects></AnalysisSet>
<external_loads_file>{loads_copy}</external_loads_file>
<coordinates_file>{absolute(motion)}</coordinates_file>
<lowpass_cutoff_frequency_for_coordinates>6</lowpass_cutoff_frequency_for_coordinates>
</AnalyzeTool></OpenSimDocument>
"""
setup_path = os.path.join(work, "so_setup.xml")
open(setup_path, "w").write(setup)
start = time.perf_counter()
opensim.AnalyzeTool(setup_path).run()
opensim_s = time.perf_counter() - start


def read_sto(path):
    table = opensim.TimeSeriesTable(path)
    labels = list(table.getColumnLabels())
    times = list(table.getIndependentColumn())
    cols = {lab: list(table.getDependentColumn(lab).to_numpy()) for lab in labels}
    return times, cols


theirs_t, theirs_a = read_sto(os.path.join(work, "check_StaticOptimization_activation.sto"))
_, theirs_f = read_sto(os.path.join(work, "check_StaticOptimization_force.sto"))

start = time.perf_counter()
out = subprocess.run([twin, "gait", "so", "--json", "--model", model_path, "--motion", motion,
                      "--loads", loads, "--time", f"{t0}:{t1}", "--moment-arms",
                      "--out", os.path.join(work, "ours")],
                     check=True, capture_output=True, text=True)
twin_s = time.perf_counter() - start
summary = json.loads(out.stdout)
ours_t, ours_a = read_sto(summary["activations"])
_, ours_f = read_sto(summary["forces"])
arms_t, arms = read_sto(summary["moment_arms"])


def nearest(times, t):
    return min(range(len(times)), key=lambda i: abs(times[i] - t))


rows = [nearest(ours_t, t) for t in theirs_t]


def corr(a, b):
    n = len(a)
    ma, mb = sum(a) / n, sum(b) / n
    cov = sum((x - ma) * (y - mb) for x, y in zip(a, b))
    va = sum((x - ma) ** 2 for x in a)
    vb = sum((y - mb) ** 2 for y in b)
    return cov / math.sqrt(va * vb)


failed = False
print(f"{os.path.basename(model_path)}: {len(theirs_t)} frames; OpenSim {opensim.__version__} "
      f"StaticOptimization {opensim_s:.2f} s, twin gait so {twin_s:.3f} s (process, with I/O)")
for m in major:
    a = [ours_a[m][r] for r in rows]
    b = theirs_a[m]
    r = corr(a, b)
    ia, ib = max(range(len(a)), key=a.__getitem__), max(range(len(b)), key=b.__getitem__)
    dt = abs(theirs_t[ia] - theirs_t[ib]) / cycle
    # Two peaks within 5 % of each other, in either curve, are the same peak.
    same_peak = dt <= 0.05 or a[ib] >= 0.95 * a[ia] or b[ia] >= 0.95 * b[ib]
    fa = [ours_f[m][r] for r in rows]
    fb = theirs_f[m]
    peak = max(abs(x) for x in fb)
    rms = math.sqrt(sum((x - y) ** 2 for x, y in zip(fa, fb)) / len(fb)) / peak
    ok = r >= 0.9 and same_peak and rms <= 0.15
    failed |= not ok
    print(f"  {m:14} r {r:6.3f}  peak Δt {100 * dt:5.1f} % cycle  force RMS {100 * rms:5.1f} % of "
          f"{peak:7.1f} N  {'ok' if ok else 'FAIL'}")

# Moment arms at every frame of ours against OpenSim's.
state = model.initSystem()
coords = {c.getName(): c for c in model.getCoordinateSet()}
motion_table = opensim.TimeSeriesTable(motion)
labels = list(motion_table.getColumnLabels())
in_degrees = motion_table.getTableMetaDataAsString("inDegrees") != "no" \
    if motion_table.hasTableMetaDataKey("inDegrees") else True
mtimes = list(motion_table.getIndependentColumn())
worst, count, where = 0.0, 0, None
for k, t in enumerate(arms_t[:: max(1, len(arms_t) // 10)]):
    row = motion_table.getRowAtIndex(nearest(mtimes, t))
    for j, lab in enumerate(labels):
        if lab in coords:
            v = row[j]
            if coords[lab].getMotionType() == 1 and in_degrees:  # rotational
                v = math.radians(v)
            coords[lab].setValue(state, v, False)
    model.assemble(state) if False else model.realizePosition(state)
    i = nearest(arms_t, t)
    for label, col in arms.items():
        if not label.endswith("_moment_arm"):
            continue
        for mus in model.getMuscles():
            name = mus.getName()
            if label.startswith(name + "_"):
                coord = label[len(name) + 1:-len("_moment_arm")]
                if coord in coords:
                    theirs = mus.computeMomentArm(state, coords[coord])
                    if abs(col[i] - theirs) > worst:
                        worst, where = abs(col[i] - theirs), (name, coord, t, col[i], theirs)
                    count += 1
ok = worst <= 1e-4
failed |= not ok
print(f"  moment arms: {count} muscle-coordinate pairs over 10 frames, max |Δ| {1000 * worst:.4f} mm "
      f"{'ok' if ok else 'FAIL'} (largest: {where})")
sys.exit(1 if failed else 0)
