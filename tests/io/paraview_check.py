"""Opens a cordsim run in ParaView (pvbatch) and checks what ParaView reports against what the
run wrote to cordsim.h5: time values and their unit (s, or d for an ALS run), array names, value
ranges and bounds, for both the XDMF and the PVD, and that outside voxels are hidden (the ghost
array vtkGhostType): a plain Slice holds tissue cells only, and the names of a categorical field's
values (tissue_label, segment) are in both files; then renders a slice to a PNG.

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
    mask = h5["/grid/tissue_mask"][...]  # z, y, x
    ghost = h5["/grid/vtkGhostType"][...]
    # Categorical grid fields (a cord geometry's tissue_label and segment): the names of the values.
    categories = {name: [c.decode() if isinstance(c, bytes) else str(c) for c in h5[f"/grid/{name}"].attrs["categories"]]
                  for name in (h5["/grid"].keys() if "/grid" in h5 else []) if "categories" in h5[f"/grid/{name}"].attrs}

expected_bounds = [v for d in range(3) for v in (origin[d], origin[d] + shape[d] * spacing[d])]
HIDDENCELL = 32  # vtkDataSetAttributes::HIDDENCELL
check(np.array_equal(ghost, np.where(mask > 0, 0, HIDDENCELL)),
      "HDF5: /grid/vtkGhostType is not HIDDENCELL exactly outside the tissue mask")
check(0 < int(np.count_nonzero(mask)) < mask.size, "the test run needs voxels both inside and outside the tissue")
# A plane through the middle of a voxel layer, for the slices below.
k_mid = int(shape[2]) // 2
z_mid = float(origin[2] + (k_mid + 0.5) * spacing[2])

for kind, path in (("XDMF", f"{run_dir}/cordsim.xdmf"), ("PVD", f"{run_dir}/cordsim.pvd")):
    reader = pv.OpenDataFile(path)
    check(reader is not None, f"{kind}: ParaView could not open {path}")
    if reader is None:
        continue
    reported = list(reader.TimestepValues)
    check(np.allclose(reported, times, rtol=0, atol=1e-9), f"{kind}: times {reported} != {times}")
    reader.UpdatePipeline(times[-1])
    # The unit: the XDMF's Information element, the VTK frames' field data (what ParaView reads).
    # So are the names of a categorical field's values (the tissue classes).
    if kind == "XDMF":
        with open(path) as f:
            xdmf = f.read()
        check(f'<Information Name="time_unit" Value="{time_unit}"/>' in xdmf,
              f"XDMF: no time_unit Information element saying {time_unit!r}")
        for name, names in categories.items():
            value = ";".join(f"{v}={n}" for v, n in enumerate(names))
            check(f'<Information Name="{name}_categories" Value="{value}"/>' in xdmf,
                  f"XDMF: no {name}_categories Information element naming {names}")
    else:
        frame = pv.servermanager.Fetch(reader)
        array = frame.GetFieldData().GetAbstractArray("time_unit") if frame else None
        got = array.GetValue(0) if array is not None else None
        check(got == time_unit, f"PVD: field data time_unit is {got!r}, cordsim.h5 says {time_unit!r}")
        for name, names in categories.items():
            array = frame.GetFieldData().GetAbstractArray(f"{name}_annotations") if frame else None
            got = [array.GetValue(i) for i in range(array.GetNumberOfValues())] if array is not None else None
            want = [x for v, n in enumerate(names) for x in (str(v), n)]
            check(got == want, f"PVD: field data {name}_annotations is {got}, expected {want}")
        if categories:
            print(f"PVD: names of {sorted(categories)}: {categories}")
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
    # Outside voxels are hidden (vtkGhostType = HIDDENCELL): a plain Slice, as a person would add
    # it, holds the tissue only, and spans the tissue's extent in that plane.
    check("vtkGhostType" in names, f"{kind}: no vtkGhostType cell array (outside voxels would show)")
    plain_slice = pv.Slice(Input=reader)
    plain_slice.SliceType = "Plane"
    plain_slice.SliceType.Normal = [0, 0, 1]
    plain_slice.SliceType.Origin = [expected_bounds[0] + 1.0, expected_bounds[2] + 1.0, z_mid]
    plain_slice.UpdatePipeline(times[-1])
    cut = pv.servermanager.Fetch(plain_slice)
    if cut is not None and cut.IsA("vtkMultiBlockDataSet"):
        cut = cut.GetBlock(0)
    in_plane = mask[k_mid]
    if cut is None or cut.GetNumberOfCells() == 0:
        check(False, f"{kind}: the slice at z = {z_mid} um is empty")
    else:
        from vtk.util.numpy_support import vtk_to_numpy
        sliced_mask = vtk_to_numpy(cut.GetCellData().GetArray("tissue_mask"))
        check(bool(np.all(sliced_mask == 1)),
              f"{kind}: a plain slice shows {int(np.count_nonzero(sliced_mask != 1))} cells outside the tissue")
        js, is_ = np.nonzero(in_plane)
        tissue_xy = [origin[0] + is_.min() * spacing[0], origin[0] + (is_.max() + 1) * spacing[0],
                     origin[1] + js.min() * spacing[1], origin[1] + (js.max() + 1) * spacing[1]]
        got_xy = list(cut.GetBounds())[:4]
        check(np.allclose(got_xy, tissue_xy, atol=1e-6),
              f"{kind}: the slice spans {got_xy}, the tissue in that plane {tissue_xy}")
        print(f"{kind}: a plain slice at z = {z_mid} um has {cut.GetNumberOfCells()} cells, "
              f"{int(np.count_nonzero(sliced_mask != 1))} of them outside the tissue "
              f"({int(np.count_nonzero(in_plane))} tissue voxels of {in_plane.size} in the plane)")
    pv.Delete(plain_slice)
    print(f"{kind}: {len(reported)} times ({time_unit}), {info.GetNumberOfCells()} cells, arrays {sorted(names)}, bounds {bounds}")

# A slice through the source, coloured by the first species, as a person would look at it.
reader = pv.OpenDataFile(f"{run_dir}/cordsim.xdmf")
reader.UpdatePipeline(times[-1])
view = pv.GetActiveViewOrCreate("RenderView")
view.ViewSize = [640, 480]
view.ViewTime = times[-1]
slice_filter = pv.Slice(Input=reader)
slice_filter.SliceType.Normal = [0, 0, 1]
centre_xy = [origin[0] + shape[0] * spacing[0] / 2, origin[1] + shape[1] * spacing[1] / 2]
slice_filter.SliceType.Origin = centre_xy + [z_mid]
display = pv.Show(slice_filter, view)
pv.ColorBy(display, ("CELLS", species[0]))
display.RescaleTransferFunctionToDataRange(True)
display.SetScalarBarVisibility(view, True)
view.CameraPosition = centre_xy + [z_mid + 1800]
view.CameraFocalPoint = centre_xy + [z_mid]
view.CameraViewUp = [0, 1, 0]
view.ResetCamera()
pv.SaveScreenshot(png, view)

if failures:
    print("ParaView check FAILED:\n  " + "\n  ".join(failures))
    sys.exit(1)
print(f"ParaView check passed; slice rendered to {png}")
