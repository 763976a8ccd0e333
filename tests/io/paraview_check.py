"""Opens a cordsim run in ParaView (pvbatch) and checks what ParaView reports against what the
run wrote to cordsim.h5: time values and their unit (s, or d for an ALS run), array names, value
ranges and bounds, for both the XDMF and the PVD; then renders a slice to a PNG.

    tools/paraview/pvbatch_xvfb.sh tests/io/paraview_check.py RUN_DIR OUT.png

Exits non-zero with a message naming the first mismatch.
"""
import sys

import h5py
import numpy as np
from paraview import simple as pv

run_dir, png = sys.argv[1], sys.argv[2]
failures = []


def check(condition, message):
    if not condition:
        failures.append(message)


with h5py.File(f"{run_dir}/cordsim.h5", "r") as h5:
    times = list(h5["/times"][...])
    time_unit = h5.attrs["time_unit"]
    time_unit = time_unit.decode() if isinstance(time_unit, bytes) else str(time_unit)
    species = [s.decode() if isinstance(s, bytes) else s for s in h5.attrs["species"]]
    origin = h5.attrs["origin_um"]
    spacing = h5.attrs["spacing_um"]
    shape = h5.attrs["shape"]  # x, y, z
    last = f"{len(times) - 1:06d}"
    ranges = {name: (float(np.min(h5[f"/fields/{name}/{last}"])), float(np.max(h5[f"/fields/{name}/{last}"])))
              for name in species}
    units = {name: h5[f"/fields/{name}/{last}"].attrs["units"] for name in species}

expected_bounds = [v for d in range(3) for v in (origin[d], origin[d] + shape[d] * spacing[d])]

for kind, path in (("XDMF", f"{run_dir}/cordsim.xdmf"), ("PVD", f"{run_dir}/cordsim.pvd")):
    reader = pv.OpenDataFile(path)
    check(reader is not None, f"{kind}: ParaView could not open {path}")
    if reader is None:
        continue
    reported = list(reader.TimestepValues)
    check(np.allclose(reported, times, rtol=0, atol=1e-9), f"{kind}: times {reported} != {times}")
    reader.UpdatePipeline(times[-1])
    # The unit: the XDMF's Information element, the VTK frames' field data (what ParaView reads).
    if kind == "XDMF":
        with open(path) as f:
            xdmf = f.read()
        check(f'<Information Name="time_unit" Value="{time_unit}"/>' in xdmf,
              f"XDMF: no time_unit Information element saying {time_unit!r}")
    else:
        frame = pv.servermanager.Fetch(reader)
        array = frame.GetFieldData().GetAbstractArray("time_unit") if frame else None
        got = array.GetValue(0) if array is not None else None
        check(got == time_unit, f"PVD: field data time_unit is {got!r}, cordsim.h5 says {time_unit!r}")
    info = reader.GetDataInformation()
    check(info.GetNumberOfCells() == int(np.prod(shape)), f"{kind}: {info.GetNumberOfCells()} cells, expected {np.prod(shape)}")
    bounds = list(info.GetBounds())
    check(np.allclose(bounds, expected_bounds, atol=1e-6), f"{kind}: bounds {bounds} != {expected_bounds}")
    cell_arrays = reader.CellData
    names = set(cell_arrays.keys())
    for name in species + ["tissue_mask"]:
        check(name in names, f"{kind}: cell array '{name}' missing (has {sorted(names)})")
    for name in species:
        if name not in names:
            continue
        lo, hi = cell_arrays[name].GetRange()
        want_lo, want_hi = ranges[name]
        check(abs(lo - want_lo) <= 1e-6 * max(1.0, abs(want_lo)) and abs(hi - want_hi) <= 1e-6 * max(1.0, abs(want_hi)),
              f"{kind}: range of {name} at t={times[-1]} is ({lo}, {hi}), HDF5 has ({want_lo}, {want_hi})")
    print(f"{kind}: {len(reported)} times ({time_unit}), {info.GetNumberOfCells()} cells, arrays {sorted(names)}, bounds {bounds}")

# A slice through the source, coloured by the first species, as a person would look at it.
reader = pv.OpenDataFile(f"{run_dir}/cordsim.xdmf")
reader.UpdatePipeline(times[-1])
view = pv.GetActiveViewOrCreate("RenderView")
view.ViewSize = [640, 480]
view.ViewTime = times[-1]
slice_filter = pv.Slice(Input=reader)
slice_filter.SliceType.Normal = [0, 0, 1]
slice_filter.SliceType.Origin = [origin[0] + shape[0] * spacing[0] / 2, origin[1] + shape[1] * spacing[1] / 2, 200.0]
display = pv.Show(slice_filter, view)
pv.ColorBy(display, ("CELLS", species[0]))
display.RescaleTransferFunctionToDataRange(True)
display.SetScalarBarVisibility(view, True)
view.CameraPosition = [0, 244, 2000]
view.CameraFocalPoint = [0, 244, 200]
view.CameraViewUp = [0, 1, 0]
view.ResetCamera()
pv.SaveScreenshot(png, view)

if failures:
    print("ParaView check FAILED:\n  " + "\n  ".join(failures))
    sys.exit(1)
print(f"ParaView check passed; slice rendered to {png}")
