"""Runs tools/figures.sh on cordsim runs and checks the figure set (Debian's python3, matplotlib):

    python3 tests/io/figures_check.py OUT_DIR RUN_DIR [RUN_DIR ...]

- every PNG that figures.sh says it wrote exists and is not blank (at least 20 colours, no colour
  on 90% of it);
- every ParaView picture is titled with the field, its unit and the time in the run's unit
  ("day N" for an ALS run, "t = N s" otherwise); slices also with their z, their segment (on a
  cord), a colour bar with the unit and a scale bar; 3-D views with axes in µm;
- on a cord, anatomy.png shows the five simulated tissue classes in their colours
  (host/io/paraview_state.py) and a legend that names them;
- for an ALS run, the matplotlib set includes the Evans Blue figure;
- figures.sh saved each run's state as RUN_DIR/cordsim.pvsm.
Exits non-zero naming every failed check.
"""
import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import matplotlib.image
import numpy as np

repo = Path(__file__).resolve().parents[2]
out, runs = Path(sys.argv[1]), [Path(r).resolve() for r in sys.argv[2:]]
failures = []


def check(condition, message):
    if not condition:
        failures.append(message)


def tissue_colours():
    """TISSUE_COLOURS of host/io/paraview_state.py, read without importing ParaView."""
    tree = ast.parse((repo / "host" / "io" / "paraview_state.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "TISSUE_COLOURS":
            return ast.literal_eval(node.value)
    raise SystemExit("figures_check: no TISSUE_COLOURS in host/io/paraview_state.py")


def pixels(path):
    image = matplotlib.image.imread(str(path))
    return (np.asarray(image)[:, :, :3] * 255).round().astype(int)


shutil.rmtree(out, ignore_errors=True)
for run in runs:
    (run / "cordsim.pvsm").unlink(missing_ok=True)
done = subprocess.run([str(repo / "tools" / "figures.sh"), *map(str, runs), "--out", str(out)],
                      capture_output=True, text=True)
print(done.stdout)
if done.returncode != 0:
    print(done.stderr)
    sys.exit(f"figures_check: tools/figures.sh exited with {done.returncode}")
wrote = {}
for line in done.stdout.splitlines():
    match = re.match(r"(?:show_run|cordsim_plots): wrote (\S+?\.png)(?:: (.*))?$", line)
    if match:
        wrote[Path(match.group(1))] = match.group(2) or ""

for path in wrote:
    check(path.is_file(), f"{path} was announced but not written")
    if path.is_file():
        colours, counts = np.unique(pixels(path).reshape(-1, 3), axis=0, return_counts=True)
        check(len(colours) >= 20 and counts.max() < 0.9 * counts.sum(),
              f"{path} looks blank: {len(colours)} colours, {100 * counts.max() / counts.sum():.0f}% one colour")

colours = tissue_colours()
for run in runs:
    with h5py.File(run / "cordsim.h5", "r") as h5:
        unit = h5.attrs["time_unit"]
        unit = unit.decode() if isinstance(unit, bytes) else str(unit)
        last = float(h5["times"][-1])
        species = [s.decode() if isinstance(s, bytes) else str(s) for s in h5.attrs["species"]]
        field_unit = h5[f"fields/{species[0]}"][sorted(h5[f"fields/{species[0]}"].keys())[-1]].attrs["units"]
        field_unit = field_unit.decode() if isinstance(field_unit, bytes) else str(field_unit)
        classes = h5["grid/tissue_label"].attrs["categories"] if "tissue_label" in h5["grid"] else None
        segments = "segment" in h5["grid"]
    when = f"day {last:g}" if unit == "d" else f"t = {last:g} {unit}"
    field = f"{species[0]} ({field_unit})"
    figures = out / run.name
    mine = {p: t for p, t in wrote.items() if p.parent == figures}
    slices = [p for p in mine if p.name.startswith(f"{species[0]}_axial_")]
    check(len(slices) > 0, f"{run.name}: no axial slices")
    for path in slices:
        title = mine[path]
        for needed in (field, when, "z = ", f"colour bar: {field}", "scale bar: "):
            check(needed in title, f"{path.name}: the title {title!r} lacks {needed!r}")
        if segments:
            check(re.search(r"segment \w+", title) is not None, f"{path.name}: the title {title!r} names no segment")
    three_d = figures / f"{species[0]}_3d.png"
    check(three_d in mine and field in mine[three_d] and when in mine[three_d] and "(µm)" in mine[three_d],
          f"{three_d.name}: the title {mine.get(three_d)!r} lacks the field, unit, time or axes in µm")
    anatomy = figures / "anatomy.png"
    check(anatomy in mine, f"{run.name}: no anatomy.png")
    if classes is not None and anatomy.is_file():
        names = [c.decode() if isinstance(c, bytes) else str(c) for c in classes]
        image = pixels(anatomy)
        for value in range(1, 6):  # the simulated classes: white and gray matter, horns, MN pools
            name = names[value]
            target = np.array(colours[name]) * 255
            shown = int((np.abs(image - target).max(axis=2) <= 3).sum())
            check(shown > 200, f"{run.name}: anatomy.png shows {name} on {shown} pixels only")
            check(name in mine[anatomy], f"{run.name}: anatomy.png's legend does not name {name!r}")
    check((run / "cordsim.pvsm").is_file(), f"{run.name}: figures.sh wrote no cordsim.pvsm")
    if (run / "evans_blue.csv").is_file():
        check(out / "evans_blue.png" in wrote, "an ALS run with Evans Blue assays but no evans_blue.png")
check(out / "totals.png" in wrote, "no totals.png")

if failures:
    print("figure check FAILED:\n  " + "\n  ".join(failures))
    sys.exit(1)
print(f"figure check passed: {len(wrote)} PNGs in {out}")
