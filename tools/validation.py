#!/usr/bin/env python3
"""Regenerates docs/validation.md from real runs.

Runs the verification test programs (GoogleTest, with XML output), collects each test's verdict
and the figures it records with fixtures::report ("measured: <quantity>" / "bound: <quantity>"
properties), optionally runs `cordsim bench`, and writes one Markdown page with the machine,
the version, the tables and the benchmark output.

    tools/validation.py [--build build] [--out docs/validation.md] [--no-bench] [--no-calibration]

With the calibration (tools/calibrate.py, a few minutes; Debian's python3 for its figures) it also
runs the ALS calibration scenarios and adds their table and figures, and it refreshes the
parameter table of docs/model.md from `cordsim parameters`.

Needs only the Python standard library. The build must exist (tools/setup.sh makes it).
"""
import argparse
import datetime
import os
import platform
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# Test programs whose results are the verification evidence, with a title for each.
SUITES = [
    ("tests/numerics/test_numerics", "Numerical verification: explicit and RKL2 (label numerics)"),
    ("tests/numerics/test_implicit", "Numerical verification: implicit, quasi-steady and multigrid (label numerics)"),
    ("tests/numerics/test_solver_gpu", "CPU versus CUDA agreement (label gpu; skipped without a device)"),
    ("tests/kernels/test_kernels", "Per-voxel kernels and the CUDA launch mapping (label unit)"),
    ("tests/geometry/test_geometry", "Parametric cord geometry (label unit)"),
    ("tests/geometry/test_atlas_import", "Atlas import: PAM50 and synthetic NIfTI (label io)"),
    ("tests/model/test_reaction_integrator", "ALS model: per-voxel reaction integrator (label unit)"),
    ("tests/model/test_model_scenarios", "ALS model behaviours (label model)"),
]


def run_suite(binary: Path):
    """Runs one GoogleTest program and returns [(suite.test, passed, [(quantity, measured, bound)])]."""
    with tempfile.TemporaryDirectory() as tmp:
        xml_path = Path(tmp) / "out.xml"
        subprocess.run([str(binary), f"--gtest_output=xml:{xml_path}"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False)
        if not xml_path.exists():
            raise SystemExit(f"validation: {binary} wrote no XML report (did it crash?)")
        root = ET.parse(xml_path).getroot()
    results = []
    for case in root.iter("testcase"):
        name = f"{case.get('classname')}.{case.get('name')}"
        skipped = case.get("result") == "skipped" or case.find("skipped") is not None
        passed = case.find("failure") is None
        figures = {}
        props = case.find("properties")
        attributes = dict(case.attrib)
        if props is not None:
            attributes.update({p.get("name"): p.get("value") for p in props.iter("property")})
        for key, value in attributes.items():
            if key.startswith("measured: "):
                quantity = key[len("measured: "):]
                figures.setdefault(quantity, {})["measured"] = value
            elif key.startswith("bound: "):
                quantity = key[len("bound: "):]
                figures.setdefault(quantity, {})["bound"] = value
        cell = lambda text: text.replace("|", "\\|")  # a '|' inside a Markdown table cell
        rows = [(cell(q), f.get("measured", ""), cell(f.get("bound", ""))) for q, f in figures.items()]
        results.append((name, "skipped" if skipped else ("pass" if passed else "FAIL"), rows))
    return results


def machine_description():
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, {platform.system()} {platform.release()}"


def refresh_parameter_table(cordsim: Path):
    """Puts `cordsim parameters` between the markers of docs/model.md."""
    table = subprocess.run([str(cordsim), "parameters"], capture_output=True, text=True, check=True).stdout
    page = REPO / "docs" / "model.md"
    text = page.read_text()
    begin = text.index("<!-- parameters:begin")
    begin = text.index("-->", begin) + 3
    end = text.index("<!-- parameters:end -->")
    page.write_text(text[:begin] + "\n" + table + text[end:])


def refresh_block(name: str, text: str):
    """Puts `text` between <!-- NAME:begin --> and <!-- NAME:end --> of docs/model.md."""
    page = REPO / "docs" / "model.md"
    page_text = page.read_text()
    begin = page_text.index(f"<!-- {name}:begin")
    begin = page_text.index("-->", begin) + 3
    end = page_text.index(f"<!-- {name}:end -->")
    page.write_text(page_text[:begin] + "\n" + text + "\n" + page_text[end:])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=str(REPO / "build"), help="build directory")
    parser.add_argument("--out", default=str(REPO / "docs" / "validation.md"), help="page to write")
    parser.add_argument("--no-bench", action="store_true", help="skip `cordsim bench` (about 1 minute)")
    parser.add_argument("--no-calibration", action="store_true", help="skip the ALS calibration runs")
    parser.add_argument("--reuse-calibration", action="store_true", help="reuse finished calibration runs")
    args = parser.parse_args()
    build = Path(args.build)
    cordsim = build / "host" / "cordsim"
    if not cordsim.exists():
        raise SystemExit(f"validation: {cordsim} not found; build first (tools/setup.sh)")
    version = subprocess.run([str(cordsim), "--version"], capture_output=True, text=True).stdout.strip()

    lines = [
        "# cordsim validation",
        "",
        "Generated by `tools/validation.py` from real runs; do not edit by hand. Each row is a test",
        "that asserts the bound shown (see [numerics.md](numerics.md) for the methods).",
        "",
        f"- generated: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC}",
        f"- version: {version.splitlines()[0] if version else 'unknown'}",
        f"- back ends in the build: {version.splitlines()[1].removeprefix('back ends: ') if version.count(chr(10)) else 'unknown'}",
        f"- machine: {machine_description()}",
        "",
    ]
    failures = 0
    for relative, title in SUITES:
        binary = build / relative
        if not binary.exists():
            raise SystemExit(f"validation: {binary} not found; build the tests first")
        results = run_suite(binary)
        lines += [f"## {title}", "", "| test | verdict | quantity | measured | bound |", "|---|---|---|---|---|"]
        for name, verdict, rows in results:
            failures += verdict == "FAIL"
            if not rows:
                lines.append(f"| {name} | {verdict} | | | |")
            for i, (quantity, measured, bound) in enumerate(rows):
                lines.append(f"| {name if i == 0 else ''} | {verdict if i == 0 else ''} | {quantity} | {measured} | {bound} |")
        lines.append("")

    if not args.no_calibration:
        sys.path.insert(0, str(REPO / "tools"))
        import calibrate

        runs = calibrate.run_all(cordsim, build / "calibration", False, args.reuse_calibration)
        section, calibration_failures = calibrate.section(runs, REPO / "docs" / "figures", Path(args.out).parent, False)
        lines += section + [""]
        failures += calibration_failures
        space = calibrate.space_section(cordsim, build / "calibration", REPO / "docs" / "figures", REPO / "docs",
                                        args.reuse_calibration)
        lines += space + [""]
        refresh_parameter_table(cordsim)
        refresh_block("space", "\n".join(space[1:]).replace("](figures/", "](figures/"))

    if not args.no_bench:
        bench = subprocess.run([str(cordsim), "bench"], capture_output=True, text=True)
        lines += ["## Benchmark (`cordsim bench`)", "", "```", bench.stdout.rstrip(), "```", ""]

    Path(args.out).write_text("\n".join(lines) + "\n")
    print(f"validation: wrote {args.out} ({failures} failing tests)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
