#!/usr/bin/env python3
"""OpenSim 4.6's Umberger2010 metabolic probe against `twin gait so` on the
same activations: the activation and maintenance heat (the part of the model
that does not depend on the fibres' speed) summed over the muscles.

`twin gait so` optimises the trial; OpenSim then takes each frame's
coordinates and speeds from the IK motion, every muscle's activation and
excitation from ours, equilibrates the muscles (fibre lengths) and evaluates
an Umberger2010MuscleMetabolicsProbe with only the activation and
maintenance rate on (OpenSim's defaults otherwise: 0.25 MPa, 1059.7 kg/m³,
half slow-twitch, Bhargava recruitment, aerobic factor 1.5). The two means
over the frames (W per kg of body mass) must agree within 3 %. (The
speed-dependent parts are not compared: OpenSim's equilibrated fibres come
out with zero speed here.)

usage: check_metabolics.py TWIN MODEL MOTION LOADS T0 T1 WORKDIR
"""
import json
import os
import subprocess
import sys

import numpy as np
import opensim

opensim.Logger.setLevelString("Error")
twin, model_file, motion, loads, t0, t1, work = sys.argv[1:8]
os.makedirs(work, exist_ok=True)
out = subprocess.run([twin, "gait", "so", "--json", "--model", model_file, "--motion", motion,
                      "--loads", loads, "--time", f"{t0}:{t1}", "--out", os.path.join(work, "ours")],
                     check=True, capture_output=True, text=True)
summary = json.loads(out.stdout)
acts = opensim.TimeSeriesTable(summary["activations"])
times = np.array(acts.getIndependentColumn())
labels = list(acts.getColumnLabels())
activation = np.column_stack([acts.getDependentColumn(c).to_numpy() for c in labels])

model = opensim.Model(model_file)
probe = opensim.Umberger2010MuscleMetabolicsProbe(True, False, False, False)
probe.setName("umberger_am")
probe.setOperation("value")
for m in labels:
    probe.addMuscle(m, 0.5)
model.addProbe(probe)
state = model.initSystem()
coords = model.getCoordinateSet()
q = opensim.TimeSeriesTable(motion)
in_degrees = (q.getTableMetaDataString("inDegrees") == "yes") if q.hasTableMetaDataKey("inDegrees") else True
qt = np.array(q.getIndependentColumn())
qlabels = list(q.getColumnLabels())
muscles = model.getMuscles()
index = {muscles.get(i).getName(): i for i in range(muscles.getSize())}
power = np.zeros(len(times))
used = np.zeros(len(times), dtype=bool)
failed = 0
for f, t in enumerate(times):
    state.setTime(t)
    for k in range(coords.getSize()):
        c = coords.get(k)
        if c.getName() not in qlabels:
            continue
        col = q.getDependentColumn(c.getName()).to_numpy()
        # Motion type 1: rotational.
        scale = np.pi / 180 if in_degrees and c.getMotionType() == 1 else 1.0
        h = 1e-3
        c.setValue(state, np.interp(t, qt, col) * scale, False)
        c.setSpeedValue(state, (np.interp(t + h, qt, col) - np.interp(t - h, qt, col)) / (2 * h) * scale)
    model.assemble(state)
    controls = opensim.Vector(model.getNumControls(), 0.0)
    for j, name in enumerate(labels):
        mus = muscles.get(index[name])
        a = max(float(activation[f, j]), 0.0)
        mus.setActivation(state, a)
        mus.addInControls(opensim.Vector(1, a), controls)
    model.setControls(state, controls)
    try:
        model.equilibrateMuscles(state)
    except Exception:  # noqa: BLE001 — OpenSim finds no fibre equilibrium
        failed += 1
        continue
    model.realizeReport(state)
    power[f] = probe.computeProbeInputs(state).get(0)
    used[f] = True
mass = model.getTotalMass(state)
theirs = power[used].mean() / mass
if failed:
    print(f"OpenSim found no muscle equilibrium in {failed} of {len(times)} frames; compared over the others")
ours = summary["metabolic"]["umberger2010_activation_maintenance_w_per_kg"]
diff = 100 * (ours - theirs) / theirs
ok = abs(diff) <= 3.0
print(f"{os.path.basename(model_file)}: Umberger activation+maintenance heat, mean over {len(times)} frames: "
      f"OpenSim probe {theirs:.3f} W/kg, twin {ours:.3f} W/kg ({diff:+.1f} %) {'ok' if ok else 'FAIL'}; "
      f"twin gross totals: Umberger {summary['metabolic']['umberger2010_w_per_kg']:.2f}, "
      f"Bhargava {summary['metabolic']['bhargava2004_w_per_kg']:.2f} W/kg")
sys.exit(0 if ok else 1)
