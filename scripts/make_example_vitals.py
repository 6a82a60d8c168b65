#!/usr/bin/env python3
"""Writes examples/vitals/bleed-then-pressor.{csv,json}: the trend of
examples/timelines/hidden-bleed-then-pressor.json (from `twin cardio timeline
--csv`) sampled every 2 min with monitor noise (HR 3/min, SBP 5, DBP 4 mmHg;
fixed seed), as CSV and as a FHIR R4 Bundle of Observations (LOINC 8867-4 and
the 85354-9 panel with 8480-6 / 8462-4).

Usage: scripts/make_example_vitals.py TREND.csv  (standard library only)
"""
import csv, json, random, sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

rows = list(csv.DictReader(open(sys.argv[1])))
rng = random.Random(20261207)
start = datetime(2026, 12, 7, 8, 0, tzinfo=timezone.utc)
out = Path(__file__).resolve().parents[1] / "examples" / "vitals"
samples = []
for k in range(36):
    t = 2.0 * k
    beat = [r for r in rows if float(r["t_min"]) <= t][-1]
    samples.append((t, float(beat["heart_rate_bpm"]) + rng.gauss(0, 3),
                    float(beat["sbp_mmhg"]) + rng.gauss(0, 5),
                    float(beat["dbp_mmhg"]) + rng.gauss(0, 4)))
with open(out / "bleed-then-pressor.csv", "w") as f:
    f.write("time,hr,sbp,dbp\n")
    for t, hr, s, d in samples:
        when = (start + timedelta(minutes=t)).strftime("%Y-%m-%dT%H:%M:%SZ")
        f.write(f"{when},{hr:.0f},{s:.0f},{d:.0f}\n")
def coding(code, text):
    return {"coding": [{"system": "http://loinc.org", "code": code, "display": text}]}
entries = []
for i, (t, hr, s, d) in enumerate(samples):
    when = (start + timedelta(minutes=t)).strftime("%Y-%m-%dT%H:%M:%SZ")
    entries.append({"resource": {"resourceType": "Observation", "id": f"hr-{i}", "status": "final",
        "code": coding("8867-4", "Heart rate"), "subject": {"reference": "Patient/demo"},
        "effectiveDateTime": when,
        "valueQuantity": {"value": round(hr), "unit": "beats/minute", "system": "http://unitsofmeasure.org", "code": "/min"}}})
    entries.append({"resource": {"resourceType": "Observation", "id": f"bp-{i}", "status": "final",
        "code": coding("85354-9", "Blood pressure panel"), "subject": {"reference": "Patient/demo"},
        "effectiveDateTime": when,
        "component": [
            {"code": coding("8480-6", "Systolic blood pressure"),
             "valueQuantity": {"value": round(s), "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}},
            {"code": coding("8462-4", "Diastolic blood pressure"),
             "valueQuantity": {"value": round(d), "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}}]}})
json.dump({"resourceType": "Bundle", "type": "collection", "entry": entries},
          open(out / "bleed-then-pressor.json", "w"), indent=1)
print("wrote", out)
