#!/usr/bin/env python3
"""Independent check of Twinscope's mesh files with trimesh (PyPI): each file
must load as a watertight mesh whose volume equals the one `twin mesh --json`
reported within 0.1 %.

usage: check_meshes.py SUMMARY.json [SUMMARY.json ...]
(each SUMMARY.json is the output of `twin mesh ... --json`)
"""
import json
import sys

import trimesh

failed = False
for summary_path in sys.argv[1:]:
    with open(summary_path) as f:
        summary = json.load(f)
    path = summary["output"]
    mesh = trimesh.load(path, force="mesh", process=True)
    want = summary["volume_ml"] * 1000.0
    got = abs(mesh.volume)
    rel = abs(got / want - 1.0)
    ok = mesh.is_watertight and rel < 1e-3
    print(f"{path}: trimesh watertight={mesh.is_watertight} volume={got:.1f} mm3 "
          f"(twin {want:.1f}, {rel * 100:.4f} %) {'ok' if ok else 'FAIL'}")
    failed |= not ok
sys.exit(1 if failed else 0)
