"""Peer implementations of each benchmark task, run by bench/run.py inside the
bench virtualenv. Each prints JSON: {"seconds": [...], "items": N}.

usage: python peers.py TOOL TASK INPUT REPEAT
"""
import json
import os
import sys
import time
from pathlib import Path

import numpy as np


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


def raw_volume(spec):
    """RAW@LEVEL → (float32 array z,y,x; spacing x,y,z; level)."""
    import numpy as np
    path, level = spec.rsplit("@", 1)
    meta = json.load(open(os.path.splitext(path)[0] + ".json"))
    nx, ny, nz = meta["dims"]
    vol = np.fromfile(path, dtype="<f4").reshape(nz, ny, nx)
    return vol, meta["spacing"], float(level)


_LOADED = {}


def loaded(spec):
    # Load once per process: the timed part is the surface work only.
    if spec not in _LOADED:
        _LOADED[spec] = raw_volume(spec)
    return _LOADED[spec]


def vtk_image(vol, spacing):
    import vtk
    from vtk.util import numpy_support
    img = vtk.vtkImageData()
    nz, ny, nx = vol.shape
    img.SetDimensions(nx, ny, nz)
    img.SetSpacing(*spacing)
    arr = numpy_support.numpy_to_vtk(vol.ravel(), deep=False)
    img.GetPointData().SetScalars(arr)
    img._keep = (vol, arr)
    return img


def vtk_isosurface(spec):
    import vtk
    vol, sp, level = loaded(spec)
    fe = vtk.vtkFlyingEdges3D()
    fe.SetInputData(vtk_image(vol, sp))
    fe.SetValue(0, level)
    fe.ComputeNormalsOff()
    fe.Update()
    return fe.GetOutput().GetNumberOfCells()


def skimage_isosurface(spec):
    from skimage import measure
    vol, sp, level = loaded(spec)
    verts, faces, _, _ = measure.marching_cubes(vol, level, spacing=tuple(reversed(sp)))
    return len(faces)


def _mask(spec):
    import numpy as np
    vol, sp, level = loaded(spec)
    key = spec + "#mask"
    if key not in _LOADED:
        _LOADED[key] = (vol >= level).astype(np.uint8)
    return _LOADED[key], sp


def vtk_mask_surface(spec):
    import vtk
    mask, sp = _mask(spec)
    fe = vtk.vtkDiscreteFlyingEdges3D()
    fe.SetInputData(vtk_image(mask, sp))
    fe.SetValue(0, 1)
    fe.ComputeNormalsOff()
    fe.Update()
    return fe.GetOutput().GetNumberOfCells()


def skimage_mask_surface(spec):
    from skimage import measure
    mask, sp = _mask(spec)
    verts, faces, _, _ = measure.marching_cubes(mask, 0.5, spacing=tuple(reversed(sp)))
    return len(faces)


def vtk_pipeline(spec):
    """3D Slicer's segment → closed surface: discrete flying edges, windowed-sinc
    smoothing (20 iterations) and quadric decimation to a quarter."""
    import vtk
    mask, sp = _mask(spec)
    fe = vtk.vtkDiscreteFlyingEdges3D()
    fe.SetInputData(vtk_image(mask, sp))
    fe.SetValue(0, 1)
    fe.ComputeNormalsOff()
    sm = vtk.vtkWindowedSincPolyDataFilter()
    sm.SetInputConnection(fe.GetOutputPort())
    sm.SetNumberOfIterations(20)
    sm.SetPassBand(0.1)
    sm.BoundarySmoothingOff()
    sm.FeatureEdgeSmoothingOff()
    sm.NonManifoldSmoothingOn()
    sm.NormalizeCoordinatesOn()
    dec = vtk.vtkQuadricDecimation()
    dec.SetInputConnection(sm.GetOutputPort())
    dec.SetTargetReduction(0.75)
    dec.VolumePreservationOn()
    dec.Update()
    return dec.GetOutput().GetNumberOfCells()


# --- cardiac twin: the same equations as crates/twin_cardio/src/model.rs ---

DYN_PER_MMHG = 1333.22
ZETA_END = 1e-3


def _activation(c, t, period):
    import math
    s = math.sqrt(period)
    if c["t_contract"] > 0.5:
        tc = period - (1.0 - c["t_contract"]) * s
    else:
        tc = c["t_contract"] * s
    dc, dr = c["d_contract"] * s, c["d_relax"] * s
    local = (t - tc) % period
    if local < dc:
        return 0.5 * (1.0 - math.cos(math.pi * local / dc))
    if local < dc + dr:
        return 0.5 * (1.0 + math.cos(math.pi * (local - dc) / dr))
    return 0.0


def _valve(v, rho, dp, q, z):
    zz = min(max((z - ZETA_END) / (1.0 - 2.0 * ZETA_END), 0.0), 1.0)
    a = v["area_closed"] + zz * (v["area_open"] - v["area_closed"])
    b = rho / (2.0 * a * a) / DYN_PER_MMHG
    l = rho * v["length"] / a / DYN_PER_MMHG
    dq = (dp - b * q * abs(q)) / l
    if dp > 0.0:
        dz = (1.0 - z) * v["k_open"] * dp if z < 1.0 - ZETA_END else 0.0
    else:
        dz = z * v["k_close"] * dp if z > ZETA_END else 0.0
    return dq, dz


def cardio_rhs(p):
    period = 60.0 / p["heart_rate_bpm"]
    rho = p["blood_density"]
    sys_a, sys_v, pul_a, pul_v = p["ar_sys"], p["ven_sys"], p["ar_pul"], p["ven_pul"]

    def f(t, y):
        pc = [(c["eb"] + c["ea"] * _activation(c, t, period)) * (y[i] - c["v0"])
              for i, c in enumerate((p["la"], p["lv"], p["ra"], p["rv"]))]
        la, lv, ra, rv = pc
        d = [0.0] * 20
        d[0] = y[11] - y[12]
        d[1] = y[12] - y[13]
        d[2] = y[9] - y[14]
        d[3] = y[14] - y[15]
        d[4] = (y[13] - y[8]) / sys_a["c"]
        d[5] = (y[8] - y[9]) / sys_v["c"]
        d[6] = (y[15] - y[10]) / pul_a["c"]
        d[7] = (y[10] - y[11]) / pul_v["c"]
        d[8] = (y[4] - y[5] - sys_a["r"] * y[8]) / sys_a["l"]
        d[9] = (y[5] - ra - sys_v["r"] * y[9]) / sys_v["l"]
        d[10] = (y[6] - y[7] - pul_a["r"] * y[10]) / pul_a["l"]
        d[11] = (y[7] - la - pul_v["r"] * y[11]) / pul_v["l"]
        for v, dp, q, z in ((p["mitral"], la - lv, 12, 16), (p["aortic"], lv - y[4], 13, 17),
                            (p["tricuspid"], ra - rv, 14, 18), (p["pulmonary"], rv - y[6], 15, 19)):
            d[q], d[z] = _valve(v, rho, dp, y[q], y[z])
        return d
    return f, period


def _cardio_beats(spec, method):
    import numpy as np
    from scipy.integrate import solve_ivp
    path, n = spec.rsplit("@", 1)
    data = json.load(open(path))
    f, period = cardio_rhs(data["parameters"])
    # The same tolerances as Twinscope's default run (valve states 100x tighter).
    rtol, atol = data["rtol"], data["atol"]
    atol = np.array([atol] * 16 + [atol * 1e-2] * 4)
    sol = solve_ivp(f, (0.0, int(n) * period), data["state"], method=method, rtol=rtol, atol=atol)
    if not sol.success:
        raise RuntimeError(sol.message)
    return int(n)


def scipy_lsoda_beats(spec):
    return _cardio_beats(spec, "LSODA")


def scipy_radau_beats(spec):
    return _cardio_beats(spec, "Radau")


class _Reflex:
    """The same reflexes as crates/twin_cardio/src/reflex.rs (Ursino 1998
    baroreflex and the cardiopulmonary reflex), stepped along the solver's
    output points."""

    EFF = ["e_lv", "e_rv", "r_splanchnic", "r_extrasplanchnic", "v_splanchnic",
           "v_extrasplanchnic", "t_sympathetic", "t_vagal"]

    def __init__(self, q, p_n, ra_n):
        import math
        self.q, self.p_n, self.ra_n, self.math = q, p_n, ra_n, math
        self.u = p_n * (1.0 - q["tau_z_s"] / q["tau_p_s"])
        self.last_p, self.ra_f, self.t = p_n, ra_n, 0.0
        _, f_es, f_ev = self.firing(p_n)
        self.delta = self.targets(f_es, f_ev)
        self.rest = list(self.delta)
        self.hist = [(0.0, f_es, f_ev)]
        self.cp_r = self.cp_v = 0.0

    def firing(self, pt):
        q, exp = self.q, self.math.exp
        e = exp(min(max((pt - self.p_n) / q["ka_mmhg"], -50.0), 50.0))
        f_as = (q["f_min"] + q["f_max"] * e) / (1.0 + e)
        f_es = q["f_es_inf"] + (q["f_es0"] - q["f_es_inf"]) * exp(-q["k_es"] * f_as)
        ev = exp(min(max((f_as - q["f_as0"]) / q["k_ev"], -50.0), 50.0))
        return f_as, f_es, (q["f_ev0"] + q["f_ev_inf"] * ev) / (1.0 + ev)

    def targets(self, f_es, f_ev):
        q = self.q
        s = self.math.log(f_es - q["f_es_min"] + 1.0) if f_es >= q["f_es_min"] else 0.0
        return [q[k]["gain"] * s for k in self.EFF[:-1]] + [q["t_vagal"]["gain"] * f_ev]

    def delayed(self, t):
        import bisect
        h = self.hist
        if t <= h[0][0]:
            return h[0][1], h[0][2]
        i = bisect.bisect_right(self.times, t)
        if i >= len(h):
            return h[-1][1], h[-1][2]
        a, b = h[i - 1], h[i]
        w = (t - a[0]) / (b[0] - a[0]) if b[0] > a[0] else 1.0
        return a[1] + w * (b[1] - a[1]), a[2] + w * (b[2] - a[2])

    def step(self, dt, p_art, p_ra):
        if dt <= 0.0:
            return
        q, exp = self.q, self.math.exp
        k = 1.0 - q["tau_z_s"] / q["tau_p_s"]
        pm = 0.5 * (self.last_p + p_art)
        a = exp(-dt / q["tau_p_s"])
        self.u = pm * k + (self.u - pm * k) * a
        self.last_p = p_art
        self.t += dt
        _, f_es, f_ev = self.firing(self.u + q["tau_z_s"] / q["tau_p_s"] * p_art)
        self.hist.append((self.t, f_es, f_ev))
        while len(self.hist) > 2 and self.hist[1][0] < self.t - 6.0:
            self.hist.pop(0)
        self.times = [h[0] for h in self.hist]
        for i, name in enumerate(self.EFF):
            e = q[name]
            es, ev = self.delayed(self.t - e["delay_s"])
            target = self.targets(es, ev)[i]
            self.delta[i] = target + (self.delta[i] - target) * exp(-dt / e["tau_s"])
        self.ra_f = p_ra + (self.ra_f - p_ra) * exp(-dt / q["cp_tau_s"])
        sat = q["cp_saturation_mmhg"]
        err = min(max(self.ra_f - self.ra_n, -sat), sat)
        g = q["cp_resistance_per_mmhg"]
        self.cp_r = -g * err + (self.cp_r + g * err) * exp(-dt / q["r_splanchnic"]["tau_s"])
        tv = q["cp_venous_ml_per_mmhg"] * err
        self.cp_v = tv + (self.cp_v - tv) * exp(-dt / q["v_splanchnic"]["tau_s"])

    def effects(self):
        q, d, r = self.q, self.delta, self.rest
        ratio = lambda e, x, y: (q[e]["basal"] + x) / (q[e]["basal"] + y)  # noqa: E731
        cond = lambda x, y: 1.0 / (q["r_splanchnic"]["basal"] + x) + 1.0 / (q["r_extrasplanchnic"]["basal"] + y)  # noqa: E731
        return (d[6] + d[7] - r[6] - r[7], ratio("e_lv", d[0], r[0]), ratio("e_rv", d[1], r[1]),
                cond(r[2], r[3]) / cond(d[2], d[3]) * (1.0 + self.cp_r),
                -(d[4] + d[5] - r[4] - r[5]) - self.cp_v)


def scipy_lsoda_timeline(spec):
    """The bench timeline of twin-bench `cardio-timeline` (rest, 1000 mL
    lost over 1 min from 0.5 min, reflexes on) beat by beat with solve_ivp
    (LSODA) per beat, from the exported periodic state; 30 s of open-loop
    settling first, as Twinscope does. Returns simulated seconds."""
    import copy
    import math
    import numpy as np
    from scipy.integrate import solve_ivp
    path, minutes = spec.rsplit("@", 1)
    minutes = float(minutes)
    data = json.load(open(path))
    base = data["parameters"]
    rtol = data["rtol"]
    atol = np.array([data["atol"]] * 16 + [data["atol"] * 1e-2] * 4)
    reflex = _Reflex(data["reflex"], data["map"], data["ra"])
    y = np.array(data["state"])

    def beat(p, y, closed, carotid=0.0):
        f, period = cardio_rhs(p)
        sol = solve_ivp(f, (0.0, period), y, method="LSODA", rtol=rtol, atol=atol)
        if not sol.success:
            raise RuntimeError(sol.message)
        ra_c = p["ra"]
        t_prev = 0.0
        for i in range(1, len(sol.t)):
            t = sol.t[i]
            ra = (ra_c["eb"] + ra_c["ea"] * _activation(ra_c, t, period)) * (sol.y[2, i] - ra_c["v0"])
            reflex.step(t - t_prev, sol.y[4, i] - carotid, ra)
            t_prev = t
        return sol.y[:, -1], period, sol
    period0 = 60.0 / base["heart_rate_bpm"]
    for _ in range(math.ceil(30.0 / period0)):
        y, _, _ = beat(base, y, True)
    reflex.rest = list(reflex.delta)
    reflex.cp_r = reflex.cp_v = 0.0
    t, end, applied, lost = 0.0, minutes * 60.0, 0.0, 0.0
    start, stop, rate = 30.0, 90.0, -1000.0 / 60.0
    hr = mean = 0.0
    while t < end - 1e-9:
        shift_t, lv, rv, res, recruited = reflex.effects()
        p = copy.deepcopy(base)
        p["heart_rate_bpm"] = min(max(60.0 / max(60.0 / base["heart_rate_bpm"] + shift_t, 0.2), 30.0), 220.0)
        period = 60.0 / p["heart_rate_bpm"]
        p["lv"]["ea"] *= lv
        p["rv"]["ea"] *= rv
        p["ar_sys"]["r"] *= res
        ext = rate * max(min(t + period, stop) - max(t, start), 0.0)
        lost += ext
        y = y.copy()
        y[5] += (ext + recruited - applied) / p["ven_sys"]["c"]
        applied = recruited
        y, period, sol = beat(p, y, True)
        hr = p["heart_rate_bpm"]
        yy, tt = sol.y[4], sol.t
        mean = float(np.sum(0.5 * (yy[1:] + yy[:-1]) * np.diff(tt))) / period
        t += period
    ref = data["twinscope_end"]
    if abs(minutes - 2.0) < 1e-9:
        print(f"scipy-lsoda end: HR {hr:.1f} MAP {mean:.1f}; Twinscope: HR {ref['heart_rate_bpm']:.1f} "
              f"MAP {ref['map_mmhg']:.1f}", file=sys.stderr)
    return int(round(minutes * 60.0))


def opensim_gait(spec):
    """The same cases as twin-bench's `gait` task, as OpenSim 4.6 tool runs
    (model and data read, solved, result written), from the data folder so
    that relative paths in the setup files resolve."""
    import os
    import tempfile
    import opensim as osim
    osim.Logger.removeFileSink()  # no opensim.log in the working folder
    osim.Logger.setLevelString("error")
    case, root = spec.split("@", 1)
    g2354 = os.path.join(root, "gait2354_subject01")
    g10 = os.path.join(root, "gait10dof18musc")
    out = tempfile.mkdtemp()
    here = os.getcwd()
    try:
        if case == "forward-2d":
            return _opensim_forward(osim, os.path.join(root, "moco_2d_gait"))
        if case == "forward-2d-euler":
            return _opensim_forward(osim, os.path.join(root, "moco_2d_gait"), 1e-2, "SemiExplicitEuler2")
        if case.startswith("so-"):
            return _opensim_so(osim, case, g2354, g10, out)
        if case.startswith("ik-"):
            if case == "ik-gait2354":
                model, trc, t0, t1 = (os.path.join(g2354, "ik_check/subject01_simbody.osim"),
                                      os.path.join(g2354, "ik_check/subject01_synthetic_marker_data.trc"), 0.4, 1.6)
            else:
                model, trc, t0, t1 = (os.path.join(g10, "gait10dof18musc_subject01.osim"),
                                      os.path.join(g2354, "subject01_walk1.trc"), 0.0, 2.5)
            tool = osim.InverseKinematicsTool()
            # Keep the model referenced: the tool does not own it.
            the_model = osim.Model(model)
            tool.setModel(the_model)
            tool.setMarkerDataFileName(trc)
            tool.set_IKTaskSet(osim.IKTaskSet(os.path.join(g2354, "ik_check/gait2354_IK_Tasks_uniform.xml")))
            tool.setStartTime(t0)
            tool.setEndTime(t1)
            tool.set_accuracy(1e-5)
            tool.set_report_errors(False)
            tool.setOutputMotionFileName(os.path.join(out, "ik.mot"))
            tool.run()
            return osim.TimeSeriesTable(os.path.join(out, "ik.mot")).getNumRows()
        if case == "id-gait2354":
            folder, model, motion, loads, t0, t1 = (g2354, "subject01.osim", "subject01_walk1_ik.mot",
                                                    "subject01_walk1_grf.xml", 0.5, 1.6)
        else:
            folder, model, motion, loads, t0, t1 = (g10, "gait10dof18musc_subject01.osim", "subject01_walk_IK.mot",
                                                    "gait10dof18musc_subject01_walk_grf.xml", 0.0, 2.5)
        os.chdir(folder)
        tool = osim.InverseDynamicsTool()
        the_model = osim.Model(model)
        tool.setModel(the_model)
        tool.setCoordinatesFileName(motion)
        tool.setLowpassCutoffFrequency(6)
        tool.setExternalLoadsFileName(loads)
        tool.setStartTime(t0)
        tool.setEndTime(t1)
        excluded = osim.ArrayStr()
        excluded.append("Muscles")
        tool.setExcludedForces(excluded)
        tool.setResultsDir(out)
        tool.setOutputGenForceFileName("id.sto")
        tool.run()
        return osim.TimeSeriesTable(os.path.join(out, "id.sto")).getNumRows()
    finally:
        os.chdir(here)


def _opensim_forward(osim, folder, accuracy=1e-5, method=None):
    """OpenSim's forward simulation of the Moco 2D model as twin-bench runs
    it: the reference's first pose, speeds from its first two rows, muscles
    at activation 0.05 and excitation 0.1, 1 s, accuracy 1e-5 (Runge–Kutta–
    Merson, or `method` at `accuracy`); the whole
    run (model read, system built, integrated) is timed by the caller."""
    import os
    model = osim.Model(os.path.join(folder, "2D_gait.osim"))
    model.initSystem()
    muscles = [m for m in model.getComponentsList() if osim.Muscle.safeDownCast(m) is not None]
    controller = osim.PrescribedController()
    for m in muscles:
        controller.addActuator(osim.Muscle.safeDownCast(m))
        controller.prescribeControlForActuator(m.getName(), osim.Constant(0.1))
    model.addController(controller)
    state = model.initSystem()
    table = osim.TimeSeriesTable(os.path.join(folder, "referenceCoordinates.sto"))
    times = table.getIndependentColumn()
    for label in table.getColumnLabels():
        col = table.getDependentColumn(label)
        model.setStateVariableValue(state, label, col[0])
        model.setStateVariableValue(state, label.replace("/value", "/speed"),
                                    (col[1] - col[0]) / (times[1] - times[0]))
    for m in muscles:
        model.setStateVariableValue(state, m.getAbsolutePathString() + "/activation", 0.05)
    manager = osim.Manager(model)
    if method is not None:
        manager.setIntegratorMethod(getattr(osim.Manager, "IntegratorMethod_" + method))
    manager.setIntegratorAccuracy(accuracy)
    state.setTime(0.0)
    manager.initialize(state)
    manager.integrate(1.0)
    return 1000


def _opensim_so(osim, case, g2354, g10, out):
    """StaticOptimization (AnalyzeTool) with a reserve (CoordinateActuator,
    optimal force 1) on every unlocked coordinate, 6-Hz filter, exponent 2,
    muscle physiology on — what `twin gait so` does by default."""
    import math
    import os
    import xml.etree.ElementTree as ET
    if case == "so-gait2354":
        folder, model, motion, loads, t0, t1 = (g2354, "subject01.osim", "subject01_walk1_ik.mot",
                                                "subject01_walk1_grf.xml", 0.5, 1.6)
    else:
        folder, model, motion, loads, t0, t1 = (g10, "gait10dof18musc_subject01.osim", "subject01_walk_IK.mot",
                                                "gait10dof18musc_subject01_walk_grf.xml", 0.6, 1.9)
    tree = ET.parse(os.path.join(folder, loads))
    datafile = tree.find(".//datafile")
    datafile.text = os.path.join(folder, datafile.text.strip())
    tree.write(os.path.join(out, "loads.xml"))
    m = osim.Model(os.path.join(folder, model))
    m.initSystem()
    for c in m.getCoordinateSet():
        if not c.get_locked():
            act = osim.CoordinateActuator(c.getName())
            act.setName(c.getName() + "_reserve")
            act.setOptimalForce(1.0)
            act.setMinControl(-math.inf)
            act.setMaxControl(math.inf)
            m.addForce(act)
    m.printToXML(os.path.join(out, "model.osim"))
    setup = os.path.join(out, "so.xml")
    open(setup, "w").write(f"""<?xml version="1.0" encoding="UTF-8" ?>
<OpenSimDocument Version="40000"><AnalyzeTool name="so">
<model_file>{os.path.join(out, "model.osim")}</model_file><replace_force_set>false</replace_force_set>
<results_directory>{out}</results_directory><initial_time>{t0}</initial_time><final_time>{t1}</final_time>
<AnalysisSet><objects><StaticOptimization name="StaticOptimization"><on>true</on>
<start_time>{t0}</start_time><end_time>{t1}</end_time><step_interval>1</step_interval>
<use_model_force_set>true</use_model_force_set><activation_exponent>2</activation_exponent>
<use_muscle_physiology>true</use_muscle_physiology></StaticOptimization></objects></AnalysisSet>
<external_loads_file>{os.path.join(out, "loads.xml")}</external_loads_file>
<coordinates_file>{os.path.join(folder, motion)}</coordinates_file>
<lowpass_cutoff_frequency_for_coordinates>6</lowpass_cutoff_frequency_for_coordinates>
</AnalyzeTool></OpenSimDocument>""")
    osim.AnalyzeTool(setup).run()
    return osim.TimeSeriesTable(os.path.join(out, "so_StaticOptimization_activation.sto")).getNumRows()



# --- cine LV segmentation: the same network (crates/twin_mesh/models/
# cine_lv.onnx) run by onnxruntime with numpy/scipy around it, the way a
# Python pipeline would: every slice of the first phase whole (1.4 mm
# pixels, padded to a multiple of 16) to find the LV, then a 128 x 128
# window around it on every slice and phase, the logits sampled back onto
# the slice's pixels, the component at the centre kept with its holes filled.

NET_MM = 1.4
_CINE = {}


def _cine(root):
    if root not in _CINE:
        import pydicom
        frames = {}
        spacing = None
        for f in files_under(root):
            d = pydicom.dcmread(f)
            pos = tuple(float(x) for x in d.ImagePositionPatient)
            frames.setdefault(float(d.TriggerTime), {})[pos] = d.pixel_array.astype(np.float32)
            spacing = [float(x) for x in d.PixelSpacing]
        times = sorted(frames)
        positions = sorted(frames[times[0]])
        _CINE[root] = ([[frames[t][p] for p in positions] for t in times], spacing)
    return _CINE[root]


def _session():
    if "ort" not in _CINE:
        import onnxruntime as ort
        model = Path(__file__).resolve().parent.parent / "crates/twin_mesh/models/cine_lv.onnx"
        _CINE["ort"] = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    return _CINE["ort"]


def _normalise(img):
    lo, hi = np.percentile(img, [1.0, 99.5])
    return ((img - lo) / max(hi - lo, 1e-6)).astype(np.float32)


def _run(sess, img):
    return sess.run(None, {"image": img[None, None]})[0][0, 0]


def onnxruntime_cine_lv(root):
    from scipy import ndimage
    cine, (sy, sx) = _cine(root)
    sess = _session()
    ny, nx = cine[0][0].shape
    centres = []
    for sl in cine[0]:
        # The whole slice at the network's pixel size.
        z = ndimage.zoom(sl, (sy / NET_MM, sx / NET_MM), order=1)
        h, w = z.shape
        pad = np.pad(_normalise(z), ((0, (-h) % 16), (0, (-w) % 16)))
        lab, n = ndimage.label(_run(sess, pad)[:h, :w] > 0)
        if n == 0:
            centres.append(None)
            continue
        cms = ndimage.center_of_mass(np.ones_like(lab), lab, range(1, n + 1))
        mid = np.array([h / 2, w / 2])
        best = min(cms, key=lambda c: np.hypot(*(np.array(c) - mid)))
        centres.append((best[0] * NET_MM / sy, best[1] * NET_MM / sx))
    for phase in cine:
        for k, sl in enumerate(phase):
            if centres[k] is None:
                continue
            cy, cx = centres[k]
            g = (np.arange(128) - 63.5) * NET_MM
            yy, xx = np.meshgrid(cy + g / sy, cx + g / sx, indexing="ij")
            logit = _run(sess, _normalise(ndimage.map_coordinates(sl, [yy, xx], order=1, cval=0.0)))
            # Back onto the slice's own pixels.
            py, px = np.meshgrid((np.arange(ny) - cy) * sy / NET_MM + 63.5,
                                 (np.arange(nx) - cx) * sx / NET_MM + 63.5, indexing="ij")
            lab, n = ndimage.label(ndimage.map_coordinates(logit, [py, px], order=1, cval=-1e3) > 0)
            at = lab[int(round(cy)), int(round(cx))] if n else 0
            if at:
                ndimage.binary_fill_holes(lab == at)
    return len(cine) * len(cine[0])


def _ep_graph(root):
    """The exported graph of the demo heart (bench/src/ep.rs) as a CSR
    matrix with a super-source joined to each stimulus by its time."""
    global _EP
    if _EP is None:
        from scipy import sparse
        meta = json.loads(Path(root + ".json").read_text())
        e = np.fromfile(root + ".edges", dtype=[("a", "<u4"), ("b", "<u4"), ("w", "<f8")])
        n = meta["nodes"]
        src = np.array([s[0] for s in meta["sources"]])
        t0 = np.array([s[1] for s in meta["sources"]], dtype=float)
        # Zero weights would read as missing edges in a sparse matrix.
        rows = np.concatenate([e["a"], e["b"], np.full(len(src), n)])
        cols = np.concatenate([e["b"], e["a"], src])
        w = np.concatenate([e["w"], e["w"], t0 + 1e-9])
        _EP = sparse.csr_matrix((w, (rows, cols)), shape=(n + 1, n + 1)), n
    return _EP


_EP = None


def scipy_ep_graph(root):
    from scipy.sparse import csgraph
    graph, n = _ep_graph(root)
    t = csgraph.dijkstra(graph, directed=True, indices=n)[:n] - 1e-9
    ours = np.fromfile(root + ".times", dtype="<f8")
    ok = np.isfinite(ours)
    print(f"Twinscope: graph activation vs scipy Dijkstra, max |Δ| = {np.max(np.abs(t[ok] - ours[ok])):.2e} ms "
          f"over {ok.sum()} nodes", file=sys.stderr)
    return n


TASKS = {
    ("scipy", "ep"): scipy_ep_graph,
    ("opensim", "gait"): opensim_gait,
    ("scipy-lsoda", "cardio-beats"): scipy_lsoda_beats,
    ("scipy-radau", "cardio-beats"): scipy_radau_beats,
    ("scipy-lsoda", "cardio-timeline"): scipy_lsoda_timeline,
    ("vtk", "isosurface"): vtk_isosurface,
    ("skimage", "isosurface"): skimage_isosurface,
    ("vtk", "mask-surface"): vtk_mask_surface,
    ("skimage", "mask-surface"): skimage_mask_surface,
    ("vtk", "pipeline"): vtk_pipeline,
    ("pydicom", "dicom-scan"): pydicom_scan,
    ("pydicom", "dicom-load"): pydicom_load,
    ("simpleitk", "dicom-scan"): sitk_scan,
    ("simpleitk", "dicom-load"): sitk_load,
    ("onnxruntime", "cine-lv"): onnxruntime_cine_lv,
}


def main():
    tool, task, root, repeat = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    fn = TASKS[(tool, task)]
    seconds, items = [], 0
    if "@" in root and task in ("isosurface", "mask-surface", "pipeline"):
        loaded(root)  # outside the timing, like Twinscope's
        if task in ("mask-surface", "pipeline"):
            _mask(root)
    if task == "ep":
        _ep_graph(root)  # the graph built outside the timing, like Twinscope's
    if task == "cine-lv":
        _cine(root)  # outside the timing, like Twinscope's
        _session()
    for _ in range(repeat):
        t = time.perf_counter()
        items = fn(root)
        seconds.append(time.perf_counter() - t)
    import resource
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux
    print(json.dumps({"seconds": seconds, "items": items, "peak_rss_mib": peak_mib}))


if __name__ == "__main__":
    main()
