#!/usr/bin/env python3
"""Dependency-direction check (ARCHITECTURE.md, "the rule"):

* no crate under crates/ may depend on Bevy (any `bevy*` crate), directly or
  through other crates;
* only UI crates (crates/twin_ui) may depend on egui (egui, egui_plot, eframe,
  bevy_egui, egui_*), directly or transitively.

Reads `cargo metadata` (or a saved copy with --metadata FILE). Exits 1 and names
each offending path when the rule is broken. `--self-test` runs the checker on a
built-in workspace that breaks both rules and fails unless both are caught.
"""
import json
import subprocess
import sys
from pathlib import PurePath

UI_CRATES = {"twin_ui"}


def is_bevy(name: str) -> bool:
    return name == "bevy" or name.startswith("bevy_")


def is_egui(name: str) -> bool:
    return name in {"egui", "eframe", "bevy_egui"} or name.startswith("egui_") or name.startswith("egui-")


def violations(meta: dict) -> list[str]:
    pkgs = {p["id"]: p for p in meta["packages"]}
    deps = {n["id"]: [d["pkg"] for d in n["deps"]] for n in meta["resolve"]["nodes"]}
    root = PurePath(meta["workspace_root"])
    problems = []
    for pid in meta["workspace_members"]:
        pkg = pkgs[pid]
        rel = PurePath(pkg["manifest_path"]).relative_to(root)
        if rel.parts[0] != "crates":
            continue
        # Breadth-first over the dependency graph, remembering how we got there.
        seen = {pid: [pkg["name"]]}
        queue = [pid]
        while queue:
            cur = queue.pop(0)
            for dep in deps.get(cur, []):
                if dep in seen:
                    continue
                seen[dep] = seen[cur] + [pkgs[dep]["name"]]
                # Report the first forbidden crate on a path, not everything behind it.
                if not (is_bevy(pkgs[dep]["name"]) or is_egui(pkgs[dep]["name"])):
                    queue.append(dep)
        for dep, path in seen.items():
            name = pkgs[dep]["name"]
            chain = " -> ".join(path)
            if is_bevy(name):
                problems.append(f"{pkg['name']} ({rel.parent}) depends on Bevy: {chain}")
            elif is_egui(name) and pkg["name"] not in UI_CRATES:
                problems.append(f"{pkg['name']} ({rel.parent}) is not a UI crate but depends on egui: {chain}")
    return problems


def fake_workspace() -> dict:
    def pkg(name, path):
        return {"id": name, "name": name, "manifest_path": f"/ws/{path}/Cargo.toml"}

    packages = [
        pkg("twin_mesh", "crates/twin_mesh"),
        pkg("twin_imaging", "crates/twin_imaging"),
        pkg("twin_ui", "crates/twin_ui"),
        pkg("twinscope", "app"),
        pkg("helper", "vendor/helper"),
        pkg("bevy_math", "reg/bevy_math"),
        pkg("egui", "reg/egui"),
        pkg("bevy", "reg/bevy"),
    ]
    nodes = [
        {"id": "twin_mesh", "deps": [{"pkg": "helper"}]},
        {"id": "helper", "deps": [{"pkg": "bevy_math"}]},
        {"id": "twin_imaging", "deps": [{"pkg": "egui"}]},
        {"id": "twin_ui", "deps": [{"pkg": "egui"}]},
        {"id": "twinscope", "deps": [{"pkg": "bevy"}, {"pkg": "twin_ui"}]},
    ]
    return {
        "packages": packages,
        "workspace_members": ["twin_mesh", "twin_imaging", "twin_ui", "twinscope"],
        "workspace_root": "/ws",
        "resolve": {"nodes": nodes},
    }


def main(argv: list[str]) -> int:
    if argv[1:] == ["--self-test"]:
        found = violations(fake_workspace())
        ok = (
            any("twin_mesh" in v and "Bevy" in v and "helper -> bevy_math" in v for v in found)
            and any("twin_imaging" in v and "egui" in v for v in found)
            and not any(v.startswith("twin_ui") or v.startswith("twinscope") for v in found)
        )
        print("check-deps self-test:", "ok" if ok else f"FAILED, found {found}")
        return 0 if ok else 1
    if len(argv) == 3 and argv[1] == "--metadata":
        with open(argv[2]) as f:
            meta = json.load(f)
    else:
        out = subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--locked"],
            check=True, capture_output=True, text=True,
        )
        meta = json.loads(out.stdout)
    problems = violations(meta)
    for p in problems:
        print(f"dependency rule broken: {p}", file=sys.stderr)
    if problems:
        return 1
    members = sum(1 for m in meta["workspace_members"])
    print(f"check-deps: {members} workspace crates checked; crates/ are free of Bevy and only twin_ui uses egui")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
