"""Peer implementations of each benchmark task, run by bench/run.py inside the
bench virtualenv. Each prints JSON: {"seconds": [...], "items": N}.

usage: python peers.py TOOL TASK INPUT REPEAT
"""
import json
import os
import sys
import time


def files_under(root):
    out = []
    for d, _, names in os.walk(root):
        out.extend(os.path.join(d, n) for n in names)
    return sorted(out)


def pydicom_scan(root):
    import pydicom
    series = {}
    for f in files_under(root):
        try:
            ds = pydicom.dcmread(f, stop_before_pixels=True)
        except Exception:  # noqa: BLE001 — not DICOM, like ours counts it
            continue
        if "Rows" not in ds:
            continue
        series.setdefault((ds.StudyInstanceUID, ds.SeriesInstanceUID), []).append(
            (tuple(ds.ImageOrientationPatient), tuple(float(x) for x in ds.ImagePositionPatient))
        )
    return sum(len(v) for v in series.values())


def pydicom_load(root):
    import numpy as np
    import pydicom
    slices = []
    for f in files_under(root):
        try:
            ds = pydicom.dcmread(f)
        except Exception:  # noqa: BLE001
            continue
        if "PixelData" not in ds:
            continue
        slices.append(ds)
    iop = np.array(slices[0].ImageOrientationPatient, dtype=float)
    normal = np.cross(iop[:3], iop[3:])
    slices.sort(key=lambda s: float(np.dot(normal, np.array(s.ImagePositionPatient, dtype=float))))
    vol = np.empty((len(slices), slices[0].Rows, slices[0].Columns), dtype=np.float32)
    for i, s in enumerate(slices):
        vol[i] = s.pixel_array.astype(np.float32) * float(s.get("RescaleSlope", 1)) + float(s.get("RescaleIntercept", 0))
    return vol.size


def sitk_scan(root):
    import SimpleITK as sitk
    n = 0
    for sid in sitk.ImageSeriesReader.GetGDCMSeriesIDs(root):
        n += len(sitk.ImageSeriesReader.GetGDCMSeriesFileNames(root, sid))
    return n


def sitk_load(root):
    import SimpleITK as sitk
    ids = sitk.ImageSeriesReader.GetGDCMSeriesIDs(root)
    best = max(ids, key=lambda s: len(sitk.ImageSeriesReader.GetGDCMSeriesFileNames(root, s)))
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(sitk.ImageSeriesReader.GetGDCMSeriesFileNames(root, best))
    reader.SetOutputPixelType(sitk.sitkFloat32)
    img = reader.Execute()
    return img.GetNumberOfPixels()


TASKS = {
    ("pydicom", "dicom-scan"): pydicom_scan,
    ("pydicom", "dicom-load"): pydicom_load,
    ("simpleitk", "dicom-scan"): sitk_scan,
    ("simpleitk", "dicom-load"): sitk_load,
}


def main():
    tool, task, root, repeat = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    fn = TASKS[(tool, task)]
    seconds, items = [], 0
    for _ in range(repeat):
        t = time.perf_counter()
        items = fn(root)
        seconds.append(time.perf_counter() - t)
    import resource
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux
    print(json.dumps({"seconds": seconds, "items": items, "peak_rss_mib": peak_mib}))


if __name__ == "__main__":
    main()
