#pragma once
// Reading of the [model] table (host/config/model_spec.cpp) for the scenario reader.
#include "host/config/model_spec.hpp"
#include "host/config/toml_reader.hpp"

namespace cordsim::model_input {

// Reads [model] (already known to be a table) into a ModelSpec with every parameter at its
// registry default unless the scenario sets it. Throws InputError naming file:line and key.
ModelSpec read_model(const toml_input::ValueReader& reader, const toml_input::Diagnostics& diag,
                     const toml_input::TableReader& model);

}  // namespace cordsim::model_input
