#!/usr/bin/env python3
"""Runs Twinscope's hot paths and their peers on the same inputs, in the same run,
and writes the results (machine, date, medians, ratios) into docs/PERFORMANCE.md.

usage: bench/run.py [--repeat N] [--no-write] [BENCH ...]
Benchmarks: dicom-scan-chest-ct, dicom-load-chest-ct, dicom-scan-ct-512x512x400,
dicom-load-ct-512x512x400, isosurface-chest-ct, isosurface-field-256,
mask-surface-chest-ct, mask-surface-field-256, surface-pipeline-chest-ct,
cine-lv-demo, cardio-beats, cardio-timeline, cardio-calibrate, gait-ik-gait2354, gait-ik-gait10dof, gait-id-gait2354,
gait-id-gait10dof, gait-so-gait2354, gait-so-gait10dof, gait-whatif-gait2354, gait-whatif-gait10dof,
gait-forward-2d, gait-forward-2d-euler, ep-march-demo-heart, ep-graph-demo-heart (default: all). Gait benchmarks run whole tools (read model and data, solve,
write) on the shared OpenSim data against OpenSim 4.6 from PyPI. Surface benchmarks read raw float32 volumes (the chest CT
exported by `twin-bench export-raw`, a 256³ phantom by `twin-bench make-field`)
generated once into ~/.cache/twinscope; only the surface work is timed. The 512×512×400 uncompressed CT is
generated once by `twin-bench make-ct` into ~/.cache/twinscope (not the repo).
Builds bench/ in release mode and the peers' virtualenv (bench/requirements.txt).
Peak memory is each process's peak resident set (VmHWM / ru_maxrss), reported
for the load benchmarks against the float32 volume's size.
"""
import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "PERFORMANCE.md"


def shared_data() -> Path:
    env = os.environ.get("TWIN_DATA")
    if env:
        return Path(env)
    for d in [ROOT, *ROOT.parents]:
        if (d / "shared" / "data").is_dir():
            return d / "shared" / "data"
    sys.exit("bench: shared data not found (set TWIN_DATA)")


BENCHES = {
    "dicom-scan-chest-ct": ("dicom-scan", "dicom/ct_chest_covidctmd_normal001/dicom",
                            "Header scan + series grouping, chest CT (154 files, JPEG Lossless)",
                            ["pydicom", "simpleitk"]),
    "dicom-load-chest-ct": ("dicom-load", "dicom/ct_chest_covidctmd_normal001/dicom",
                            "Scan + decode + assemble to float32 HU volume, chest CT 512×512×154",
                            ["pydicom", "simpleitk"]),
    "dicom-scan-ct-512x512x400": ("dicom-scan", "generated:ct-512x512x400",
                                  "Header scan, uncompressed CT phantom (400 files)",
                                  ["pydicom", "simpleitk"]),
    "dicom-load-ct-512x512x400": ("dicom-load", "generated:ct-512x512x400",
                                  "Scan + decode + assemble to float32 HU volume, uncompressed CT 512×512×400",
                                  ["pydicom", "simpleitk"]),
    "isosurface-chest-ct": ("isosurface", "raw:chest@250",
                            "Grey-level isosurface at 250 HU, chest CT 512×512×154 (volume in memory)",
                            ["vtk", "skimage"]),
    "isosurface-field-256": ("isosurface", "raw:field256@0.5",
                             "Grey-level isosurface, smooth 256³ phantom (12 Gaussian blobs, level 0.5)",
                             ["vtk", "skimage"]),
    "mask-surface-chest-ct": ("mask-surface", "raw:chest@250",
                              "Binary mask surface (≥ 250 HU; VTK: discrete flying edges), chest CT",
                              ["vtk", "skimage"]),
    "mask-surface-field-256": ("mask-surface", "raw:field256@0.5",
                               "Binary mask surface, smooth 256³ phantom",
                               ["vtk", "skimage"]),
    "cine-lv-demo": ("cine-lv", "demo-cine",
                     "LV cavity of every slice and phase of the demo cine (20 phases × 14 slices, "
                     "192×192) by the learned network, found without a click; the peer runs the same "
                     "ONNX network with onnxruntime and numpy/scipy around it",
                     ["onnxruntime"]),
    "cardio-beats": ("cardio-beats", "cardio:1000:10",
                     "Cardiac twin at periodic steady state, healthy default, default tolerances "
                     "(rtol 1e-3, the peers too); per beat (peers run 10 beats)",
                     ["scipy-lsoda", "scipy-radau"]),
    "cardio-timeline": ("cardio-timeline", "cardio-timeline:60:2",
                        "Living circulation beat by beat: rest, 1000 mL lost over 1 min, Ursino baroreflex and "
                        "cardiopulmonary reflex; Twinscope runs 60 simulated minutes (whole run: rest state, 30-s "
                        "settling, the timeline), the peer 2 minutes of the same equations (solve_ivp LSODA per "
                        "beat, the reflexes in Python); per simulated second",
                        ["scipy-lsoda"]),
    "cardio-calibrate": ("cardio-calibrate", "cardio:1:1",
                         "Calibration to CircAdapt's reference (HR 70, 120/80 mmHg, EDV 120.5, ESV 48 mL)",
                         []),
    "gait-ik-gait2354": ("gait", "gait:ik-gait2354",
                         "Inverse kinematics, gait2354 subject01 walk1 (OpenSim's IK test: 31 synthetic markers, "
                         "0.4–1.6 s), whole tool run",
                         ["opensim"]),
    "gait-ik-gait10dof": ("gait", "gait:ik-gait10dof",
                          "Inverse kinematics, gait10dof18musc on the measured walk1 markers (0–2.5 s), whole tool run",
                          ["opensim"]),
    "gait-id-gait2354": ("gait", "gait:id-gait2354",
                         "Inverse dynamics, gait2354 subject01 walk1 (23 coordinates, 6-Hz filter, 2 GRFs, "
                         "0.5–1.6 s), whole tool run",
                         ["opensim"]),
    "gait-id-gait10dof": ("gait", "gait:id-gait10dof",
                          "Inverse dynamics, gait10dof18musc walk (10 coordinates, 6-Hz filter, 2 GRFs, 0–2.5 s), "
                          "whole tool run",
                          ["opensim"]),
    "gait-so-gait2354": ("gait", "gait:so-gait2354",
                         "Static optimisation, gait2354 subject01 walk1 (54 muscles, reserves on 23 coordinates, "
                         "6-Hz filter, 0.5–1.6 s), whole tool run",
                         ["opensim"]),
    "gait-so-gait10dof": ("gait", "gait:so-gait10dof",
                          "Static optimisation, gait10dof18musc walk (18 muscles, reserves on 10 coordinates, "
                          "6-Hz filter, 0.6–1.9 s), whole tool run",
                          ["opensim"]),
    "gait-whatif-gait2354": ("gait", "gait:whatif-gait2354",
                             "Prosthesis what-if latency (one slider change: fit the device, static optimisation, "
                             "inverse dynamics, curves and indices), gait2354 walk1 0.5–1.6 s; goal ≤ 200 ms",
                             []),
    "gait-whatif-gait10dof": ("gait", "gait:whatif-gait10dof",
                              "Prosthesis what-if latency, gait10dof18musc walk 0.6–1.9 s; goal ≤ 200 ms",
                              []),
    "gait-forward-2d": ("gait", "gait:forward-2d",
                        "Forward simulation, Moco 2D model (10 DOF, 18 DeGrooteFregly muscles, 4 contact spheres), "
                        "1 s from the reference's first pose at excitation 0.1, error control 1e-5 (OpenSim: "
                        "RungeKuttaMerson, accuracy 1e-5); goal ≥ 150× real time per core",
                        ["opensim"]),
    "gait-forward-2d-euler": ("gait", "gait:forward-2d-euler",
                              "The same forward simulation as the predictive searches integrate it: semi-implicit "
                              "Euler, error control 1e-2 (OpenSim: SemiExplicitEuler2, accuracy 1e-2); goal ≥ 150× "
                              "real time per core",
                              ["opensim"]),
    "ep-march-demo-heart": ("ep", "ep:march@1.1",
                            "EP activation of the demo heart's ventricles (157 k nodes, 742 k tetrahedra at 1.1 mm; "
                            "fibres, fast endocardial layer, sinus rhythm's early sites) by the anisotropic eikonal "
                            "march; goal ≤ 300 ms on 2 cores (no peer installable here: openCARP is not on PyPI "
                            "or Debian)",
                            []),
    "ep-graph-demo-heart": ("ep", "ep:graph@1.1",
                            "The same activation by the graph method (Dijkstra on the mesh's edges, the graph "
                            "built beforehand, as the peer's); goal ≤ 100 ms; peer: scipy.sparse.csgraph.dijkstra "
                            "on the same edges and stimuli",
                            ["scipy"]),
    "surface-pipeline-chest-ct": ("pipeline", "raw:chest@250",
                                  "Slicer-like mask → surface → 20 smoothing iterations → decimation to ¼, chest CT bones",
                                  ["vtk"]),
}

SURFACE_TASKS = ("isosurface", "mask-surface", "pipeline")


def raw_input(exe: Path, data: Path, cache: Path, spec: str) -> str:
    """raw:NAME@LEVEL → path@LEVEL of a raw float32 volume generated once into the cache."""
    name, level = spec.split(":", 1)[1].split("@")
    out = cache / "bench-surface" / name
    out.parent.mkdir(parents=True, exist_ok=True)
    if not out.with_suffix(".raw").exists():
        if name == "chest":
            subprocess.run([str(exe), "export-raw", str(data / "dicom/ct_chest_covidctmd_normal001/dicom"), str(out)],
                           check=True, capture_output=True)
        else:
            subprocess.run([str(exe), "make-field", str(out), name.removeprefix("field")], check=True, capture_output=True)
    return f"{out.with_suffix('.raw')}@{level}"


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"


def run_json(cmd) -> dict:
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    for line in out.stderr.splitlines():
        if "Twinscope:" in line:  # a peer's agreement check
            print(line, flush=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("benches", nargs="*")
    args = ap.parse_args()
    names = args.benches or list(BENCHES)
    target = Path(os.environ.get("CARGO_TARGET_DIR") or Path.home() / ".cache/twinscope/target")
    env = dict(os.environ, CARGO_TARGET_DIR=str(target))
    subprocess.run(["cargo", "build", "--release", "--locked", "-q", "-p", "twin_bench"], cwd=ROOT, env=env, check=True)
    exe = target / "release" / "twin-bench"
    py = subprocess.run([str(ROOT / "scripts/python-env"), str(ROOT / "bench/requirements.txt")],
                        check=True, capture_output=True, text=True).stdout.strip()
    data = shared_data()
    cache = Path(os.environ.get("TWIN_CACHE") or Path.home() / ".cache/twinscope")
    rows = []
    for name in names:
        task, rel, what, peers = BENCHES[name]
        peer_inp = None
        if rel.startswith("cardio-timeline:"):
            _, n_ours, n_peer = rel.split(":")
            state = cache / "bench-cardio-timeline.json"
            subprocess.run([str(exe), "export-cardio-timeline", str(state)], check=True, capture_output=True)
            inp, peer_inp = n_ours, f"{state}@{n_peer}"
        elif rel.startswith("cardio:"):
            _, n_ours, n_peer = rel.split(":")
            state = cache / "bench-cardio.json"
            subprocess.run([str(exe), "export-cardio", str(state)], check=True, capture_output=True)
            inp, peer_inp = n_ours, f"{state}@{n_peer}"
        elif rel == "demo-cine":
            inp = subprocess.run([str(exe), "demo-cine-dir", "-"], check=True, capture_output=True,
                                 text=True).stdout.strip()
        elif rel.startswith("ep:"):
            spec = rel.split(":", 1)[1]
            mm = spec.split("@")[1]
            graph = cache / f"bench-ep-{mm}"
            subprocess.run([str(exe), "export-ep", str(graph), mm], check=True, capture_output=True)
            inp, peer_inp = spec, str(graph)
        elif rel.startswith("gait:"):
            inp = f"{rel.split(':', 1)[1]}@{data / 'msk'}"
        elif rel.startswith("raw:"):
            inp = raw_input(exe, data, cache, rel)
        elif rel.startswith("generated:"):
            gen = cache / ("bench-" + rel.split(":", 1)[1])
            if not (gen / "ct0400.dcm").exists():
                subprocess.run([str(exe), "make-ct", str(gen)], check=True, capture_output=True)
            inp = str(gen)
        else:
            inp = str(data / rel)
        # Warm the page cache and each tool once before timing.
        run_json([str(exe), task, inp, "--repeat", "1"])
        ours = run_json([str(exe), task, inp, "--repeat", str(args.repeat)])
        ours_s = statistics.median(ours["seconds"])
        results = [("Twinscope", ours_s, ours["items"], ours.get("peak_rss_mib"))]
        for peer in peers:
            cmd = [py, str(ROOT / "bench/peers.py"), peer, task, peer_inp or inp]
            run_json(cmd + ["1"])
            r = run_json(cmd + [str(args.repeat)])
            results.append((peer, statistics.median(r["seconds"]), r["items"], r.get("peak_rss_mib")))
        per = lambda s, items: s / items if task in ("cardio-beats", "cardio-timeline") else s  # noqa: E731
        ours_per = per(ours_s, ours["items"])
        for tool, s, items, peak in results:
            print(f"{name:26} {tool:10} {s * 1000:9.1f} ms  items={items}  ratio(peer/ours)={per(s, items) / ours_per:6.2f}"
                  f"  peak={peak or 0:.0f} MiB", flush=True)
        rows.append((name, what, results))
    if args.no_write:
        return 0
    today = datetime.date.today().isoformat()
    lines = [f"Measured {today} on {machine()} by `bench/run.py --repeat {args.repeat}` "
             f"(median of {args.repeat} warm runs; Twinscope release build).", "",
             "| benchmark | tool | median | peer ÷ Twinscope | peak RSS | peak ÷ volume | output |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for name, what, results in rows:
        task = BENCHES[name][0]
        per = (lambda s, items: s / items) if task in ("cardio-beats", "cardio-timeline") else (lambda s, items: s)
        ours_per = per(results[0][1], results[0][2])
        for i, (tool, s, items, peak) in enumerate(results):
            label = f"**{name}** — {what}" if i == 0 else ""
            ratio = "1.00" if i == 0 else f"{per(s, items) / ours_per:.2f}×"
            peak_s = f"{peak:.0f} MiB" if peak else "–"
            # Load benchmarks: items = voxels of the float32 volume.
            vol = f"{peak / (items * 4 / 2**20):.2f}×" if peak and task == "dicom-load" else "–"
            if task in SURFACE_TASKS:
                out = f"{items / 1e6:.2f} M triangles, {items / s / 1e6:.1f} M/s"
            elif task == "cardio-beats":
                out = f"{items} beats, {items / s:,.0f} beats/s"
            elif task == "gait" and name.startswith("gait-forward-2d"):
                out = f"1 simulated s, {1.0 / s:.1f}× real time"
            elif task == "gait":
                out = f"{items} frames, {s / items * 1000:.2f} ms/frame"
            elif task == "cardio-calibrate":
                out = f"{items} simulations"
            elif task == "cardio-timeline":
                out = f"{items / 60:.0f} simulated min, {items / 3600 / s:,.2f} simulated h/s"
            elif task == "ep":
                out = f"{items:,} nodes, {items / s / 1e6:.2f} M nodes/s"
            elif task == "cine-lv":
                out = f"{items} slices × phases, {s / items * 1000:.1f} ms each"
            else:
                out = f"{items:,} {'voxels' if task == 'dicom-load' else 'files'}"
            lines.append(f"| {label} | {tool} | {s * 1000:.1f} ms | {ratio} | {peak_s} | {vol} | {out} |")
    block = "\n".join(lines)
    text = DOC.read_text()
    new = re.sub(r"(<!-- bench:results -->\n).*?(\n<!-- /bench:results -->)", lambda m: m.group(1) + block + m.group(2), text, flags=re.S)
    DOC.write_text(new)
    print(f"bench: wrote {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
