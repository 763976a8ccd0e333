# ---- The state itself: the same for every run (host/io/paraview_state.py, embedded in cordsim).
# ParaView 5.11 (File > Load State, or `pvpython cordsim_state.py`). It opens cordsim.xdmf at the
# last output time, in a layout of two linked views of one mid-cord axial slice (the cord axis is
# z; dorsal, +y, is up):
#   left:  the first species (or field), its colour bar titled with its unit, the tissue outline,
#          the time (days for an ALS run) and a scale bar;
#   right: on a cord geometry, the tissue classes with their names in a legend.
# Voxels outside the tissue are hidden cells (vtkGhostType), so the slice is the cord section.
# The objects made are left in the dict CORDSIM_STATE (the tests use it);
# tools/paraview/show_run.py imports this file for its colours and helpers.
import os

from paraview import simple as pv

# Colours of the tissue classes, by name (host/geometry/labels.hpp: tissue_name).
TISSUE_COLOURS = {
    "outside (CSF)": (0.85, 0.93, 1.00),
    "white matter": (0.80, 0.83, 0.90),
    "gray matter (intermediate)": (0.52, 0.52, 0.55),
    "dorsal horn": (0.27, 0.53, 0.84),
    "ventral horn": (0.96, 0.62, 0.24),
    "motor-neuron pool (IX)": (0.84, 0.10, 0.11),
    "central canal": (0.45, 0.85, 0.95),
}
OTHER_COLOURS = [(0.40, 0.70, 0.30), (0.60, 0.40, 0.70), (0.55, 0.35, 0.20), (0.90, 0.50, 0.70)]
INK = [0.0, 0.0, 0.0]
PAPER = [1.0, 1.0, 1.0]


def run_directory(run):
    """The run's directory: where cordsim wrote it, else beside this script, else the working one."""
    candidates = [run["directory"]]
    here = globals().get("__file__")
    if here:
        candidates.append(os.path.dirname(os.path.abspath(here)))
    candidates.append(os.getcwd())
    for directory in candidates:
        if os.path.isfile(os.path.join(directory, "cordsim.xdmf")):
            return directory
    raise RuntimeError(f"cordsim_state.py: cordsim.xdmf is neither in {run['directory']} nor beside this "
                       "script; open the state from the run directory")


def time_format(unit):
    """The time annotation: days for an ALS run, else the unit itself."""
    if unit == "d":
        return "day {time:g}"
    return "t = {time:g} " + unit


def nice_length(span_um):
    """A scale-bar length of 1, 2 or 5 times a power of ten, about a quarter of `span_um`."""
    target = max(span_um / 4.0, 1e-9)
    power = 10.0 ** int(f"{target:e}".split("e")[1])
    for step in (5.0, 2.0, 1.0):
        if step * power <= target:
            return step * power
    return power


def length_label(um):
    return f"{um / 1000:g} mm" if um >= 1000 else f"{um:g} µm"


def fetch_cells(source, names):
    """{name: numpy array} of cell arrays of a (small) source's output, or {} if unavailable."""
    try:
        from paraview import servermanager
        from vtk.numpy_interface import dataset_adapter as dsa
        import numpy as np
        data = servermanager.Fetch(source)
        if data is None:
            return {}
        if data.IsA("vtkMultiBlockDataSet"):
            data = data.GetBlock(0)
        wrapped = dsa.WrapDataObject(data)
        return {n: np.asarray(wrapped.CellData[n]) for n in names if n in wrapped.CellData.keys()}
    except Exception:  # a client without numpy, or a remote server: do without
        return {}


def white_view(view, size):
    view.ViewSize = size
    try:
        view.UseColorPaletteForBackground = 0
    except AttributeError:
        pass
    view.Background = PAPER
    view.OrientationAxesVisibility = 0
    view.CameraParallelProjection = 1


def text(view, string, where, size=16):
    source = pv.Text(Text=string)
    display = pv.Show(source, view)
    display.WindowLocation = where
    display.Color = INK
    display.FontSize = size
    return source


def flat(display):
    """Colours as given, not shaded: a section is flat."""
    display.Ambient = 1.0
    display.Diffuse = 0.0


def colour_bar(view, lut, title):
    bar = pv.GetScalarBar(lut, view)
    bar.Title = title
    bar.ComponentTitle = ""
    bar.TitleColor = INK
    bar.LabelColor = INK
    bar.TitleFontSize = 16
    bar.LabelFontSize = 14
    bar.RangeLabelFormat = "%.3g"
    bar.Visibility = 1
    return bar


def categorical_lut(name, categories, present):
    """A lookup table naming the values in `present` (in order) by `categories`."""
    lut = pv.GetColorTransferFunction(name)
    lut.InterpretValuesAsCategories = 1
    annotations, colours = [], []
    for n, value in enumerate(present):
        label = categories[value] if value < len(categories) else str(value)
        annotations += [str(value), label]
        colours += list(TISSUE_COLOURS.get(label, OTHER_COLOURS[n % len(OTHER_COLOURS)]))
    lut.Annotations = annotations
    lut.IndexedColors = colours
    return lut


def build(run):
    directory = run_directory(run)
    reader = pv.Xdmf3ReaderS(registrationName="cordsim.xdmf", FileName=[os.path.join(directory, "cordsim.xdmf")])
    times = list(reader.TimestepValues) if reader.TimestepValues else [0.0]
    time = times[-1]
    scene = pv.GetAnimationScene()
    scene.UpdateAnimationUsingDataTimeSteps()
    scene.AnimationTime = time
    reader.UpdatePipeline(time)

    (ox, oy, oz), (dx, dy, dz), (nx, ny, nz) = run["origin_um"], run["spacing_um"], run["shape"]
    centre = [ox + nx * dx / 2, oy + ny * dy / 2]
    # Mid-cord: the middle voxel layer of the grid (a plane through voxel centres).
    z = oz + (nz // 2 + 0.5) * dz
    categories = run["categories"]
    labels = "tissue_label" if "tissue_label" in categories else None
    fields = run["fields"]
    if fields:
        field, unit, long_name = fields[0]
    else:  # `cordsim mesh`: no species, the labels only
        field, unit, long_name = (labels, "", "tissue class") if labels else ("tissue_mask", "1", "tissue mask")

    section = pv.Slice(registrationName="mid-cord slice", Input=reader)
    section.SliceType = "Plane"
    section.SliceType.Origin = [centre[0], centre[1], z]
    section.SliceType.Normal = [0.0, 0.0, 1.0]
    section.Triangulatetheslice = 0
    section.UpdatePipeline(time)
    outline = pv.FeatureEdges(registrationName="tissue outline", Input=section)
    outline.BoundaryEdges = 1
    outline.FeatureEdges = 0
    outline.NonManifoldEdges = 0
    outline.ManifoldEdges = 0

    sampled = fetch_cells(section, [n for n in ("segment", labels) if n])
    segment = ""
    if "segment" in sampled and "segment" in categories and sampled["segment"].size:
        import numpy as np
        values = sampled["segment"][sampled["segment"] > 0].astype(int)
        if values.size:
            index = int(np.bincount(values).argmax())
            names = categories["segment"]
            segment = names[index] if index < len(names) else str(index)

    views = []
    layout = pv.CreateLayout("cordsim")
    field_view = pv.CreateView("RenderView")
    pv.AssignViewToLayout(view=field_view, layout=layout, hint=0)
    views.append(field_view)
    white_view(field_view, [800, 700])
    label_view = None
    if labels and field != labels:
        layout.SplitHorizontal(0, 0.5)
        label_view = pv.CreateView("RenderView")
        pv.AssignViewToLayout(view=label_view, layout=layout, hint=2)
        white_view(label_view, [800, 700])
        views.append(label_view)
        pv.AddCameraLink(field_view, label_view, "cordsim slice camera")

    where = f"mid-cord slice, z = {z / 1000:.2f} mm" + (f", segment {segment}" if segment else "")
    shown = pv.Show(section, field_view)
    flat(shown)
    if field in categories:
        present = sorted(set(int(v) for v in sampled.get(field, []))) or list(range(1, len(categories[field])))
        field_lut = categorical_lut(field, categories[field], present)
        pv.ColorBy(shown, ("CELLS", field))
        colour_bar(field_view, field_lut, long_name)
    else:
        pv.ColorBy(shown, ("CELLS", field))
        shown.RescaleTransferFunctionToDataRange(False, True)
        field_lut = pv.GetColorTransferFunction(field)
        colour_bar(field_view, field_lut, f"{field} ({unit})" if unit else field)
    shown.SetScalarBarVisibility(field_view, True)
    if field in categories:
        heading = "tissue classes" if field == "tissue_label" else field
    else:
        heading = f"{field} ({unit})" if unit else field
    text(field_view, f"{heading}: {where}", "Upper Left Corner")
    clock = pv.AnnotateTimeFilter(registrationName="time", Input=reader, Format=time_format(run["time_unit"]))
    clock_display = pv.Show(clock, field_view)
    clock_display.WindowLocation = "Upper Right Corner"
    clock_display.Color = INK
    clock_display.FontSize = 16

    # The scale bar: below the grid, at the left, on the slice plane.
    length = nice_length(nx * dx)
    y_bar = oy - 0.06 * ny * dy
    ruler = pv.Ruler(registrationName="scale bar", Point1=[ox, y_bar, z], Point2=[ox + length, y_bar, z])
    for view in views:
        outline_display = pv.Show(outline, view)
        pv.ColorBy(outline_display, None)
        outline_display.AmbientColor = INK
        outline_display.DiffuseColor = INK
        outline_display.LineWidth = 2.0
        bar = pv.Show(ruler, view)
        bar.Color = INK
        bar.AxisColor = INK
        bar.AxisLineWidth = 3.0
        bar.FontSize = 14
        bar.Scale = 0.001 if length >= 1000 else 1.0
        bar.LabelFormat = "%g mm" if length >= 1000 else "%g µm"

    if label_view is not None:
        label_display = pv.Show(section, label_view)
        flat(label_display)
        pv.ColorBy(label_display, ("CELLS", labels))
        present = sorted(set(int(v) for v in sampled.get(labels, []))) or list(range(1, len(categories[labels]) - 1))
        label_lut = categorical_lut(labels, categories[labels], present)
        colour_bar(label_view, label_lut, "tissue class")
        label_display.SetScalarBarVisibility(label_view, True)
        text(label_view, f"tissue classes: {where}", "Upper Left Corner")

    for view in views:
        view.ViewTime = time
        view.CameraFocalPoint = [centre[0], centre[1], z]
        view.CameraPosition = [centre[0], centre[1], z + 10 * max(nx * dx, ny * dy)]
        view.CameraViewUp = [0.0, 1.0, 0.0]
        view.ResetCamera()
    pv.SetActiveView(field_view)
    pv.SetActiveSource(section)
    return {"reader": reader, "slice": section, "outline": outline, "layout": layout, "views": views,
            "field": field, "labels": labels if label_view is not None or field == labels else None,
            "time": time, "time_format": time_format(run["time_unit"]), "segment": segment, "z_um": z,
            "scale_bar_um": length}


if "CORDSIM_RUN" in globals():  # the state script of a run; imported as a module, the helpers only
    CORDSIM_STATE = build(CORDSIM_RUN)  # noqa: F821 (defined above this body by cordsim)
    pv.Render()
