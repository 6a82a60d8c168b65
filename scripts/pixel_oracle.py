#!/usr/bin/env python3
"""Pixel oracle: decodes every DICOM image under the shared data with pydicom
(+ pylibjpeg, pylibjpeg-libjpeg, pylibjpeg-openjpeg) and writes, per file, the
SHA-256 of its stored values (before rescale, MONOCHROME1 not inverted) as
little-endian int32 over all frames in order, with rows, columns and frames.

twin_imaging's test `pixel_oracle` decodes the same files and compares.

usage: scripts/pixel_oracle.py [DATA_DIR] [OUT_JSON]
  defaults: ../shared/data (or $TWIN_DATA) and
            crates/twin_imaging/tests/oracle/pixel_sha256.json
Run it through the pinned venv:
  "$(scripts/python-env scripts/requirements-oracle.txt)" scripts/pixel_oracle.py
"""
import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np
import pydicom
import pylibjpeg  # noqa: F401  (registers the JPEG, JPEG-LS and JPEG 2000 decoders)

repo = Path(__file__).resolve().parent.parent
data = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(
    os.environ.get("TWIN_DATA", repo.parent / "shared" / "data"))
out = Path(sys.argv[2]) if len(sys.argv) > 2 else (
    repo / "crates/twin_imaging/tests/oracle/pixel_sha256.json")
dicom_root = data / "dicom"

entries = {}
for path in sorted(p for p in dicom_root.rglob("*") if p.is_file()):
    with open(path, "rb") as f:
        head = f.read(132)
    if len(head) < 132 or head[128:132] != b"DICM":
        continue
    ds = pydicom.dcmread(path)
    if "PixelData" not in ds:
        continue
    arr = ds.pixel_array
    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    rows, cols = int(ds.Rows), int(ds.Columns)
    if arr.ndim == 2:
        arr = arr[np.newaxis]
    assert arr.shape == (frames, rows, cols), (path, arr.shape)
    digest = hashlib.sha256(arr.astype("<i4").tobytes()).hexdigest()
    rel = path.relative_to(data).as_posix()
    entries[rel] = {
        "transfer_syntax": str(ds.file_meta.TransferSyntaxUID),
        "rows": rows,
        "columns": cols,
        "frames": frames,
        "sha256": digest,
    }

doc = {
    "generator": "scripts/pixel_oracle.py",
    "pydicom": pydicom.__version__,
    "files": entries,
}
out.parent.mkdir(parents=True, exist_ok=True)
out.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
print(f"{len(entries)} files -> {out}")
