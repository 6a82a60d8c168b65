#!/usr/bin/env python3
"""The passive ankle spring's effect on the right plantarflexors, by OpenSim
4.6 and by `twin gait so` (MANIFEST §1.2: gait10dof18musc with an
`AnkleLimitSpringDamper` on ankle_angle_r, static optimization 0.5–1.3 s).

OpenSim runs its own setup (`staticoptimization_spring_Setup.xml`, copied
with its inputs to WORKDIR/inputs so nothing is written beside the data) on the
model with the spring and on the same model without it; Twinscope runs the
same two models (20-Hz filter standing in for OpenSim's GCV splines).
For soleus_r and gastroc_r, the change of the mean activation over the
window (with − without) must have the same sign for both, and ours must be
within 30 % (or 0.01) of OpenSim's.

usage: check_spring.py TWIN SPRINGDIR WORKDIR
"""
import os
import shutil
import subprocess
import sys
import json

import opensim

opensim.Logger.setLevelString("Error")
twin, src, work = sys.argv[1:4]
inputs = os.path.join(work, "inputs")
os.makedirs(inputs, exist_ok=True)
for f in os.listdir(src):
    shutil.copy(os.path.join(src, f), inputs)
here = os.getcwd()
os.chdir(inputs)

spring = opensim.Model("subject01_adjusted_spring.osim")
no_spring = opensim.Model("subject01_adjusted_spring.osim")
fs = no_spring.updForceSet()
fs.remove(fs.getIndex("AnkleLimitSpringDamper"))
no_spring.printToXML("no_spring.osim")


def opensim_so(model_file, name):
    # A copy of the setup naming this model, this run and the results folder.
    import re
    text = open("staticoptimization_spring_Setup.xml").read()
    text = re.sub(r"<model_file>[^<]*</model_file>", f"<model_file>{model_file}</model_file>", text)
    text = re.sub(r'<AnalyzeTool name="[^"]*"', f'<AnalyzeTool name="{name}"', text)
    text = re.sub(r"<results_directory>[^<]*</results_directory>",
                  f"<results_directory>{os.path.join(work, 'opensim')}</results_directory>", text)
    setup = f"{name}_setup.xml"
    open(setup, "w").write(text)
    opensim.AnalyzeTool(setup).run()
    t = opensim.TimeSeriesTable(os.path.join(work, "opensim", f"{name}_StaticOptimization_activation.sto"))
    return {c: list(t.getDependentColumn(c).to_numpy()) for c in ("soleus_r", "gastroc_r")}


def ours(model_file, name):
    out = subprocess.run([twin, "gait", "so", "--json", "--model", model_file,
                          "--motion", "walk_subject01_Kinematics_q.sto", "--loads", "externalForces.xml",
                          "--cutoff", "20", "--time", "0.5:1.3", "--out", os.path.join(work, "ours", name)],
                         check=True, capture_output=True, text=True)
    path = json.loads(out.stdout)["activations"]
    t = opensim.TimeSeriesTable(path)
    return {c: list(t.getDependentColumn(c).to_numpy()) for c in ("soleus_r", "gastroc_r")}


mean = lambda v: sum(v) / len(v)  # noqa: E731
theirs = (opensim_so("subject01_adjusted_spring.osim", "spring"), opensim_so("no_spring.osim", "no_spring"))
mine = (ours("subject01_adjusted_spring.osim", "spring"), ours("no_spring.osim", "no_spring"))
os.chdir(here)
failed = False
for m in ("soleus_r", "gastroc_r"):
    d_theirs = mean(theirs[0][m]) - mean(theirs[1][m])
    d_ours = mean(mine[0][m]) - mean(mine[1][m])
    ok = d_theirs * d_ours > 0 and abs(d_ours - d_theirs) <= max(0.3 * abs(d_theirs), 0.01)
    failed |= not ok
    print(f"{m}: mean activation with − without the spring: OpenSim {d_theirs:+.4f} "
          f"({mean(theirs[1][m]):.4f} → {mean(theirs[0][m]):.4f}), twin {d_ours:+.4f} "
          f"({mean(mine[1][m]):.4f} → {mean(mine[0][m]):.4f}) {'ok' if ok else 'FAIL'}")
sys.exit(1 if failed else 0)
