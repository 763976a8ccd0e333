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
            self.assertEqual(cordsim_plots.totals_time_axis({als: budgets[als]}), ("time (days)", {als: [0, 1.5, 2]}))
            self.assertEqual(cordsim_plots.totals_time_axis({transport: budgets[transport]}),
                             ("time (s)", {transport: [0, 43200]}))
            # Mixed: both in days.
            self.assertEqual(cordsim_plots.totals_time_axis(budgets),
                             ("time (days)", {als: [0, 1.5, 2], transport: [0, 0.5]}))
            self.assertEqual(cordsim_plots.main([str(als), "--out", str(tmp / "fig")]), 0)
            self.assertEqual((tmp / "fig" / "totals.png").read_bytes()[:8], b"\x89PNG\r\n\x1a\n")

    def test_missing_run_is_a_clear_error(self):
        with tempfile.TemporaryDirectory() as tmp:
            with self.assertRaises(SystemExit) as ctx:
                cordsim_plots.main([str(Path(tmp) / "nope")])
            self.assertIn("mass_budget.csv not found", str(ctx.exception))


if __name__ == "__main__":
    unittest.main()
