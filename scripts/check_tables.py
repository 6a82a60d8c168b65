#!/usr/bin/env python3
"""Independent check of Twinscope's .mot/.sto files with OpenSim's own Python
package (PyPI `opensim`): each file must open as an OpenSim TimeSeriesTable
whose labels, times and values equal the numbers written in the file, with
the same inDegrees flag in its metadata.

usage: check_tables.py FILE.mot|FILE.sto [...]
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


failed = False
for path in sys.argv[1:]:
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
