#!/usr/bin/env python3
"""Seeds the fuzz corpora (scripts/fuzz) from the shared data and a few small
files written here. Existing corpus files are kept (the fuzzer adds to them)."""
import os
import struct
import sys
from pathlib import Path

data, out = Path(sys.argv[1]), Path(sys.argv[2])


def put(target, name, blob):
    d = out / target
    d.mkdir(parents=True, exist_ok=True)
    p = d / ("seed-" + name)
    if not p.exists():
        p.write_bytes(blob)


def files(folder, pattern, limit):
    return sorted((data / folder).rglob(pattern))[:limit]


# DICOM: single small files, and three slices of one series joined by the
# target's separator (so the assembler sees a stack).
small = sorted(
    (p for p in (data / "dicom").rglob("*") if p.is_file() and p.suffix in ("", ".dcm", ".IMA")
     and 1000 < p.stat().st_size < 600_000),
    key=lambda p: p.stat().st_size)
for p in small[:40:4]:
    put("dicom_folder", p.name, p.read_bytes())
series = sorted((data / "dicom/mr_dcm_qa_philips_enh/In/cl").glob("2001_01*_ph.dcm"))[:3]
if series:
    put("dicom_folder", "stack3", b"TWINFUZZ".join(p.read_bytes() for p in series))
tilt = sorted(p for p in (data / "dicom/ct_head_gantrytilt_dcm_qa_ct").rglob("*") if p.is_file()
              and p.stat().st_size > 100_000)[:2]
if tilt:
    put("dicom_folder", "tilt2", b"TWINFUZZ".join(p.read_bytes() for p in tilt))

# The demo patient's CT (a phantom of ours), when it has been generated.
demo = Path(os.environ.get("TWIN_DEMO_DIR", Path.home() / ".cache/twinscope/demo-v1"))
ct = sorted((demo / "ct_lower_limbs").glob("*.dcm"))[:2]
if ct:
    put("dicom_folder", "demo-ct2", b"TWINFUZZ".join(p.read_bytes() for p in ct))

# NIfTI: dcm2niix's references (uncompressed) below 2 MB.
for p in sorted((data / "dicom").rglob("*.nii")):
    if p.stat().st_size < 2_000_000:
        put("nifti", p.name, p.read_bytes())

# Motion tables, markers, models, C3D.
for p in files("msk", "*.mot", 6):
    put("motion_table", p.name, b"\0" + p.read_bytes()[:400_000])
for p in files("msk", "*.sto", 6):
    put("motion_table", p.name, b"\1" + p.read_bytes()[:400_000])
for p in files("msk", "*.trc", 4):
    put("trc", p.name, p.read_bytes()[:400_000])
for p in files("msk", "*.osim", 6):
    put("osim", p.name, p.read_bytes())
for p in files("msk", "*.c3d", 2):
    put("c3d", p.name, p.read_bytes())

# Twin documents and scenario files.
for p in sorted(Path("examples").rglob("*.json")):
    put("twin_json", p.name, p.read_bytes())
put("twin_json", "twin.json", b'{"format":"twinscope-twin","version":1,"name":"seed",'
    b'"variants":[{"name":"severe AS","cardio":[{"kind":"aortic_stenosis","valve_area_cm2":0.7}]}]}')

# Meshes: an octahedron in every format we read.
V = [(10, 0, 0), (-10, 0, 0), (0, 10, 0), (0, -10, 0), (0, 0, 10), (0, 0, -10)]
F = [(0, 2, 4), (2, 1, 4), (1, 3, 4), (3, 0, 4), (2, 0, 5), (1, 2, 5), (3, 1, 5), (0, 3, 5)]
stl = bytearray(b"\0" * 80 + struct.pack("<I", len(F)))
for f in F:
    stl += struct.pack("<3f", 0, 0, 0)
    for i in f:
        stl += struct.pack("<3f", *V[i])
    stl += b"\0\0"
put("mesh_stl", "binary.stl", bytes(stl))
ascii_stl = "solid o\n" + "".join(
    "facet normal 0 0 0\nouter loop\n" + "".join("vertex %g %g %g\n" % V[i] for i in f)
    + "endloop\nendfacet\n" for f in F) + "endsolid o\n"
put("mesh_stl", "ascii.stl", ascii_stl.encode())
obj = "".join("v %g %g %g\n" % v for v in V) + "".join(
    "f %d %d %d\n" % tuple(i + 1 for i in f) for f in F)
put("mesh_obj", "octa.obj", obj.encode())
put("mesh_obj", "quads.obj", b"v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nvn 0 0 1\nvt 0 0\n"
    b"f 1/1/1 2/1/1 3/1/1 4/1/1\no second\nf -1 -2 -3\n")
head = ("ply\nformat binary_little_endian 1.0\nelement vertex %d\nproperty float x\n"
        "property float y\nproperty float z\nelement face %d\n"
        "property list uchar int vertex_indices\nend_header\n") % (len(V), len(F))
ply = bytearray(head.encode())
for v in V:
    ply += struct.pack("<3f", *v)
for f in F:
    ply += struct.pack("<B3i", 3, *f)
put("mesh_ply", "binary.ply", bytes(ply))
ascii_ply = head.replace("binary_little_endian", "ascii") + "".join(
    "%g %g %g\n" % v for v in V) + "".join("3 %d %d %d\n" % f for f in F)
put("mesh_ply", "ascii.ply", ascii_ply.encode())
for t in sorted(os.listdir(out)):
    print(f"corpus {t}: {len(os.listdir(out / t))} files")
