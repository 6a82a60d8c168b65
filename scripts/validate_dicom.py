#!/usr/bin/env python3
"""Reads every DICOM file under the given folders with pydicom and fails on any
warning or error: strict value validation, every element decoded, pixel data
decoded to an array of the declared shape.

usage: validate_dicom.py DIR [DIR ...]
"""
import sys
import warnings
from pathlib import Path

import pydicom
from pydicom import config


def check(path: Path) -> None:
    ds = pydicom.dcmread(path)
    for elem in ds.iterall():
        _ = elem.value
    for elem in ds.file_meta:
        _ = elem.value
    if "PixelData" in ds:
        arr = ds.pixel_array
        if arr.shape != (ds.Rows, ds.Columns):
            raise ValueError(f"pixel array shape {arr.shape} != ({ds.Rows}, {ds.Columns})")
    for keyword in ("SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID", "SOPClassUID"):
        uid = ds.get(keyword)
        if not uid or not pydicom.uid.UID(uid).is_valid:
            raise ValueError(f"{keyword} {uid!r} is not a valid UID")
    if ds.file_meta.MediaStorageSOPInstanceUID != ds.SOPInstanceUID:
        raise ValueError("MediaStorageSOPInstanceUID differs from SOPInstanceUID")


def main() -> int:
    warnings.simplefilter("error")
    config.settings.reading_validation_mode = config.RAISE
    files = [p for d in sys.argv[1:] for p in sorted(Path(d).rglob("*.dcm"))]
    if not files:
        print("validate_dicom: no .dcm files found", file=sys.stderr)
        return 1
    failures = 0
    for path in files:
        try:
            check(path)
        except Exception as exc:  # noqa: BLE001 — report every kind of failure
            failures += 1
            print(f"FAIL {path}: {type(exc).__name__}: {exc}", file=sys.stderr)
    print(f"validate_dicom: {len(files)} files read by pydicom {pydicom.__version__}, {failures} with warnings or errors")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
