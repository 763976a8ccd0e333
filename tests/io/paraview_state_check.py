"""Loads a run's ParaView state script (RUN_DIR/cordsim_state.py) as File > Load State does, and
checks what it shows against cordsim.h5: a mid-cord slice of tissue cells only, its tissue
outline, the first species coloured with its unit on the colour bar, the time in the run's unit
(days for an ALS run), a scale bar, and on a cord geometry the tissue classes by name in a
categorical legend. Renders the layout to OUT.png and checks that the picture is not blank; then
loads the state again from a copy of the script whose recorded directory is gone (a moved run),
which must find the run beside the script.

    tools/paraview/pvbatch_xvfb.sh tests/io/paraview_state_check.py RUN_DIR OUT.png

Exits non-zero with a message naming every failed check.
"""
import os
import shutil
import sys
import tempfile

import h5py
import numpy as np
from paraview import servermanager
from paraview import simple as pv
from vtk.util.numpy_support import vtk_to_numpy

run_dir, png = os.path.abspath(sys.argv[1]), sys.argv[2]
failures = []


def check(condition, message):
    if not condition:
        failures.append(message)


def load_state(path, with_file=True):
    """Runs a Python state file the way ParaView's Load State does; returns its CORDSIM_STATE."""
    scope = {"__name__": "__main__"}
    if with_file:
        scope["__file__"] = path
    with open(path, encoding="utf-8") as f:
        exec(compile(f.read(), path, "exec"), scope)
    return scope["CORDSIM_STATE"]


def text(value):
    return value.decode() if isinstance(value, bytes) else str(value)


with h5py.File(os.path.join(run_dir, "cordsim.h5"), "r") as h5:
    time_unit = text(h5.attrs["time_unit"])
    species = [text(s) for s in h5.attrs["species"]]
    last_time = float(h5["/times"][-1])
    units = {s: text(h5[f"/fields/{s}"][sorted(h5[f"/fields/{s}"].keys())[-1]].attrs["units"]) for s in species}
    categories = {}
    if "tissue_label" in h5["/grid"]:
        categories = [text(c) for c in h5["/grid/tissue_label"].attrs["categories"]]

state_file = os.path.join(run_dir, "cordsim_state.py")
check(os.path.isfile(state_file), f"{state_file} was not written")
# ParaView's Load State may not set __file__: the recorded directory must do.
state = load_state(state_file, with_file=False)

# The slice: mid-cord, tissue only (the outside is hidden), with an outline around it.
section = servermanager.Fetch(state["slice"])
mask = vtk_to_numpy(section.GetCellData().GetArray("tissue_mask")) if section.GetNumberOfCells() else np.array([])
check(mask.size > 0 and bool(np.all(mask == 1)),
      f"the state's slice has {mask.size} cells, {int(np.count_nonzero(mask != 1))} of them outside the tissue")
outline = servermanager.Fetch(state["outline"])
check(outline.GetNumberOfCells() > 0, "the state shows no tissue outline")

# The field: the first species, at the last output time, its unit on the colour bar.
field = state["field"]
check(field == species[0], f"the state colours by {field!r}, not the first species {species[0]!r}")
check(abs(state["time"] - last_time) < 1e-9, f"the state opens at {state['time']}, the last output is {last_time}")
field_view = state["views"][0]
bar = pv.GetScalarBar(pv.GetColorTransferFunction(field), field_view)
check(bar.Visibility == 1 and f"({units[field]})" in bar.Title,
      f"the colour bar of {field} is titled {bar.Title!r}, without its unit {units[field]!r}")

# The time, in the run's unit: "day N" for an ALS run.
clock = pv.FindSource("time")
clock.UpdatePipeline(state["time"])
shown = servermanager.Fetch(clock)
clock_text = shown.GetColumn(0).GetValue(0) if shown is not None and shown.GetNumberOfColumns() else ""
want = f"day {state['time']:g}" if time_unit == "d" else f"t = {state['time']:g} {time_unit}"
check(clock_text == want, f"the time reads {clock_text!r}, expected {want!r}")

# The scale bar.
ruler = pv.FindSource("scale bar")
check(ruler is not None and abs((ruler.Point2[0] - ruler.Point1[0]) - state["scale_bar_um"]) < 1e-6,
      "no scale bar of the length the state reports")

# The tissue classes, by name, in a categorical legend (a cord geometry only).
if categories:
    check(state["labels"] == "tissue_label" and len(state["views"]) == 2,
          "a run on a cord geometry has no tissue-class view")
    lut = pv.GetColorTransferFunction("tissue_label")
    annotations = list(lut.Annotations)
    named = dict(zip(annotations[0::2], annotations[1::2]))
    check(lut.InterpretValuesAsCategories == 1, "the tissue-class colours are not categorical")
    for value in ("1", "2", "3", "4", "5"):
        check(named.get(value) == categories[int(value)],
              f"the legend names class {value} {named.get(value)!r}, cordsim.h5 says {categories[int(value)]!r}")
    legend = pv.GetScalarBar(lut, state["views"][1])
    check(legend.Visibility == 1, "the tissue-class legend is hidden")
    print(f"state: tissue-class legend {named}")
else:
    check(len(state["views"]) == 1, "a run without tissue labels shows a label view")

pv.SaveScreenshot(png, state["layout"], ImageResolution=[1600, 700] if len(state["views"]) == 2 else [800, 700])
reader = pv.PNGSeriesReader(FileNames=[png])
image = servermanager.Fetch(reader)
pixels = vtk_to_numpy(image.GetPointData().GetScalars())[:, :3]
colours, counts = np.unique(pixels.reshape(-1, 3), axis=0, return_counts=True)
check(len(colours) >= 20, f"{png} has only {len(colours)} colours")
check(counts.max() < 0.9 * len(pixels), f"{png} is {100 * counts.max() / len(pixels):.0f}% one colour")
print(f"state: {field} ({units[field]}) at {clock_text!r}, segment {state['segment']!r}, z = {state['z_um']} um, "
      f"{mask.size} slice cells, {len(colours)} colours in {png}")

# A moved run: the recorded directory is gone, the script finds the run beside itself.
pv.ResetSession()
moved = tempfile.mkdtemp(prefix="cordsim_state_")
try:
    copy = os.path.join(moved, "cordsim_state.py")
    with open(state_file, encoding="utf-8") as f:
        script = f.read()
    gone = os.path.join(moved, "gone")
    recorded = f'"directory": "{run_dir}"'
    check(recorded in script, f"the state does not record the run's directory {run_dir}")
    with open(copy, "w", encoding="utf-8") as f:
        f.write(script.replace(recorded, f'"directory": "{gone}"'))
    for name in ("cordsim.xdmf", "cordsim.h5"):
        shutil.copy(os.path.join(run_dir, name), moved)
    again = load_state(copy)
    check(os.path.dirname(again["reader"].FileName[0]) == moved,
          f"the moved state opened {again['reader'].FileName[0]}, not the copy beside it in {moved}")
finally:
    shutil.rmtree(moved, ignore_errors=True)

if failures:
    print("ParaView state check FAILED:\n  " + "\n  ".join(failures))
    sys.exit(1)
print(f"ParaView state check passed; rendered to {png}")
