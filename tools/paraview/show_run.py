"""Shows a cordsim run in ParaView and saves pictures of it.

    tools/paraview/pvbatch_xvfb.sh tools/paraview/show_run.py RUN_DIR [--field NO] [--time LAST|T]
                        [--slices 5] [--out DIR] [--state]

Loads RUN_DIR/cordsim.xdmf (or cordsim.pvd with --pvd) and writes PNGs to --out (default
RUN_DIR/figures), on white, every one titled with what it shows, its unit and the time (days
for an ALS run):
  anatomy.png            the tissue: a 3-D cut-away of the cord (axes in µm) beside an axial
                         section with a scale bar; on a cord geometry coloured by tissue class
                         (white and gray matter, dorsal and ventral horns, motor-neuron pools)
                         with a legend that names them;
  <field>_3d.png         the field on the tissue in 3-D, clipped open along the cord axis through
                         the field's maximum, axes in µm;
  <field>_axial_<S>.png  axial slices (normal to the cord axis z) with the tissue outline, a
                         scale bar, and the species, unit, time, z and segment in the title: one
                         per segment (S = L4, ...) when the run has a segment index, else --slices
                         evenly spaced slices (S = z0, z1, ...).
One colour scale (the field's range over the tissue at that time) serves every picture of the
field. With --state it also writes RUN_DIR/cordsim.pvsm: the run's own Python state
(RUN_DIR/cordsim_state.py, written by cordsim) saved as an XML state (File > Load State; it
refers to the run's files by absolute path).
ParaView renders through GLX only, so run it under xvfb-run on machines without a display.
"""
import argparse
import os
import sys

from paraview import simple as pv

# The colours, legends and scale bar of the run's state script (host/io/paraview_state.py).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "host", "io"))
import paraview_state as style  # noqa: E402

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


def text_of(value):
    return value.decode() if isinstance(value, bytes) else str(value)


# What cordsim.h5 says about the arrays: species order, units, category names, the time unit.
species, units, categories, time_unit = [], {}, {}, "s"
try:
    import h5py
    with h5py.File(os.path.join(run_dir, "cordsim.h5"), "r") as h5:
        species = [text_of(s) for s in h5.attrs["species"]]
        time_unit = text_of(h5.attrs.get("time_unit", "s"))
        for name in h5["fields"]:
            frames = sorted(h5["fields"][name].keys())
            if frames:
                units[name] = text_of(h5["fields"][name][frames[-1]].attrs.get("units", ""))
        for name in h5["grid"]:
            units[name] = text_of(h5["grid"][name].attrs.get("units", ""))
            if "categories" in h5["grid"][name].attrs:
                categories[name] = [text_of(c) for c in h5["grid"][name].attrs["categories"]]
except (ImportError, OSError, KeyError) as error:
    print(f"show_run: no units or names from cordsim.h5 ({error})")
# Species first, in the run's own order (ParaView may list arrays alphabetically), then the static
# grid fields (tissue labels, segment index, densities).
fields = [a for a in arrays if a not in ("tissue_mask", "vtkGhostType")]
fields = [s for s in species if s in fields] + [a for a in fields if a not in species]
field = args.field or (fields[0] if fields else "tissue_mask")
if field not in arrays:
    sys.exit(f"show_run: no array '{field}' in the run (arrays: {', '.join(arrays)})")


def labelled(name):
    """'NO (nM)': the array's name and unit (none for a dimensionless one)."""
    unit = units.get(name, "")
    return f"{name} ({unit})" if unit and unit != "1" and name not in categories else name


when = style.time_format(time_unit).format(time=time)
bounds = reader.GetDataInformation().GetBounds()
centre = [(bounds[0] + bounds[1]) / 2, (bounds[2] + bounds[3]) / 2, (bounds[4] + bounds[5]) / 2]
width, height = bounds[1] - bounds[0], bounds[3] - bounds[2]
span = max(width, height, bounds[5] - bounds[4])
labels = "tissue_label" if "tissue_label" in categories and "tissue_label" in arrays else None
tissue = pv.Threshold(Input=reader, Scalars=["CELLS", "tissue_mask"], LowerThreshold=0.5, UpperThreshold=1.5)

# The whole grid at this time, once: the field's range over the tissue and where it peaks, the
# segments' z ranges, the tissue classes present.
import numpy as np  # noqa: E402
from paraview import servermanager  # noqa: E402
from vtk.numpy_interface import dataset_adapter as dsa  # noqa: E402

grid = dsa.WrapDataObject(servermanager.Fetch(reader))
nx, ny, nz = (d - 1 for d in grid.GetDimensions())
origin, spacing = grid.GetOrigin(), grid.GetSpacing()
inside = np.asarray(grid.CellData["tissue_mask"]) > 0


def cell_centre(index):
    i, j, k = index % nx, (index // nx) % ny, index // (nx * ny)
    return [origin[0] + (i + 0.5) * spacing[0], origin[1] + (j + 0.5) * spacing[1], origin[2] + (k + 0.5) * spacing[2]]


values = np.asarray(grid.CellData[field])
in_tissue = values[inside] if inside.any() else values
field_range = (float(in_tissue.min()), float(in_tissue.max())) if in_tissue.size else (0.0, 1.0)
if 0.0 <= field_range[0] < 1e-3 * field_range[1]:
    field_range = (0.0, field_range[1])  # a concentration that falls to (nearly) nothing: from 0
if field_range[1] <= field_range[0]:
    field_range = (field_range[0], field_range[0] + 1.0)
hot = cell_centre(int(np.flatnonzero(inside)[np.argmax(in_tissue)])) if inside.any() else centre
present = {}
for name in categories:
    if name in grid.CellData.keys():
        present[name] = sorted(set(int(v) for v in np.unique(np.asarray(grid.CellData[name])[inside])))


def plane_z(z):
    """The z of the voxel layer holding z, through its centre (a plane on a face cuts two layers)."""
    k = min(max(int((z - origin[2]) / spacing[2]), 0), nz - 1)
    return origin[2] + (k + 0.5) * spacing[2]


# Axial slices: one per segment (at its middle) when the run has a segment index, else evenly spaced.
segment_names = categories.get("segment", [])
slices = []  # (file label, z, segment name or "")
if "segment" in grid.CellData.keys():
    segment = np.asarray(grid.CellData["segment"]).reshape(nz, ny, nx)
    for value in range(1, int(segment.max()) + 1):
        planes = np.flatnonzero((segment == value).any(axis=(1, 2)))
        if planes.size:
            name = segment_names[value] if value < len(segment_names) else f"segment{value}"
            k = int(planes[planes.size // 2])
            slices.append((name, origin[2] + (k + 0.5) * spacing[2], name))
if not slices:
    n = max(1, args.slices)
    slices = [(f"z{i}", plane_z(bounds[4] + (i + 0.5) * (bounds[5] - bounds[4]) / n), "") for i in range(n)]
mid_label, mid_z, mid_segment = slices[len(slices) // 2]


def where(z, segment):
    return (f"segment {segment}, " if segment else "") + f"z = {z / 1000:.2f} mm"


# ---- views ---------------------------------------------------------------------------------------

def view_3d(size=(900, 700)):
    view = pv.CreateView("RenderView")
    style.white_view(view, list(size))
    view.CameraParallelProjection = 0
    view.OrientationAxesVisibility = 1
    view.OrientationAxesLabelColor = style.INK
    grid_axes = view.AxesGrid
    grid_axes.Visibility = 1
    grid_axes.XTitle, grid_axes.YTitle, grid_axes.ZTitle = "x (µm)", "y (µm), dorsal +", "z (µm), caudal +"
    for axis in "XYZ":
        setattr(grid_axes, f"{axis}TitleColor", style.INK)
        setattr(grid_axes, f"{axis}LabelColor", style.INK)
    grid_axes.GridColor = [0.3, 0.3, 0.3]
    view.ViewTime = time
    return view


# A long cord (the whole lumbar cord is 5 times longer than it is wide) is shown in 3-D over a
# stretch of at most 1.5 times its width.
stretch = 1.5 * max(width, height)


def z_window(z_from, z_to):
    """(lo, hi): [z_from, z_to] shortened to `stretch` around its middle and kept in the grid."""
    lo, hi = max(min(z_from, z_to), bounds[4]), min(max(z_from, z_to), bounds[5])
    if hi - lo > stretch:
        middle = (lo + hi) / 2
        lo, hi = middle - stretch / 2, middle + stretch / 2
    return lo, hi


def between(source, lo, hi):
    """`source` between the planes z = lo and z = hi (the whole source when that is the grid)."""
    if lo > bounds[4] + 1e-9:
        source = pv.Clip(Input=source, ClipType="Plane")
        source.ClipType.Origin, source.ClipType.Normal = [centre[0], centre[1], lo], [0, 0, -1]
    if hi < bounds[5] - 1e-9:
        source = pv.Clip(Input=source, ClipType="Plane")
        source.ClipType.Origin, source.ClipType.Normal = [centre[0], centre[1], hi], [0, 0, 1]
    return source


def camera_oblique(view, focus=None, extent=None):
    focus = focus or centre
    extent = extent or span
    view.CameraFocalPoint = focus
    view.CameraPosition = [focus[0] + 1.2 * extent, focus[1] - 1.6 * extent, focus[2] + 1.0 * extent]
    view.CameraViewUp = [0, 0, 1]
    view.ResetCamera()
    view.GetActiveCamera().Dolly(0.8)  # room for the axes' labels and the title


def lit(display):
    """Surfaces in 3-D: shaded, but light enough to keep their colours."""
    display.Ambient = 0.35
    display.Diffuse = 0.75


def view_section(size=(900, 700)):
    view = pv.CreateView("RenderView")
    style.white_view(view, list(size))
    view.ViewTime = time
    return view


def camera_axial(view, z):
    view.CameraFocalPoint = [centre[0], centre[1], z]
    view.CameraPosition = [centre[0], centre[1], z + 3 * span]
    view.CameraViewUp = [0, 1, 0]
    view.ResetCamera()


def section(view, z):
    """An axial slice of the tissue at z with its outline and a scale bar; returns (slice, display)."""
    cut = pv.Slice(Input=reader)
    cut.SliceType = "Plane"
    cut.SliceType.Origin = [centre[0], centre[1], z]
    cut.SliceType.Normal = [0, 0, 1]
    cut.Triangulatetheslice = 0
    shown = pv.Show(cut, view)
    style.flat(shown)
    outline = pv.FeatureEdges(Input=cut)
    outline.BoundaryEdges, outline.FeatureEdges, outline.NonManifoldEdges, outline.ManifoldEdges = 1, 0, 0, 0
    line = pv.Show(outline, view)
    pv.ColorBy(line, None)
    line.AmbientColor = line.DiffuseColor = style.INK
    line.LineWidth = 2.0
    length = style.nice_length(width)
    y_bar = bounds[2] - 0.06 * height
    ruler = pv.Ruler(Point1=[bounds[0], y_bar, z], Point2=[bounds[0] + length, y_bar, z])
    bar = pv.Show(ruler, view)
    bar.Color = bar.AxisColor = style.INK
    bar.AxisLineWidth = 3.0
    bar.FontSize = 14
    bar.Scale = 0.001 if length >= 1000 else 1.0
    bar.LabelFormat = "%g mm" if length >= 1000 else "%g µm"
    return cut, shown


def colour_by(display, view, name, title=None):
    """Colours by `name`: categorical with named values, or on the field's fixed range."""
    pv.ColorBy(display, ("CELLS", name))
    if name in categories:
        lut = style.categorical_lut(name, categories[name], present.get(name) or list(range(1, len(categories[name]))))
        style.colour_bar(view, lut, title or ("tissue class" if name == "tissue_label" else name))
    else:
        lut = pv.GetColorTransferFunction(name)
        lut.AutomaticRescaleRangeMode = "Never"
        if name == field:
            lut.RescaleTransferFunction(*field_range)
        else:
            display.RescaleTransferFunctionToDataRange(False, True)
        style.colour_bar(view, lut, title or labelled(name))
    display.SetScalarBarVisibility(view, True)


def single_colour(display, colour):
    pv.ColorBy(display, None)
    display.AmbientColor = display.DiffuseColor = list(colour)


def save(target, name, resolution, titles):
    path = os.path.join(out_dir, name)
    pv.SaveScreenshot(path, target, ImageResolution=list(resolution))
    print(f"show_run: wrote {path}: " + " | ".join(titles))


def titled(view, title):
    style.text(view, title, "Upper Left Corner")
    return title


# ---- anatomy: a 3-D cut-away and an axial section, by tissue class where the run has them ------
layout = pv.CreateLayout("anatomy")
left = view_3d((800, 700))
pv.AssignViewToLayout(view=left, layout=layout, hint=0)
layout.SplitHorizontal(0, 0.5)
right = view_section((800, 700))
pv.AssignViewToLayout(view=right, layout=layout, hint=2)
# The rostral side of the cut (the cut face looks caudal), at most `stretch` of it.
cut_lo, cut_hi = max(bounds[4], mid_z - stretch), mid_z
cutaway = between(tissue, cut_lo, cut_hi)
cut_display = pv.Show(cutaway, left)
lit(cut_display)
_, section_display = section(right, mid_z)
if labels:
    colour_by(cut_display, left, labels)
    cut_display.SetScalarBarVisibility(left, False)
    colour_by(section_display, right, labels)
    title = "Tissue classes"
else:
    tissue_colour = style.TISSUE_COLOURS["white matter"]
    single_colour(cut_display, tissue_colour)
    single_colour(section_display, tissue_colour)
    title = "Tissue (simulated voxels)"
titles = [titled(left, f"{title}: the {'cord' if labels else 'tissue'} in 3-D, z = {cut_lo / 1000:.2f}–"
                       f"{cut_hi / 1000:.2f} mm, cut open at its caudal end"),
          titled(right, f"{title}: axial section, {where(mid_z, mid_segment)} (dorsal up)")]
if labels:
    titles.append("legend: " + ", ".join(categories[labels][v] for v in present.get(labels, [])))
camera_oblique(left, [centre[0], centre[1], (cut_lo + cut_hi) / 2], max(width, height, cut_hi - cut_lo))
camera_axial(right, mid_z)
save(layout, "anatomy.png", (1600, 700), titles)

# ---- the field in 3-D: the tissue clipped open along the cord axis through the field's maximum --
view = view_3d()
hot_lo, hot_hi = z_window(hot[2] - stretch / 2, hot[2] + stretch / 2)
clip = pv.Clip(Input=between(tissue, hot_lo, hot_hi))
clip.ClipType = "Plane"
clip.ClipType.Origin = hot
clip.ClipType.Normal = [1, 0, 0]
shown = pv.Show(clip, view)
lit(shown)
colour_by(shown, view, field)
stretch_text = "" if (hot_lo, hot_hi) == (bounds[4], bounds[5]) else f", z = {hot_lo / 1000:.2f}–{hot_hi / 1000:.2f} mm"
title = titled(view, f"{labelled(field)}, {when}: clipped open at x = {hot[0]:.0f} µm through its maximum"
                     + stretch_text)
camera_oblique(view, [centre[0], centre[1], (hot_lo + hot_hi) / 2], max(width, height, hot_hi - hot_lo))
save(view, f"{field}_3d.png", (900, 700), [title, "colour bar: " + labelled(field), "axes: x, y, z (µm)"])

# ---- axial slices ------------------------------------------------------------------------------
for label, z, segment in slices:
    view = view_section()
    _, shown = section(view, z)
    colour_by(shown, view, field)
    title = titled(view, f"{labelled(field)}, {when}: axial slice, {where(z, segment)}")
    camera_axial(view, z)
    length = style.nice_length(width)
    save(view, f"{field}_axial_{label}.png", (900, 700),
         [title, "colour bar: " + labelled(field), "scale bar: " + style.length_label(length)])

if args.state:
    # The run's own Python state (cordsim_state.py, written by cordsim), saved as a .pvsm: a
    # mid-cord slice with the tissue outline, units, time, scale bar and tissue-class legend.
    state = os.path.join(run_dir, "cordsim.pvsm")
    state_script = os.path.join(run_dir, "cordsim_state.py")
    pv.ResetSession()
    if os.path.isfile(state_script):
        with open(state_script, encoding="utf-8") as f:
            exec(compile(f.read(), state_script, "exec"), {"__name__": "__main__", "__file__": state_script})
    else:  # a run written before cordsim wrote its state script: the reader alone
        pv.Show(pv.OpenDataFile(source_file))
    pv.SaveState(state)
    print(f"show_run: wrote {state} (ParaView: File > Load State)")
