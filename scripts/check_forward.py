"""OpenSim 4.6's forward simulation against `twin gait forward`.

Usage: check_forward.py TWIN MODEL.osim REFERENCE_COORDINATES.sto OUT_DIR [DURATION]

Both simulate the same model from the same initial state (the first row of
the reference coordinates, speeds from its first two rows, every muscle at
activation 0.05) under the same excitations (a smooth pattern per muscle,
piecewise linear every 10 ms, written as a controls .sto that twin reads),
OpenSim with its default integrator (RungeKuttaMerson) at accuracy 1e-7;
twin with `CHECK_FORWARD_INTEGRATOR` (dopri) at `CHECK_FORWARD_ACCURACY`
(1e-7). `CHECK_FORWARD_COMPLIANT=soleus,gastroc` gives those muscles
compliant tendons in both (OpenSim's explicit tendon dynamics; tendon
forces from OpenSim's muscle equilibrium at the start).
Every rotational coordinate must stay within 2 degrees of OpenSim's over
the whole duration (default 0.5 s); the script prints the largest
difference per coordinate and exits 1 otherwise.
"""

import json
import math
import os
import subprocess
import sys

import numpy as np
import opensim as osim


def read_sto(path):
    with open(path) as f:
        lines = f.read().splitlines()
    end = next(i for i, l in enumerate(lines) if l.strip() == "endheader")
    labels = lines[end + 1].split()
    rows = [list(map(float, l.split())) for l in lines[end + 2:] if l.strip()]
    return labels, np.array(rows)


def main():
    twin, model_path, ref_path, out = sys.argv[1:5]
    duration = float(sys.argv[5]) if len(sys.argv) > 5 else 0.5
    inputs = os.path.join(out, "inputs")
    os.makedirs(inputs, exist_ok=True)
    # No opensim.log: OpenSim opens it lazily in the working folder, which
    # is the model's own (input) folder while the model loads.
    osim.Logger.removeFileSink()
    osim.Logger.setLevelString("error")
    model = osim.Model(model_path)
    model.initSystem()
    muscles = {m.getName(): m for m in model.getComponentsList()
               if osim.Muscle.safeDownCast(m) is not None}
    assert muscles, "no muscles in %s" % model_path
    # CHECK_FORWARD_COMPLIANT=soleus,gastroc: those muscles (both sides)
    # with compliant tendons in both simulators (OpenSim's explicit mode),
    # starting from OpenSim's muscle equilibrium.
    compliant_names = [n for n in os.environ.get("CHECK_FORWARD_COMPLIANT", "").split(",") if n]
    compliant = [m for m in muscles
                 if m in compliant_names or m.rsplit("_", 1)[0] in compliant_names]
    for m in compliant:
        osim.DeGrooteFregly2016Muscle.safeDownCast(muscles[m]).set_ignore_tendon_compliance(False)
    if compliant:
        model.initSystem()
        muscles = {m.getName(): m for m in model.getComponentsList()
                   if osim.Muscle.safeDownCast(m) is not None}

    # Excitations: a smooth, different pattern per muscle in [0.05, 0.45].
    times = np.arange(0.0, duration + 1e-9, 0.01)
    exc = {
        m: 0.05 + 0.4 * (0.5 + 0.5 * np.sin(2 * math.pi * times / 0.4 + 0.7 * i))
        for i, m in enumerate(muscles)
    }
    controls = os.path.join(inputs, "controls.sto")
    with open(controls, "w") as f:
        f.write("controls\nversion=1\nnRows=%d\nnColumns=%d\ninDegrees=no\nendheader\n"
                % (len(times), len(muscles) + 1))
        f.write("time\t" + "\t".join(muscles) + "\n")
        for k, t in enumerate(times):
            f.write("%.6f\t" % t + "\t".join("%.10f" % exc[m][k] for m in muscles) + "\n")

    # Initial state from the reference coordinates.
    labels, ref = read_sto(ref_path)
    dt = ref[1, 0] - ref[0, 0]
    init_labels, init_values = [], []
    for j, lab in enumerate(labels[1:], start=1):
        init_labels += [lab, lab.replace("/value", "/speed")]
        init_values += [ref[0, j], (ref[1, j] - ref[0, j]) / dt]
    for m in muscles:
        init_labels.append("%s/activation" % muscles[m].getAbsolutePathString())
        init_values.append(0.05)
    if compliant:
        state = model.initSystem()
        for lab, v in zip(init_labels, init_values):
            model.setStateVariableValue(state, lab, v)
        model.equilibrateMuscles(state)
        for m in compliant:
            lab = "%s/normalized_tendon_force" % muscles[m].getAbsolutePathString()
            init_labels.append(lab)
            init_values.append(model.getStateVariableValue(state, lab))
    initial = os.path.join(inputs, "initial.sto")
    with open(initial, "w") as f:
        f.write("initial\nversion=1\nnRows=1\nnColumns=%d\ninDegrees=no\nendheader\n"
                % (len(init_labels) + 1))
        f.write("time\t" + "\t".join(init_labels) + "\n")
        f.write("0\t" + "\t".join("%.12g" % v for v in init_values) + "\n")

    # OpenSim.
    controller = osim.PrescribedController()
    for m in muscles:
        fn = osim.PiecewiseLinearFunction()
        for k, t in enumerate(times):
            fn.addPoint(float(t), float(exc[m][k]))
        controller.addActuator(osim.Muscle.safeDownCast(muscles[m]))
        controller.prescribeControlForActuator(m, fn)
    model.addController(controller)
    state = model.initSystem()
    for lab, v in zip(init_labels, init_values):
        model.setStateVariableValue(state, lab, v)
    manager = osim.Manager(model)
    # OpenSim is the reference: always at 1e-7 (CHECK_FORWARD_ACCURACY sets
    # twin's tolerance only).
    manager.setIntegratorAccuracy(1e-7)
    state.setTime(0.0)
    manager.initialize(state)
    manager.integrate(duration)
    table = manager.getStatesTable()
    osim_t = np.array(table.getIndependentColumn())

    # Twinscope.
    res = subprocess.run(
        [twin, "gait", "forward", "--model", model_path, "--controls", controls,
         "--initial", initial, "--duration", str(duration), "--tolerance", os.environ.get("CHECK_FORWARD_ACCURACY", "1e-7"),
         "--integrator", os.environ.get("CHECK_FORWARD_INTEGRATOR", "dopri"),
         "--out", os.path.join(out, "twin"), "--json"]
        + (["--compliant", ",".join(compliant_names)] if compliant else []),
        check=True, capture_output=True, text=True)
    summary = json.loads(res.stdout)
    tlabels, trows = read_sto(summary["states"])

    worst_all = 0.0
    failed = False
    for j, lab in enumerate(labels[1:], start=1):
        name = lab.split("/")[-2]
        col = table.getDependentColumn(lab).to_numpy()
        ours = np.interp(osim_t, trows[:, 0], trows[:, tlabels.index(lab)])
        diff = np.abs(ours - col)
        if os.environ.get("CHECK_FORWARD_TRACE") == name:
            for k in range(0, len(osim_t), max(1, len(osim_t) // 40)):
                print("    t %.4f twin %.4f osim %.4f" % (osim_t[k], ours[k], col[k]))
        translational = name in ("pelvis_tx", "pelvis_ty")
        worst = diff.max() * (1000.0 if translational else 180.0 / math.pi)
        unit = "mm" if translational else "deg"
        print("  %-16s max |twin - OpenSim| = %7.4f %s (range %.1f %s)" % (
            name, worst, unit,
            (col.max() - col.min()) * (1000.0 if translational else 180.0 / math.pi), unit))
        if not translational:
            worst_all = max(worst_all, worst)
            if worst > 2.0:
                failed = True
    print("forward simulation (%s), %.2f s: largest joint-angle difference %.4f deg (limit 2); "
          "twin %.1fx real time" % (os.environ.get("CHECK_FORWARD_INTEGRATOR", "dopri"), duration, worst_all,
                                    summary["real_time_factor"]))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
