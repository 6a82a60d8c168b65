#!/usr/bin/env python3
"""Licence check (issue: supply chain): every package in `cargo metadata`
must have an SPDX licence expression satisfiable with the allow-list of
deny.toml (`[licenses] allow`). `/` is read as OR (old crates write
"MIT/Apache-2.0"); `X WITH exception` passes when it is listed whole or X is
allowed. Packages without a licence expression fail, named.

usage: check-licences.py [--self-test]
"""
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def tokens(expr):
    return re.findall(r"\(|\)|[^\s()]+", expr.replace("/", " OR "))


def satisfiable(expr, allowed):
    toks = tokens(expr)
    pos = 0

    def peek():
        return toks[pos] if pos < len(toks) else None

    def take():
        nonlocal pos
        pos += 1
        return toks[pos - 1]

    def factor():
        t = take()
        if t == "(":
            v = disjunction()
            if take() != ")":
                raise ValueError(f"unbalanced parentheses in `{expr}`")
            return v
        if peek() == "WITH":
            take()
            exc = take()
            return f"{t} WITH {exc}" in allowed or t in allowed
        return t.rstrip("+") in allowed

    def conjunction():
        v = factor()
        while peek() == "AND":
            take()
            v = factor() and v
        return v

    def disjunction():
        v = conjunction()
        while peek() == "OR":
            take()
            v = conjunction() or v
        return v

    value = disjunction()
    if pos != len(toks):
        raise ValueError(f"cannot read `{expr}`")
    return value


def problems(packages, allowed):
    bad = []
    for p in packages:
        lic = p.get("license")
        name = f"{p['name']} {p['version']}"
        if not lic:
            bad.append(f"{name}: no licence expression (license_file: {p.get('license_file')})")
            continue
        try:
            if not satisfiable(lic, allowed):
                bad.append(f"{name}: `{lic}` is not satisfiable with deny.toml's allow-list")
        except (ValueError, IndexError, TypeError) as e:
            bad.append(f"{name}: {e}")
    return bad


def main():
    allowed = set(tomllib.loads((ROOT / "deny.toml").read_text())["licenses"]["allow"])
    if "--self-test" in sys.argv:
        fake = [
            {"name": "ok", "version": "1", "license": "MIT OR Apache-2.0"},
            {"name": "slash", "version": "1", "license": "MIT/Apache-2.0"},
            {"name": "choice", "version": "1", "license": "MIT OR LGPL-2.1-or-later"},
            {"name": "gpl", "version": "1", "license": "GPL-3.0-only"},
            {"name": "both", "version": "1", "license": "MIT AND GPL-2.0-only"},
            {"name": "none", "version": "1", "license": None, "license_file": "LICENSE"},
            {"name": "nested", "version": "1", "license": "(MIT OR Apache-2.0) AND Unicode-3.0"},
        ]
        found = {b.split(" ")[0] for b in problems(fake, allowed)}
        if found != {"gpl", "both", "none"}:
            print(f"check-licences self-test: FAILED, flagged {sorted(found)}")
            return 1
        print("check-licences self-test: ok")
    meta = json.loads(subprocess.run(["cargo", "metadata", "--format-version", "1", "--locked"],
                                     cwd=ROOT, check=True, capture_output=True, text=True).stdout)
    bad = problems(meta["packages"], allowed)
    for b in bad:
        print(f"licence: {b}")
    print(f"check-licences: {len(meta['packages'])} packages, {len(bad)} not allowed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
