// Every intervention arm in scenarios/als is a controlled experiment (issue 13): it differs from
// its control (the scenario its [scenario] base names) only by its [[model.event]] entries (and
// [[source]] terms: cytokines given to the tissue), its name, description and duration. Genotype
// variants of a line (SOD1, TARDBP, FUS, TBK1 on the same cord) may differ in [model.genotype]
// and nothing else. The test parses every scenario and fails naming each changed parameter.
#include <gtest/gtest.h>

#include <toml++/toml.h>

#include <filesystem>
#include <set>
#include <string>

#include "host/config/model_spec.hpp"
#include "host/config/scenario.hpp"

namespace cordsim {
namespace {

namespace fs = std::filesystem;
const fs::path kAls = fs::path(CORDSIM_SOURCE_DIR) / "scenarios" / "als";

// Scenarios that are a genotype of the line their base describes, not an intervention arm.
const std::set<std::string> kGenotypeVariants = {"rat_sod1g93a", "tardbp_endothelium", "rat_fus", "rat_tbk1_mam"};

// What differs between an arm and its control, as "key: control → arm" lines ("" when nothing).
std::string differences(const Scenario& control, const Scenario& arm, bool genotype_allowed) {
  std::string out;
  const auto& registry = model_parameter_registry();
  const std::vector<double> a = model_parameter_values(*arm.model), c = model_parameter_values(*control.model);
  for (std::size_t i = 0; i < registry.size(); ++i) {
    if (a[i] == c[i] || (genotype_allowed && std::string(registry[i].table) == "genotype")) continue;
    out += std::string("model.") + registry[i].table + "." + registry[i].key + ": " + std::to_string(c[i]) + " -> " +
           std::to_string(a[i]) + "\n";
  }
  const ModelSettings &sa = arm.model->settings, &sc = control.model->settings;
  if (sa.slow_step_s != sc.slow_step_s || sa.strang != sc.strang || sa.reaction_order != sc.reaction_order ||
      sa.readout_interval_s != sc.readout_interval_s)
    out += "model settings (slow_step, splitting, reaction_order, readout_interval)\n";
  if (arm.species.size() != control.species.size()) out += "species list\n";
  for (std::size_t s = 0; s < std::min(arm.species.size(), control.species.size()); ++s) {
    const SpeciesSpec &x = arm.species[s], &y = control.species[s];
    if (x.name != y.name || x.diffusivity_um2_per_s != y.diffusivity_um2_per_s ||
        x.diffusivity_axial_um2_per_s != y.diffusivity_axial_um2_per_s || x.decay_per_s != y.decay_per_s ||
        x.white_matter_um2_per_s != y.white_matter_um2_per_s)
      out += "species " + x.name + " transport\n";
  }
  if (!arm.geometry || !control.geometry || arm.geometry->mesh != control.geometry->mesh) out += "geometry.mesh\n";
  if (arm.grid.spacing_um != control.grid.spacing_um || arm.grid.shape != control.grid.shape) out += "grid\n";
  return out;
}

TEST(ControlledArms, EveryArmDiffersFromItsControlOnlyByItsIntervention) {
  int compared = 0;
  for (const fs::directory_entry& entry : fs::directory_iterator(kAls)) {
    if (entry.path().extension() != ".toml") continue;
    const toml::table file = toml::parse_file(entry.path().string());
    const auto base = file["scenario"]["base"].value<std::string>();
    if (!base) continue;
    const fs::path control_path = fs::weakly_canonical(entry.path().parent_path() / *base);
    if (control_path.parent_path() != fs::weakly_canonical(kAls)) continue;  // a line's fitted overlay: not an arm
    const std::string name = entry.path().stem().string();
    const Scenario arm = load_scenario(entry.path().string());
    const Scenario control = load_scenario(control_path.string());
    ASSERT_TRUE(arm.model && control.model) << name;
    const std::string diff = differences(control, arm, kGenotypeVariants.count(name) > 0);
    EXPECT_EQ(diff, "") << name << " changes more than its intervention against " << control_path.filename() << ":\n"
                        << diff;
    ++compared;
  }
  EXPECT_GE(compared, 11);  // every arm and variant of scenarios/als (all but the two line roots)
}

// The check can fail: an arm that also changes a rate law is caught, naming the key.
TEST(ControlledArms, AnArmThatChangesAParameterIsCaught) {
  const Scenario control = load_scenario((kAls / "mouse_loxsod1g37r.toml").string());
  const Scenario arm = load_scenario((kAls / "mouse_cre_microglia.toml").string(), {"model.microglia.mutant_gain=0"});
  const std::string diff = differences(control, arm, false);
  EXPECT_NE(diff.find("model.microglia.mutant_gain"), std::string::npos) << diff;
}

}  // namespace
}  // namespace cordsim
