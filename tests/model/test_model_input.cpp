// The [model] table and scenario bases: defaults from the registry, overrides, and the errors a
// bad model input gets (file:line: key = value: problem).
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include <toml++/toml.h>

#include "host/config/scenario.hpp"

namespace cordsim {
namespace {

const std::string kRat = std::string(CORDSIM_SOURCE_DIR) + "/scenarios/als/rat_sod1g93a.toml";

std::string error_of(const std::vector<std::string>& overrides) {
  try {
    load_scenario(kRat, overrides);
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

TEST(ModelInput, BaseScenarioMergesAndOverridesApply) {
  const Scenario s = load_scenario(kRat);
  ASSERT_TRUE(s.model);
  EXPECT_EQ(s.name, "rat_sod1g93a");
  EXPECT_EQ(s.species.size(), 6u);  // from the base, wild_type_rat.toml
  EXPECT_DOUBLE_EQ(s.model->params.sod1_astrocytes, 1.0);  // the child's genotype replaces the base's 0
  // The line's fitted value comes from scenarios/als/fitted/rat.toml, the base of wild_type_rat.toml.
  const toml::table fitted = toml::parse_file(std::string(CORDSIM_SOURCE_DIR) + "/scenarios/als/fitted/rat.toml");
  const std::string r_int = fitted["model"]["motor_neurons"]["intrinsic_stress_rate"].value_or(std::string());
  EXPECT_NEAR(s.model->params.stress_intrinsic_rate * 86400.0, std::stod(r_int), 1e-9 * std::stod(r_int));
  EXPECT_NEAR(s.model->params.death_hill, 4.0, 0.0);                    // registry default
  EXPECT_EQ(s.model->events.size(), 4u);  // the base's assay + the rat's two assays and snapshot, appended
  const Scenario t = load_scenario(kRat, {"model.motor_neurons.death_hill=12", "model.slow_step=\"3 h\""});
  EXPECT_DOUBLE_EQ(t.model->params.death_hill, 12.0);
  EXPECT_DOUBLE_EQ(t.model->settings.slow_step_s, 3 * 3600.0);
  EXPECT_NE(t.text.find("base scenario"), std::string::npos);  // provenance keeps the base's text
}

TEST(ModelInput, BadValuesNameKeyAndProblem) {
  EXPECT_NE(error_of({"model.motor_neurons.death_hil=3"}).find("model.motor_neurons.death_hil: unknown key"),
            std::string::npos);
  EXPECT_NE(error_of({"model.motor_neurons.death_rate=5"}).find("value without unit"), std::string::npos);
  EXPECT_NE(error_of({"model.motor_neurons.death_rate=\"5 um\""}).find("wrong unit"), std::string::npos);
  EXPECT_NE(error_of({"model.genotype.sod1_astrocytes=2"}).find("out of range [0, 1]"), std::string::npos);
  EXPECT_NE(error_of({"model.splitting=\"strange\""}).find("must be one of \"strang\", \"lie\""), std::string::npos);
  EXPECT_NE(error_of({"model.reaction_order=3"}).find("must be 1 (exponential Euler) or 2"), std::string::npos);
  EXPECT_NE(error_of({"model.readouts.bbb_zero_fraction=0.9"}).find("bbb_zero_fraction must be below"),
            std::string::npos);
}

TEST(ModelInput, EventsAndSpeciesAreChecked) {
  const auto parse = [](const std::string& extra) -> std::string {
    const std::string text = "[scenario]\nname = \"t\"\nbase = \"" + std::string(CORDSIM_SOURCE_DIR) +
                             "/scenarios/als/wild_type_rat.toml\"\n" + extra;
    try {
      parse_scenario(text, "test.toml");
    } catch (const InputError& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_EQ(parse(""), "no error");
  EXPECT_NE(parse("[[model.event]]\nkind = \"msc\"\ndose = 1e6\n").find("give exactly one of time"), std::string::npos);
  EXPECT_NE(parse("[[model.event]]\nkind = \"cre\"\ntime = \"0 d\"\ncell_type = \"neurons\"\nefficiency = 0.5\n")
                .find("must be one of \"astrocytes\""),
            std::string::npos);
  EXPECT_NE(parse("[[model.event]]\nkind = \"msc\"\ntime = \"1 d\"\ndose = -3\n").find("must be a number of cells"),
            std::string::npos);
  EXPECT_NE(parse("[[model.event]]\nkind = \"snapshot\"\nafter = \"death\"\n").find("must be one of \"onset\""),
            std::string::npos);
  const std::string missing_base = [&] {
    try {
      parse_scenario("[scenario]\nname = \"t\"\nbase = \"nowhere.toml\"\n", "test.toml");
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  }();
  EXPECT_NE(missing_base.find("test.toml:3: scenario.base"), std::string::npos) << missing_base;
  EXPECT_NE(missing_base.find("not found"), std::string::npos) << missing_base;
}

}  // namespace
}  // namespace cordsim
