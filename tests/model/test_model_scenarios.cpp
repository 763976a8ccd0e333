// Behaviours of the ALS model that the calibration pins (science.md §5; issue: "model tests"),
// each from real runs of the scenarios in scenarios/als at a coarse grid, read back from the
// summary.json and readouts.csv the runs write.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>

#include "host/io/summary.hpp"
#include "tests/support/report.hpp"

namespace cordsim {
namespace {

namespace fs = std::filesystem;

const fs::path kScenarios = fs::path(CORDSIM_SOURCE_DIR) / "scenarios" / "als";

// Runs `cordsim run` on a scenario with overrides; returns its output directory.
fs::path run_scenario(const std::string& name, const std::string& sets) {
  const fs::path out = fs::temp_directory_path() / ("cordsim_model_test_" + name + "_" + std::to_string(::getpid()));
  const std::string command = std::string(CORDSIM_EXE) + " run " + (kScenarios / (name + ".toml")).string() +
                              " --overwrite --threads 2 --out " + out.string() + " " + sets + " > " + out.string() +
                              ".log 2>&1";
  const int status = std::system(command.c_str());
  EXPECT_EQ(status, 0) << command << "\n(see " << out.string() << ".log)";
  return out;
}

double number(const RunSummary& summary, const std::string& key) {
  const RunSummary::Value* value = summary.find(key);
  if (value == nullptr || !std::holds_alternative<double>(*value)) {
    ADD_FAILURE() << "summary.json has no number " << key;
    return std::nan("");
  }
  return std::get<double>(*value);
}

const std::string kMouseGrid = "--set 'geometry.voxel=[\"100 um\", \"100 um\", \"200 um\"]'";
const std::string kRatGrid = "--set 'geometry.voxel=[\"200 um\", \"200 um\", \"200 um\"]'";

// Target 5: removing mutant SOD1 from astrocytes leaves onset alone and lengthens the disease
// ×2.2 (Yamanaka 2008); here onset within ±5% and duration ×1.8–2.6, with fewer activated microglia
// and a negative correlation between mutant-free astrocytes and activated microglia.
TEST(Model, AstrocyteExcisionKeepsOnsetAndSlowsProgression) {
  const RunSummary natural = read_flat_json(run_scenario("mouse_loxsod1g37r", kMouseGrid) / "summary.json");
  const RunSummary excised = read_flat_json(run_scenario("mouse_cre_astrocytes", kMouseGrid) / "summary.json");
  const double onset_n = number(natural, "onset_d"), onset_e = number(excised, "onset_d");
  const double ratio = number(excised, "disease_duration_d") / number(natural, "disease_duration_d");
  std::printf("onset %.2f d vs %.2f d (%+.1f%%); duration %.2f d vs %.2f d (x%.2f)\n", onset_n, onset_e,
              100 * (onset_e / onset_n - 1), number(natural, "disease_duration_d"),
              number(excised, "disease_duration_d"), ratio);
  test::report("onset, excised / natural (mouse LoxSOD1G37R, 100x100x200 um)", onset_e / onset_n, "1 ± 0.05", "%.3f");
  test::report("disease duration, excised / natural", ratio, "1.8-2.6 (Yamanaka 2008: x2.2)", "%.3g");
  // The sign is asserted here; the strength (Yamanaka 2008: strongly negative, band < -0.5) is a
  // calibration check in docs/validation.md, which the model does not yet reach.
  test::report("end-stage astrocyte-microglia correlation, excised",
               number(excised, "end_stage_astrocyte_microglia_correlation"), "< 0 (target < -0.5)", "%.3g");
  EXPECT_NEAR(onset_e / onset_n, 1.0, 0.05);
  EXPECT_GE(ratio, 1.8);
  EXPECT_LE(ratio, 2.6);
  EXPECT_LT(number(excised, "end_stage_activated_microglia_gray_per_mm3"),
            number(natural, "end_stage_activated_microglia_gray_per_mm3"));
  EXPECT_LT(number(excised, "end_stage_astrocyte_microglia_correlation"), 0.0);
}

// Target 4: one MSC infusion on day 0 of the Magota design: on day 14 more MNs and less
// gray-matter Evans Blue than vehicle, a higher locomotor score on days 7 and 14, neurturin up on
// day 1, and few MSCs in the cord.
TEST(Model, MscInfusionBeatsVehicleOnDay14) {
  const RunSummary vehicle = read_flat_json(run_scenario("rat_magota_vehicle", kRatGrid) / "summary.json");
  const RunSummary msc = read_flat_json(run_scenario("rat_magota_msc_single", kRatGrid) / "summary.json");
  for (const char* key : {"day14_mn_fraction", "day7_bbb_score", "day14_bbb_score", "day1_nrtn_gray_pM",
                          "day14_eb_gray_ug_per_g", "day1_msc_tissue_cells"})
    std::printf("%-28s vehicle %10.4g   MSC %10.4g\n", key, number(vehicle, key), number(msc, key));
  test::report("day-14 MN fraction, MSC / vehicle (rat, 200 um voxels)",
               number(msc, "day14_mn_fraction") / number(vehicle, "day14_mn_fraction"), "> 1", "%.3g");
  test::report("day-14 gray Evans Blue, MSC / vehicle",
               number(msc, "day14_eb_gray_ug_per_g") / number(vehicle, "day14_eb_gray_ug_per_g"), "< 1", "%.3g");
  test::report("day-14 BBB score, MSC - vehicle", number(msc, "day14_bbb_score") - number(vehicle, "day14_bbb_score"),
               "> 0", "%.3g");
  EXPECT_GT(number(msc, "day14_mn_fraction"), number(vehicle, "day14_mn_fraction"));
  EXPECT_LT(number(msc, "day14_eb_gray_ug_per_g"), number(vehicle, "day14_eb_gray_ug_per_g"));
  EXPECT_GT(number(msc, "day7_bbb_score"), number(vehicle, "day7_bbb_score"));
  EXPECT_GT(number(msc, "day14_bbb_score"), number(vehicle, "day14_bbb_score"));
  EXPECT_GT(number(msc, "day1_nrtn_gray_pM"), number(vehicle, "day1_nrtn_gray_pM"));
  EXPECT_LT(number(msc, "day1_msc_tissue_cells"), 1e-3 * 1e6);  // ≪ 1% of the dose
}

// Target 1: at disease-level microglial densities NO stays in the 10–100 nM band in perfused
// tissue (the rat's MN pools at end stage), and the assay Evans Blue leak appears only after
// symptoms (target 3).
TEST(Model, NitricOxideBandAndLateLeak) {
  const RunSummary rat = read_flat_json(run_scenario("rat_magota_vehicle", kRatGrid) / "summary.json");
  const double no = number(rat, "day7_no_pools_nM");
  std::printf("NO in the MN pools on day 7: %.3g nM; activated microglia %.4g /mm^3\n", no,
              number(rat, "day7_activated_microglia_gray_per_mm3"));
  test::report("NO in the MN pools on day 7 (nM)", no, "10-100 nM", "%.3g");
  EXPECT_GE(no, 10.0);
  EXPECT_LE(no, 100.0);
  const double before = number(rat, "presymptomatic_eb_gray_ug_per_g"), after = number(rat, "day14_eb_gray_ug_per_g");
  std::printf("Evans Blue gray: %.3g ug/g before onset, %.3g ug/g on day 14\n", before, after);
  test::report("gray Evans Blue before onset (ug/g)", before, "1-5 ug/g", "%.3g");
  test::report("gray Evans Blue, day 14 / before onset", after / before, "> 1.5", "%.3g");
  EXPECT_GE(before, 1.0);
  EXPECT_LE(before, 5.0);  // normal cord 1–5 ug/g (science.md §4)
  EXPECT_GT(after, 1.5 * before);
}

// Target 6: TARDBP endothelium is leakier and more adhesive than healthy; TNF-α + IFN-γ raise
// adhesion further; CHIR99021 brings both back toward healthy.
TEST(Model, TardbpBarrierAndCHIR99021) {
  std::map<std::string, std::pair<double, double>> at_day20;  // permeability, adhesion
  for (const char* name : {"wild_type_rat", "tardbp_endothelium", "tardbp_cytokines", "tardbp_chir"}) {
    const fs::path out = run_scenario(name, kRatGrid + " --set run.duration=\"21 d\"");
    std::ifstream csv(out / "readouts.csv");
    std::string header, line, last20;
    std::getline(csv, header);
    while (std::getline(csv, line))
      if (line.rfind(",20,", 0) == 0) last20 = line;
    ASSERT_FALSE(last20.empty()) << name;
    std::map<std::string, double> row;
    std::stringstream h(header), v(last20);
    std::string key, value;
    while (std::getline(h, key, ',') && std::getline(v, value, ',')) row[key] = value.empty() ? std::nan("") : std::atof(value.c_str());
    at_day20[name] = {row["permeability_gray_rel"], row["adhesion_gray"]};
    std::printf("%-20s permeability x%.3f, adhesion x%.3f\n", name, row["permeability_gray_rel"], row["adhesion_gray"]);
  }
  const auto healthy = at_day20["wild_type_rat"], tardbp = at_day20["tardbp_endothelium"];
  const auto cytokines = at_day20["tardbp_cytokines"], chir = at_day20["tardbp_chir"];
  test::report("TARDBP / healthy permeability, day 20", tardbp.first / healthy.first, "> 1.2", "%.3g");
  test::report("TARDBP / healthy adhesion, day 20", tardbp.second / healthy.second, "> 1.2", "%.3g");
  test::report("CHIR99021 / TARDBP permeability, day 20", chir.first / tardbp.first, "< 1", "%.3g");
  EXPECT_GT(tardbp.first, healthy.first * 1.2);
  EXPECT_GT(tardbp.second, healthy.second * 1.2);
  EXPECT_GT(cytokines.second, tardbp.second);
  EXPECT_GT(cytokines.first, tardbp.first);
  EXPECT_LT(chir.first, tardbp.first);
  EXPECT_LT(chir.second, tardbp.second);
}

// Target 9: a wild-type cord at the upper end of the cited cytokine range (about 100 pM TNF-α and
// IFN-γ) for 20 days keeps at least 95% of its motor neurons: toxicity is graded, not a cliff.
TEST(Model, WildTypeCordKeepsItsMotorNeuronsAtHighCytokines) {
  const fs::path out = run_scenario("wild_type_cytokines", kRatGrid);
  const RunSummary s = read_flat_json(out / "summary.json");
  std::ifstream csv(out / "readouts.csv");
  std::string header, line, last;
  std::getline(csv, header);
  while (std::getline(csv, line)) last = line;
  std::map<std::string, double> row;
  std::stringstream h(header), v(last);
  std::string key, value;
  while (std::getline(h, key, ',') && std::getline(v, value, ',')) row[key] = value.empty() ? std::nan("") : std::atof(value.c_str());
  std::printf("day %.0f: TNF %.3g pM, IFN-g %.3g pM, MN fraction %.4f\n", row["time_d"], row["tnf_gray_pM"],
              row["ifng_gray_pM"], number(s, "final_mn_fraction"));
  test::report("wild type at ~100 pM TNF/IFN-g, MN fraction on day 20", number(s, "final_mn_fraction"), ">= 0.95",
               "%.4f");
  EXPECT_GE(row["tnf_gray_pM"], 80.0);  // the upper end of the 5-100 pM range
  EXPECT_GE(number(s, "final_mn_fraction"), 0.95);
}

// Space matters (issue 13): the danger signal's diffusion spreads the disease from the lumbar
// enlargement rostrally. With D_X = 0 the glia see only the MNs dying in their own voxel: every
// segment tips at nearly the same time and the whole course shifts. docs/model.md §8 shows the
// same at the default grid, with a grid twice as fine for comparison.
TEST(Model, DangerSignalDiffusionSpreadsTheDisease) {
  const RunSummary spread = read_flat_json(run_scenario("rat_sod1g93a", kRatGrid) / "summary.json");
  const RunSummary still = read_flat_json(
      run_scenario("rat_sod1g93a", kRatGrid + " --set 'species[DAMP].diffusivity=\"0 um^2/s\"'") / "summary.json");
  const auto lag = [&](const RunSummary& s) { return number(s, "onset_L1_d") - number(s, "onset_L5_d"); };
  std::printf("rostral lag L1 - L5: %.3g d diffusing, %.3g d not; onset %.4g d vs %.4g d\n", lag(spread), lag(still),
              number(spread, "onset_d"), number(still, "onset_d"));
  test::report("rostral lag of onset, L1 - L5 (rat, 200 um voxels), diffusing signal", lag(spread), "> 3 d", "%.3g");
  test::report("rostral lag of onset, L1 - L5, signal not diffusing", lag(still), "< lag / 2", "%.3g");
  EXPECT_GT(lag(spread), 3.0);
  EXPECT_LT(lag(still), 0.5 * lag(spread));
  EXPECT_GT(std::abs(number(still, "onset_d") / number(spread, "onset_d") - 1.0), 0.1);
}

// The Evans Blue assay does not disturb the disease it probes: a different assay (2 h instead of
// 1 h of circulation) leaves every MN readout bitwise the same and changes only the Evans Blue.
TEST(Model, EvansBlueAssayLeavesTheDiseaseAlone) {
  const RunSummary one = read_flat_json(run_scenario("rat_sod1g93a", kRatGrid) / "summary.json");
  const RunSummary two = read_flat_json(
      run_scenario("rat_sod1g93a", kRatGrid + " --set model.evans_blue.circulation_time=\"2 h\"") / "summary.json");
  test::report("day-14 gray Evans Blue, 2 h / 1 h circulation",
               number(two, "day14_eb_gray_ug_per_g") / number(one, "day14_eb_gray_ug_per_g"), "> 1.5", "%.3g");
  EXPECT_EQ(number(one, "final_mn_fraction"), number(two, "final_mn_fraction"));
  EXPECT_EQ(number(one, "onset_d"), number(two, "onset_d"));
  EXPECT_EQ(number(one, "end_stage_d"), number(two, "end_stage_d"));
  EXPECT_GT(number(two, "day14_eb_gray_ug_per_g"), 1.5 * number(one, "day14_eb_gray_ug_per_g"));
}

}  // namespace
}  // namespace cordsim
