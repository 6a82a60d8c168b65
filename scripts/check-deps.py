#!/usr/bin/env python3
"""Dependency-direction check (ARCHITECTURE.md, "the rule"):

* no crate under crates/ may depend on Bevy (any `bevy*` crate), directly or
  through other crates;
* only UI crates (crates/twin_ui) may depend on egui (egui, egui_plot, eframe,
  bevy_egui, egui_*), directly or transitively;
* dependencies point one way: no crate under crates/ depends on a workspace
  crate outside crates/ (the app, tests/, bench/); the workspace crates'
  dependencies (dev-dependencies included) form no cycle; and no source file
  under crates/ reaches into another crate's files (`#[path]`, `include!`,
  `include_str!`, `include_bytes!` into another crate's folder), so engine
  crates use each other's public API only.

Reads `cargo metadata` (or a saved copy with --metadata FILE). Exits 1 and names
each offending path when the rule is broken. `--self-test` runs the checker on a
built-in workspace that breaks every rule and fails unless each is caught.
"""
import json
import os
import re
import subprocess
import sys
from pathlib import Path, PurePath

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


def member_folders(meta: dict) -> dict:
    pkgs = {p["id"]: p for p in meta["packages"]}
    return {pid: PurePath(pkgs[pid]["manifest_path"]).parent for pid in meta["workspace_members"]}


def direction_violations(meta: dict) -> list[str]:
    """Rule 3 on the graph: crates/ never depend on the app, tests or bench,
    and the workspace crates' dependencies (dev too) have no cycle."""
    pkgs = {p["id"]: p for p in meta["packages"]}
    root = PurePath(meta["workspace_root"])
    folders = member_folders(meta)
    members = set(meta["workspace_members"])
    deps = {n["id"]: [d["pkg"] for d in n["deps"] if d["pkg"] in members]
            for n in meta["resolve"]["nodes"] if n["id"] in members}
    problems = []
    for pid, ds in deps.items():
        if folders[pid].relative_to(root).parts[0] != "crates":
            continue
        for d in ds:
            if folders[d].relative_to(root).parts[0] != "crates":
                problems.append(
                    f"{pkgs[pid]['name']} (crates/) depends on {pkgs[d]['name']} "
                    f"({folders[d].relative_to(root)}): dependencies point from the app to crates/, not back")
    # Cycles: depth-first search with colours.
    state = {}

    def visit(node, path):
        state[node] = "open"
        for d in deps.get(node, []):
            if state.get(d) == "open":
                cycle = path[path.index(d):] + [d]
                problems.append("dependency cycle: " + " -> ".join(pkgs[c]["name"] for c in cycle))
            elif d not in state:
                visit(d, path + [d])
        state[node] = "done"

    for pid in sorted(deps):
        if pid not in state:
            visit(pid, [pid])
    return problems


INCLUDE = re.compile(r'(?:#\[path\s*=\s*|include(?:_str|_bytes)?!\(\s*)"([^"]+)"')


def source_violations(meta: dict, read=None) -> list[str]:
    """Rule 3 in the sources: a file under crates/ that pulls in another
    workspace crate's file by path instead of using its public API."""
    root = PurePath(meta["workspace_root"])
    folders = member_folders(meta)
    pkgs = {p["id"]: p for p in meta["packages"]}
    problems = []
    for pid, folder in folders.items():
        if folder.relative_to(root).parts[0] != "crates":
            continue
        files = read(folder) if read else {
            PurePath(d) / f: (Path(d) / f).read_text(errors="replace")
            for d, _, fs in os.walk(folder) for f in fs if f.endswith(".rs")}
        for path, text in files.items():
            for m in INCLUDE.finditer(text):
                target = PurePath(os.path.normpath(path.parent / m.group(1)))
                for other, of in folders.items():
                    if other != pid and (target == of or of in target.parents):
                        problems.append(
                            f"{path.relative_to(root)} reaches into {pkgs[other]['name']}'s files "
                            f"(`{m.group(1)}`): use its public API")
    return problems


# The app's feature modules: each may name the session hub and the crate root
# (Args, the Feature sets, the plugin registration), never another feature.
APP_FEATURES = {"study", "cardio", "over_time", "gait", "twin", "viewport", "job", "panels", "capture", "session"}
CRATE_PATH = re.compile(r"crate::(\{[^}]*\}|[A-Za-z_][A-Za-z0-9_]*)")


def app_module_violations(files: dict) -> list[str]:
    """The app's modules talk through `session` only: `files` maps a path
    under app/src (e.g. `cardio.rs`, `panels/dock.rs`) to its text."""
    problems = []
    for path, text in sorted(files.items()):
        own = PurePath(path).parts[0].removesuffix(".rs")
        if own not in APP_FEATURES:
            continue
        for m in CRATE_PATH.finditer(text):
            names = m.group(1).strip("{}").split(",")
            for name in (n.strip().split("::")[0] for n in names):
                if name in APP_FEATURES and name not in (own, "session"):
                    problems.append(f"app/src/{path} names the {name} module (`crate::{m.group(1)}`): "
                                    "features talk through the session")
    return problems


def app_files(root: PurePath) -> dict:
    src = Path(root) / "app" / "src"
    return {str(PurePath(d).relative_to(src) / f): (Path(d) / f).read_text(errors="replace")
            for d, _, fs in os.walk(src) for f in fs if f.endswith(".rs")}


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
        pkg("twin_cardio", "crates/twin_cardio"),
        pkg("twin_msk", "crates/twin_msk"),
        pkg("twin_core", "crates/twin_core"),
    ]
    nodes = [
        {"id": "twin_mesh", "deps": [{"pkg": "helper"}]},
        {"id": "helper", "deps": [{"pkg": "bevy_math"}]},
        {"id": "twin_imaging", "deps": [{"pkg": "egui"}, {"pkg": "twinscope"}]},
        {"id": "twin_ui", "deps": [{"pkg": "egui"}, {"pkg": "twin_core"}]},
        {"id": "twinscope", "deps": [{"pkg": "bevy"}, {"pkg": "twin_ui"}]},
        # A cycle through a dev-dependency.
        {"id": "twin_cardio", "deps": [{"pkg": "twin_msk"}]},
        {"id": "twin_msk", "deps": [{"pkg": "twin_cardio"}, {"pkg": "twin_core"}]},
        {"id": "twin_core", "deps": []},
    ]
    return {
        "packages": packages,
        "workspace_members": ["twin_mesh", "twin_imaging", "twin_ui", "twinscope",
                              "twin_cardio", "twin_msk", "twin_core"],
        "workspace_root": "/ws",
        "resolve": {"nodes": nodes},
    }


def main(argv: list[str]) -> int:
    if argv[1:] == ["--self-test"]:
        fake = fake_workspace()
        found = violations(fake)
        graph = direction_violations(fake)
        sources = {
            # Reaches into twin_core's sources: caught.
            PurePath("/ws/crates/twin_msk/src/lib.rs"):
                '#[path = "../../twin_core/src/jobs.rs"]\nmod jobs;\n',
            # Its own file and a data file outside any crate: fine.
            PurePath("/ws/crates/twin_ui/src/lib.rs"):
                'const A: &str = include_str!("../examples/a.json");\n'
                'const B: &str = include_str!("../../../examples/b.json");\n',
        }
        reach = source_violations(fake, read=lambda folder: {
            p: t for p, t in sources.items() if folder in p.parents})
        app = app_module_violations({
            "cardio.rs": "use crate::session::Session;\nuse crate::{Args, study::Study};\n",
            "panels/dock.rs": "use crate::session;\nuse super::Asks;\nuse crate::Args;\n",
            "tests.rs": "use crate::cardio::merge;\n",
        })
        ok = (
            len(app) == 1 and "cardio.rs names the study module" in app[0]
            and any("twin_mesh" in v and "Bevy" in v and "helper -> bevy_math" in v for v in found)
            and any("twin_imaging" in v and "egui" in v for v in found)
            and not any(v.startswith("twin_ui") or v.startswith("twinscope") for v in found)
            and any("twin_imaging" in v and "twinscope" in v and "point from the app" in v for v in graph)
            and any(v.startswith("dependency cycle:") and "twin_cardio" in v and "twin_msk" in v for v in graph)
            and len(graph) == 2
            and len(reach) == 1 and "twin_core's files" in reach[0] and "twin_msk" in reach[0]
        )
        found += graph + reach + app
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
    problems = (violations(meta) + direction_violations(meta) + source_violations(meta)
                + app_module_violations(app_files(PurePath(meta["workspace_root"]))))
    for p in problems:
        print(f"dependency rule broken: {p}", file=sys.stderr)
    if problems:
        return 1
    members = sum(1 for m in meta["workspace_members"])
    print(f"check-deps: {members} workspace crates checked; crates/ are free of Bevy, only twin_ui uses egui, "
          "dependencies point one way with no cycle, no crate reaches into another's files "
          "and the app's features talk through its session")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
