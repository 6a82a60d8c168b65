#!/usr/bin/env python3
"""Independent check of `twin gait scale` with OpenSim's own Scale tool
(PyPI `opensim`): both measure the same marker pairs of the same trial
frames; every body's scale factor must agree to 1e-5 (OpenSim writes six
significant digits).

usage: check_scale.py TWIN MODEL.osim STATIC.trc WORKDIR
"""
import json
import os
import re
import subprocess
import sys

import opensim

opensim.Logger.removeFileSink()
twin, model, static, work = sys.argv[1:5]
os.makedirs(os.path.join(work, "setup"), exist_ok=True)
setup_dir = os.path.join(work, "setup")
rel = lambda p: os.path.relpath(os.path.abspath(p), setup_dir)  # noqa: E731
# OpenSim resolves every file in a setup against the setup's folder.
setup = f"""<?xml version="1.0" encoding="UTF-8" ?>
<OpenSimDocument Version="40000"><ScaleTool name="check"><mass>75</mass>
<GenericModelMaker><model_file>{rel(model)}</model_file></GenericModelMaker>
<ModelScaler><apply>true</apply><scaling_order> measurements</scaling_order>
<MeasurementSet><objects>
 <Measurement name="pelvis"><apply>true</apply>
  <MarkerPairSet><objects><MarkerPair><markers>R.ASIS L.ASIS</markers></MarkerPair>
   <MarkerPair><markers>R.ASIS V.Sacral</markers></MarkerPair></objects></MarkerPairSet>
  <BodyScaleSet><objects><BodyScale name="pelvis"><axes>X Y Z</axes></BodyScale></objects></BodyScaleSet></Measurement>
 <Measurement name="thigh"><apply>true</apply>
  <MarkerPairSet><objects><MarkerPair><markers>R.Thigh.Upper R.Shank.Upper</markers></MarkerPair>
   <MarkerPair><markers>L.Thigh.Upper L.Shank.Upper</markers></MarkerPair></objects></MarkerPairSet>
  <BodyScaleSet><objects><BodyScale name="femur_r"><axes>X Y Z</axes></BodyScale>
   <BodyScale name="femur_l"><axes>X Y Z</axes></BodyScale></objects></BodyScaleSet></Measurement>
</objects></MeasurementSet>
<marker_file>{rel(static)}</marker_file><time_range> 0 0.1</time_range>
<preserve_mass_distribution>true</preserve_mass_distribution>
<output_scale_file>scales.xml</output_scale_file></ModelScaler>
<MarkerPlacer><apply>false</apply></MarkerPlacer></ScaleTool></OpenSimDocument>
"""
path = os.path.join(setup_dir, "scale_setup.xml")
open(path, "w").write(setup)
opensim.ScaleTool(path).run()  # writes the scale set even without an output model
xml = open(os.path.join(setup_dir, "scales.xml")).read()
theirs = {seg: float(s.split()[0]) for s, seg in
          re.findall(r"<scales>([^<]+)</scales>\s*<segment>([^<]+)</segment>", xml)}
out = subprocess.run([twin, "gait", "scale", "--json", "--model", model, "--static", static,
                      "--setup", path, "--time", "0:0.1", "--out", os.path.join(work, "ours")],
                     check=True, capture_output=True, text=True)
ours_file = json.loads(out.stdout)["output"]
ours = {b: f[0] for b, f in json.load(open(ours_file))["factors"].items()}
failed = False
for body, factor in sorted(ours.items()):
    other = theirs.get(body)
    ok = other is not None and abs(factor - other) <= 1e-5 * max(1.0, abs(other))
    print(f"{body}: twin {factor:.6f}, OpenSim {opensim.__version__} {other} {'ok' if ok else 'FAIL'}")
    failed |= not ok
sys.exit(1 if failed else 0)
