"""Shows a cordsim run in ParaView and saves pictures of it.

    tools/paraview/pvbatch_xvfb.sh tools/paraview/show_run.py RUN_DIR [--field NO] [--time LAST|T]
                        [--slices 5] [--out DIR] [--state]

Loads RUN_DIR/cordsim.xdmf (or cordsim.pvd with --pvd) and writes PNGs to --out (default
RUN_DIR/figures):
  anatomy.png            the tissue (and, when the run has them, the tissue labels) in 3-D;
  <field>_3d.png         the field on the tissue in 3-D, clipped open along the cord axis;
  <field>_axial_N.png    axial slices (normal to the cord axis z), one per segment when the run
                         has a segment index, else --slices evenly spaced slices.
With --state it also writes RUN_DIR/cordsim.pvsm, a ParaView state to open interactively
(File > Load State; it refers to the run's files by absolute path): the run's own Python state
RUN_DIR/cordsim_state.py (written by cordsim) saved as XML.
ParaView renders through GLX only, so run it under xvfb-run on machines without a display.
"""
import argparse
import os
import sys

from paraview import simple as pv

parser = argparse.ArgumentParser(description="Pictures of a cordsim run")
parser.add_argument("run_dir")
parser.add_argument("--field", help="array to show (default: the first species)")
parser.add_argument("--time", default="LAST",
                    help="simulated time in the run's time unit (s; days for an ALS run), or LAST")
parser.add_argument("--slices", type=int, default=5, help="axial slices when the run has no segments")
parser.add_argument("--out", help="folder for the PNGs (default RUN_DIR/figures)")
parser.add_argument("--pvd", action="store_true", help="read cordsim.pvd instead of cordsim.xdmf")
parser.add_argument("--state", action="store_true", help="also write RUN_DIR/cordsim.pvsm")
args = parser.parse_args()

run_dir = os.path.abspath(args.run_dir)
source_file = os.path.join(run_dir, "cordsim.pvd" if args.pvd else "cordsim.xdmf")
if not os.path.exists(source_file):
    sys.exit(f"show_run: {source_file} not found (is {run_dir} a cordsim output directory?)")
out_dir = os.path.abspath(args.out or os.path.join(run_dir, "figures"))
os.makedirs(out_dir, exist_ok=True)

reader = pv.OpenDataFile(source_file)
times = list(reader.TimestepValues) or [0.0]
time = times[-1] if args.time == "LAST" else min(times, key=lambda t: abs(t - float(args.time)))
reader.UpdatePipeline(time)
arrays = list(reader.CellData.keys())
# Species first, in the run's own order (ParaView may list arrays alphabetically), then the static
# grid fields (tissue labels, segment index, densities).
fields = [a for a in arrays if a != "tissue_mask"]
try:
    import h5py
    with h5py.File(os.path.join(run_dir, "cordsim.h5"), "r") as h5:
        species = [s.decode() if isinstance(s, bytes) else str(s) for s in h5.attrs["species"]]
    fields = [s for s in species if s in fields] + [a for a in fields if a not in species]
except (ImportError, OSError, KeyError):
    pass
field = args.field or (fields[0] if fields else None)
if field not in arrays:
    sys.exit(f"show_run: no array '{field}' in the run (arrays: {', '.join(arrays)})")

bounds = reader.GetDataInformation().GetBounds()
centre = [(bounds[0] + bounds[1]) / 2, (bounds[2] + bounds[3]) / 2, (bounds[4] + bounds[5]) / 2]
tissue = pv.Threshold(Input=reader, Scalars=["CELLS", "tissue_mask"], LowerThreshold=0.5, UpperThreshold=1.5)

view = pv.CreateView("RenderView")
view.ViewSize = [900, 700]
view.ViewTime = time
view.OrientationAxesVisibility = 1


def camera_oblique():
    view.CameraFocalPoint = centre
    span = max(bounds[1] - bounds[0], bounds[3] - bounds[2], bounds[5] - bounds[4])
    view.CameraPosition = [centre[0] + 1.2 * span, centre[1] - 1.6 * span, centre[2] + 1.0 * span]
    view.CameraViewUp = [0, 0, 1]
    view.ResetCamera()


def save(name):
    path = os.path.join(out_dir, name)
    pv.SaveScreenshot(path, view)
    print(f"show_run: wrote {path}")


# Anatomy: the tissue labels when the run has a cord geometry, else the tissue mask.
anatomy = pv.Show(tissue, view)
anatomy_array = "tissue_label" if "tissue_label" in arrays else "tissue_mask"
pv.ColorBy(anatomy, ("CELLS", anatomy_array))
anatomy.SetScalarBarVisibility(view, True)
camera_oblique()
save("anatomy.png")
pv.Hide(tissue, view)

# The field in 3-D: the tissue clipped open along the cord axis through the field's maximum, so
# the cut face shows where the field is strongest.
def location_of_maximum():
    from paraview import servermanager
    from vtk.numpy_interface import dataset_adapter as dsa
    import numpy as np
    data = dsa.WrapDataObject(servermanager.Fetch(reader))
    values = np.asarray(data.CellData[field])
    if values.size == 0:
        return centre
    nx, ny = data.GetDimensions()[0] - 1, data.GetDimensions()[1] - 1
    index = int(np.argmax(values))
    i, j, k = index % nx, (index // nx) % ny, index // (nx * ny)
    origin, spacing = data.GetOrigin(), data.GetSpacing()
    return [origin[0] + (i + 0.5) * spacing[0], origin[1] + (j + 0.5) * spacing[1], origin[2] + (k + 0.5) * spacing[2]]


hot = location_of_maximum()
clip = pv.Clip(Input=tissue)
clip.ClipType = "Plane"
clip.ClipType.Origin = hot
clip.ClipType.Normal = [1, 0, 0]
shown = pv.Show(clip, view)
pv.ColorBy(shown, ("CELLS", field))
# One colour scale for every picture of the field: its range over the whole grid at this time.
field_range = reader.CellData[field].GetRange()
field_lut = pv.GetColorTransferFunction(field)
field_lut.AutomaticRescaleRangeMode = "Never"
field_lut.RescaleTransferFunction(field_range[0], field_range[1])
shown.SetScalarBarVisibility(view, True)
camera_oblique()
save(f"{field}_3d.png")
pv.Hide(clip, view)

# Axial slices: one per segment when the run has a segment index, else evenly spaced.
z_positions = []
if "segment" in arrays:
    lo, hi = reader.CellData["segment"].GetRange()
    for segment in range(int(lo), int(hi) + 1):
        if segment <= 0:
            continue
        seg = pv.Threshold(Input=reader, Scalars=["CELLS", "segment"], LowerThreshold=segment - 0.5,
                           UpperThreshold=segment + 0.5)
        seg.UpdatePipeline(time)
        b = seg.GetDataInformation().GetBounds()
        if b[4] <= b[5]:
            z_positions.append((f"segment{segment}", (b[4] + b[5]) / 2))
        pv.Delete(seg)
if not z_positions:
    n = max(1, args.slices)
    z_positions = [(f"z{i}", bounds[4] + (i + 0.5) * (bounds[5] - bounds[4]) / n) for i in range(n)]

axial = pv.Slice(Input=tissue)
axial.SliceType = "Plane"
axial.SliceType.Normal = [0, 0, 1]
slice_display = pv.Show(axial, view)
pv.ColorBy(slice_display, ("CELLS", field))
field_lut.RescaleTransferFunction(field_range[0], field_range[1])  # ColorBy may have rescaled it
slice_display.SetScalarBarVisibility(view, True)
for label, z in z_positions:
    axial.SliceType.Origin = [centre[0], centre[1], z]
    view.CameraFocalPoint = [centre[0], centre[1], z]
    view.CameraPosition = [centre[0], centre[1] - 1e-3, z + 3 * max(bounds[1] - bounds[0], bounds[3] - bounds[2])]
    view.CameraViewUp = [0, 1, 0]
    view.ResetCamera()
    save(f"{field}_axial_{label}.png")

if args.state:
    # The run's own Python state (cordsim_state.py, written by cordsim), saved as a .pvsm: a
    # mid-cord slice with the tissue outline, units, time, scale bar and tissue-class legend.
    state = os.path.join(run_dir, "cordsim.pvsm")
    state_script = os.path.join(run_dir, "cordsim_state.py")
    if os.path.isfile(state_script):
        pv.ResetSession()
        with open(state_script, encoding="utf-8") as f:
            exec(compile(f.read(), state_script, "exec"), {"__name__": "__main__", "__file__": state_script})
    else:  # a run written before cordsim wrote its state script: the anatomy and the slice
        pv.Show(tissue, view).Opacity = 0.15
    pv.SaveState(state)
    print(f"show_run: wrote {state} (ParaView: File > Load State)")
