#!/usr/bin/env python3
"""OpenSim 4.6's InverseDynamicsTool against `twin gait id` on the same
inputs (gait2354 subject01 walk1, 0.5–1.6 s, 6-Hz filter, muscles
excluded): for every coordinate the RMS difference of the generalized
forces must be ≤ 5 % of OpenSim's peak, or ≤ 0.05 N·m (N) where that peak
is below 1 (the mtp joints carry ~0.1 N·m).

The inputs are copied to WORKDIR/inputs first, so nothing is written beside
the data.

usage: check_id.py TWIN DATADIR WORKDIR
"""
import json
import math
import os
import shutil
import subprocess
import sys

import opensim

opensim.Logger.setLevelString("Error")
opensim.Logger.removeFileSink()
twin, data, work = sys.argv[1:4]
inputs = os.path.join(work, "inputs")
os.makedirs(inputs, exist_ok=True)
for f in ("subject01.osim", "subject01_walk1_ik.mot", "subject01_walk1_grf.xml", "subject01_walk1_grf.mot"):
    shutil.copy(os.path.join(data, f), inputs)
here = os.getcwd()
os.chdir(inputs)
tool = opensim.InverseDynamicsTool()
model = opensim.Model("subject01.osim")
tool.setModel(model)
tool.setCoordinatesFileName("subject01_walk1_ik.mot")
tool.setLowpassCutoffFrequency(6)
tool.setExternalLoadsFileName("subject01_walk1_grf.xml")
tool.setStartTime(0.5)
tool.setEndTime(1.6)
excluded = opensim.ArrayStr()
excluded.append("Muscles")
tool.setExcludedForces(excluded)
tool.setResultsDir(os.path.join(work, "opensim"))
tool.setOutputGenForceFileName("id.sto")
tool.run()
os.chdir(here)
theirs = opensim.TimeSeriesTable(os.path.join(work, "opensim", "id.sto"))
out = subprocess.run([twin, "gait", "id", "--json", "--model", os.path.join(inputs, "subject01.osim"),
                      "--motion", os.path.join(inputs, "subject01_walk1_ik.mot"),
                      "--loads", os.path.join(inputs, "subject01_walk1_grf.xml"),
                      "--time", "0.5:1.6", "--out", os.path.join(work, "ours")],
                     check=True, capture_output=True, text=True)
ours = opensim.TimeSeriesTable(json.loads(out.stdout)["output"])
t_theirs = list(theirs.getIndependentColumn())
t_ours = list(ours.getIndependentColumn())
failed = []
worst = (0.0, "")
for label in theirs.getColumnLabels():
    if label not in ours.getColumnLabels():
        failed.append(f"{label}: not in ours")
        continue
    a = theirs.getDependentColumn(label).to_numpy()
    b = ours.getDependentColumn(label).to_numpy()
    # Compare at OpenSim's times (ours are the same frames).
    near = {round(t, 5): j for j, t in enumerate(t_ours)}
    pairs = [(a[i], b[near[round(t, 5)]]) for i, t in enumerate(t_theirs) if round(t, 5) in near]
    if len(pairs) < 0.9 * len(t_theirs):
        failed.append(f"{label}: {len(pairs)} of {len(t_theirs)} frames in common")
        continue
    rms = math.sqrt(sum((x - y) ** 2 for x, y in pairs) / len(pairs))
    peak = max(abs(x) for x, _ in pairs)
    share = 100 * rms / peak if peak > 0 else 0.0
    ok = rms <= 0.05 if peak < 1.0 else share <= 5.0
    if peak >= 1.0 and share > worst[0]:
        worst = (share, label)
    print(f"  {label:28} peak {peak:8.3f}  RMS difference {rms:7.4f} ({share:5.2f} % of peak) {'ok' if ok else 'FAIL'}")
    if not ok:
        failed.append(label)
print(f"ID against OpenSim 4.6: {len(theirs.getColumnLabels())} coordinates, worst {worst[0]:.2f} % ({worst[1]})"
      + (f"; FAILED: {', '.join(failed)}" if failed else ""))
sys.exit(1 if failed else 0)
