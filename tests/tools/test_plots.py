"""Tests of tools/plotting/cordsim_plots.py (run by CTest with Debian's python3)."""
import csv
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "plotting"))
import cordsim_plots  # noqa: E402


class KaplanMeier(unittest.TestCase):
    def test_textbook_example_with_censoring(self):
        # Events at 6, 6, 6, censored at 6, event at 7, censored 9, event 10 ... (Freireich 6-MP arm,
        # first part): S(6) = 1 - 3/21, S(7) = S(6) * (1 - 1/17), S(10) = S(7) * (1 - 1/15).
        times = [6, 6, 6, 6, 7, 9, 10] + [20] * 14
        events = [1, 1, 1, 0, 1, 0, 1] + [0] * 14
        t, s = cordsim_plots.kaplan_meier(times, events)
        self.assertEqual(t, [0.0, 6, 7, 10])
        self.assertAlmostEqual(s[1], 18 / 21)
        self.assertAlmostEqual(s[2], 18 / 21 * 16 / 17)
        self.assertAlmostEqual(s[3], 18 / 21 * 16 / 17 * 14 / 15)

    def test_no_censoring_is_the_empirical_survival(self):
        t, s = cordsim_plots.kaplan_meier([3, 1, 2, 4], [1, 1, 1, 1])
        self.assertEqual(t, [0.0, 1, 2, 3, 4])
        self.assertEqual(s, [1.0, 0.75, 0.5, 0.25, 0.0])


class Figures(unittest.TestCase):
    def test_totals_and_survival_pngs_are_written(self):
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            for name, scale in (("vehicle", 1.0), ("msc", 0.5)):
                run = tmp / name
                run.mkdir()
                with (run / "mass_budget.csv").open("w") as f:
                    f.write("time_s,NO_total_amol,TNF_total_amol\n")
                    for i in range(5):
                        f.write(f"{i},{scale * i},{scale * (5 - i)}\n")
            cohort = tmp / "cohort.csv"
            with cohort.open("w", newline="") as f:
                w = csv.writer(f)
                w.writerow(["run", "arm", "time_d", "event"])
                for i in range(6):
                    w.writerow([f"r{i}", "vehicle", 120 + i, 1])
                    w.writerow([f"s{i}", "msc", 130 + i, int(i < 4)])
            self.assertEqual(cordsim_plots.main([str(tmp / "vehicle"), str(tmp / "msc"), "--out", str(tmp / "fig"),
                                                 "--cohort", str(cohort)]), 0)
            for png in ("totals.png", "survival.png"):
                path = tmp / "fig" / png
                self.assertTrue(path.exists(), path)
                self.assertEqual(path.read_bytes()[:8], b"\x89PNG\r\n\x1a\n")

    def test_totals_are_in_days_for_als_runs_and_in_seconds_for_transport_runs(self):
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            budgets = {}
            for name, header, rows in (("als", "time_d", [0, 1.5, 2]), ("transport", "time_s", [0, 43200])):
                run = tmp / name
                run.mkdir()
                with (run / "mass_budget.csv").open("w") as f:
                    f.write(f"{header},NO_total_amol\n")
                    for t in rows:
                        f.write(f"{t},1\n")
                budgets[run] = cordsim_plots.read_mass_budget(run)
            als, transport = tmp / "als", tmp / "transport"
            self.assertEqual(cordsim_plots.totals_time_axes({als: budgets[als]}), [("time (days)", {als: [0, 1.5, 2]})])
            self.assertEqual(cordsim_plots.totals_time_axes({transport: budgets[transport]}),
                             [("time (s)", {transport: [0, 43200]})])
            # Mixed: a column of days and one of seconds, each run in its own unit.
            self.assertEqual(cordsim_plots.totals_time_axes(budgets),
                             [("time (days)", {als: [0, 1.5, 2]}), ("time (s)", {transport: [0, 43200]})])
            self.assertEqual(cordsim_plots.main([str(als), str(transport), "--out", str(tmp / "fig")]), 0)
            self.assertEqual((tmp / "fig" / "totals.png").read_bytes()[:8], b"\x89PNG\r\n\x1a\n")

    def test_evans_blue_figure_is_titled_with_the_assay_days(self):
        rows = [{"time_d": "123.25", "label": "day14"}, {"time_d": "50", "label": "assay"}]
        self.assertEqual(cordsim_plots.evans_blue_title(rows[:1]),
                         "Evans Blue extravasation per region, assay day 123.25 (age, d)")
        self.assertEqual(cordsim_plots.evans_blue_title(rows),
                         "Evans Blue extravasation per region, assay days 50, 123.25 (age, d)")
        self.assertEqual(cordsim_plots.assay_name(rows[0]), "day 123.25 (day14)")
        self.assertEqual(cordsim_plots.assay_name(rows[1]), "day 50")
        with tempfile.TemporaryDirectory() as tmp:
            run = Path(tmp) / "vehicle"
            run.mkdir()
            (run / "evans_blue.csv").write_text("time_d,label,eb_gray_ug_per_g,eb_white_ug_per_g\n"
                                                "123.25,day14,8.3,4.2\n")
            titles = []
            original = cordsim_plots.plt.Axes.set_title

            def recording(ax, title, *args, **kwargs):
                titles.append(title)
                return original(ax, title, *args, **kwargs)

            cordsim_plots.plt.Axes.set_title = recording
            try:
                path = cordsim_plots.plot_evans_blue({"vehicle": run}, Path(tmp) / "eb.png")
            finally:
                cordsim_plots.plt.Axes.set_title = original
            self.assertEqual(path.read_bytes()[:8], b"\x89PNG\r\n\x1a\n")
            self.assertIn("Evans Blue extravasation per region, assay day 123.25 (age, d)", titles)

    def test_cross_sections_name_the_time_in_the_run_unit(self):
        import h5py
        with tempfile.TemporaryDirectory() as tmp:
            for unit, values, expected in (("d", [0.0, 150.0], "day 150"), ("s", [0.0, 120.0], "t = 120 s")):
                with h5py.File(Path(tmp) / f"{unit}.h5", "w") as f:
                    f.attrs["time_unit"] = unit
                    f["times"] = values
                    f["times"].attrs["time_unit"] = unit
                with h5py.File(Path(tmp) / f"{unit}.h5", "r") as f:
                    self.assertEqual(cordsim_plots.time_text(f), expected)

    def test_scale_bars_are_one_two_or_five_times_a_power_of_ten(self):
        self.assertEqual(cordsim_plots.nice_length(3600), 500)
        self.assertEqual(cordsim_plots.nice_length(300), 50)
        self.assertEqual(cordsim_plots.nice_length(800), 200)
        self.assertEqual(cordsim_plots.nice_length(4000), 1000)

    def test_missing_run_is_a_clear_error(self):
        with tempfile.TemporaryDirectory() as tmp:
            with self.assertRaises(SystemExit) as ctx:
                cordsim_plots.main([str(Path(tmp) / "nope")])
            self.assertIn("mass_budget.csv not found", str(ctx.exception))


if __name__ == "__main__":
    unittest.main()
