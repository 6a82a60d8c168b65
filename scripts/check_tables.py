#!/usr/bin/env python3
"""Independent check of Twinscope's .mot/.sto/.trc files with OpenSim's own
Python package (PyPI `opensim`): each table must open as an OpenSim
TimeSeriesTable whose labels, times and values equal the numbers written in
the file, with the same inDegrees flag in its metadata; each .trc as a
TimeSeriesTableVec3 with the file's marker names, units and positions.

usage: check_tables.py FILE.mot|FILE.sto|FILE.trc [...]
"""
import math
import sys

import opensim

# OpenSim logs to opensim.log in the working folder unless told not to.
opensim.Logger.removeFileSink()


def parse(path):
    """The file's own text: labels, rows and the inDegrees flag."""
    lines = open(path).read().splitlines()
    end = next(i for i, l in enumerate(lines) if l.strip().lower() == "endheader")
    header = dict(l.split("=", 1) for l in lines[:end] if "=" in l)
    labels = lines[end + 1].split("\t")
    rows = [[float(v) for v in l.split()] for l in lines[end + 2:] if l.strip()]
    return labels, rows, header.get("inDegrees", "").strip()


def check_trc(path):
    lines = open(path).read().splitlines()
    names = [n for n in lines[3].split("\t")[2:] if n]
    units = lines[2].split("\t")[4]
    rows = [[float(v) for v in l.split("\t")] for l in lines[5:] if l.strip()]
    table = opensim.TimeSeriesTableVec3(path)
    ok = list(table.getColumnLabels()) == names and table.getNumRows() == len(rows)
    ok &= table.getTableMetaDataAsString("Units") == units
    worst = 0.0
    for i, row in enumerate(rows):
        ok &= abs(table.getIndependentColumn()[i] - row[1]) < 1e-12
        values = table.getRowAtIndex(i)
        for j in range(len(names)):
            for k in range(3):
                a, b = values[j].get(k), row[2 + 3 * j + k]
                if not (math.isnan(a) and math.isnan(b)):
                    worst = max(worst, abs(a - b))
    ok &= worst == 0.0
    print(f"{path}: OpenSim {opensim.__version__} reads {table.getNumRows()} frames of "
          f"{len(names)} markers in {units}, largest difference {worst} {'ok' if ok else 'FAIL'}")
    return ok


failed = False
for path in sys.argv[1:]:
    if path.endswith(".trc"):
        failed |= not check_trc(path)
        continue
    labels, rows, degrees = parse(path)
    table = opensim.TimeSeriesTable(path)
    ok = list(table.getColumnLabels()) == labels[1:]
    ok &= table.getNumRows() == len(rows) and table.getNumColumns() == len(labels) - 1
    times = table.getIndependentColumn()
    worst = 0.0
    for i, row in enumerate(rows):
        ok &= times[i] == row[0]
        values = table.getRowAtIndex(i)
        for j in range(len(labels) - 1):
            a, b = values[j], row[j + 1]
            if not (math.isnan(a) and math.isnan(b)):
                worst = max(worst, abs(a - b))
    ok &= worst == 0.0
    meta = table.getTableMetaDataAsString("inDegrees") if table.hasTableMetaDataKey("inDegrees") else ""
    ok &= meta == degrees
    print(f"{path}: OpenSim {opensim.__version__} reads {table.getNumRows()} rows x "
          f"{table.getNumColumns()} columns, inDegrees={meta}, largest difference {worst} "
          f"{'ok' if ok else 'FAIL'}")
    failed |= not ok
sys.exit(1 if failed else 0)
