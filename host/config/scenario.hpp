#pragma once
// The scenario: a typed, validated description of one run, with every value in internal units
// (µm, s, nM, ymol; see units.hpp). Produced only by load_scenario / parse_scenario, which reject
// unknown or missing keys, unit-less or wrong-unit values and out-of-range values.
#include <array>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "host/config/model_spec.hpp"

namespace cordsim {

// A bad scenario or command-line input. what() names the file, line, key and value.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Where a value came from, for error messages raised after parsing (e.g. an unstable time step).
struct SourceLocation {
  std::string file;  // scenario path, or "--set" for a command-line override
  int line = 0;      // 1-based; 0 when unknown
  std::string key;   // dotted key path, e.g. "run.time_step" or "species[NO].decay"
  std::string value; // the value as written
};

using Vec3 = std::array<double, 3>;  // (x, y, z) in µm

struct GridSpec {
  std::array<int, 3> shape{0, 0, 0};  // voxels along x, y, z (z = cord axis)
  Vec3 spacing_um{0, 0, 0};           // voxel edge lengths
  Vec3 origin_um{0, 0, 0};            // physical position of the grid's lower corner
};

// The tissue mask: voxels outside it are not simulated.
struct TissueSpec {
  enum class Shape { all, ellipsoid, elliptic_cylinder, hdf5 } shape = Shape::all;
  Vec3 center_um{0, 0, 0};     // ellipsoid / elliptic_cylinder (cylinder axis along z)
  Vec3 semi_axes_um{0, 0, 0};  // ellipsoid: (a, b, c); elliptic_cylinder: (a, b, unused)
  std::string file;            // hdf5: file path, already resolved against the scenario's directory
  std::string dataset;         // hdf5: dataset of dims {nz, ny, nx}; nonzero = tissue
};

// Boundary condition on the tissue surface and on grid faces, for one species.
//   no_flux:   −D ∂c/∂n = 0
//   dirichlet: c = value on the face
//   robin:     −D ∂c/∂n = permeability · (c − value)   (flux out of the tissue)
struct BoundarySpec {
  enum class Kind { no_flux, dirichlet, robin } kind = Kind::no_flux;
  double value_nM = 0.0;
  double permeability_um_per_s = 0.0;
};

struct InitialFieldSpec {
  // uniform:  c = value
  // gaussian: c = background + peak · exp(−|x − center|² / (2 σ²))
  // cosine:   c = background + amplitude · Π_d cos(π · modes_d · (x_d − origin_d) / L_d)
  //           (L_d the grid length along d; modes_d = 0 means constant along d)
  // hdf5:     read from a dataset of dims {nz, ny, nx}, in nM
  enum class Shape { uniform, gaussian, cosine, hdf5 } shape = Shape::uniform;
  double value_nM = 0.0;       // uniform value, or the background for gaussian / cosine
  double peak_nM = 0.0;
  Vec3 center_um{0, 0, 0};
  double sigma_um = 0.0;
  double amplitude_nM = 0.0;
  std::array<int, 3> modes{0, 0, 0};
  std::string file;            // hdf5: resolved like TissueSpec::file
  std::string dataset;
};

struct SpeciesSpec {
  std::string name;
  double diffusivity_um2_per_s = 0.0;        // across the cord axis (x, y)
  double diffusivity_axial_um2_per_s = 0.0;  // along the cord axis (z); defaults to the above
  double decay_per_s = 0.0;                  // first-order decay k
  // White matter's own diffusivities across and along the fibres (key white_matter, optional; a
  // cord [geometry] only): D⊥ in x, y and D∥ in z. Without it white matter uses the values above.
  std::optional<std::array<double, 2>> white_matter_um2_per_s;
  BoundarySpec boundary;
  InitialFieldSpec initial;
  // Time integration of this species (docs/numerics.md):
  //   forward_euler   steps of at most the stability limit (or time_step, which must not exceed it)
  //   rkl2            Runge–Kutta–Legendre super-time-steps of size time_step (required: the
  //                   accuracy step), each with as many stages as its stability needs
  //   backward_euler  implicit steps of size time_step (required): (I − Δt L_h) cⁿ⁺¹ = cⁿ + Δt·rhs
  //   crank_nicolson  implicit steps of size time_step (required), θ = ½
  //   quasi_steady    no time step: the field solves D∇²c − k c + S = 0 at every output time
  enum class Integrator { forward_euler, rkl2, backward_euler, crank_nicolson, quasi_steady } integrator =
      Integrator::forward_euler;
  std::optional<double> time_step_s;  // overrides run.time_step for this species
  SourceLocation time_step_source;    // where it was set
  // The linear solver of the implicit integrators (key `solver`, optional).
  struct Solver {
    enum class Preconditioner { jacobi, multigrid } preconditioner = Preconditioner::multigrid;
    double tolerance = 1e-8;    // on ‖b − A c‖ / ‖b‖
    int max_iterations = 500;   // CG iterations per solve; more is an error
  } solver;
  bool implicit() const {
    return integrator == Integrator::backward_euler || integrator == Integrator::crank_nicolson ||
           integrator == Integrator::quasi_steady;
  }
};

// A production term added to one species' source field (inside tissue only).
struct SourceSpec {
  std::string species;
  enum class Shape { point, box, sphere } shape = Shape::point;
  Vec3 center_um{0, 0, 0};   // point, sphere
  double radius_um = 0.0;    // sphere
  Vec3 box_min_um{0, 0, 0};  // box
  Vec3 box_max_um{0, 0, 0};
  // The rate is either a total amount per time (ymol/s, e.g. "0.5 amol/s"), spread over the
  // shape's tissue voxels, or a volumetric rate (nM/s) applied to each of them.
  enum class Rate { total, volumetric } rate_kind = Rate::total;
  double rate = 0.0;  // ymol/s (total) or nM/s (volumetric)
};

// The cord geometry a scenario names instead of [grid] + [tissue]: a mesh file (meshes/*.toml)
// or NIfTI atlas and a voxel size. The grid is laid out by resolve_geometry and the tissue mask
// comes from the labels (host/geometry/geometry.hpp).
struct GeometrySpec {
  std::string mesh;                   // resolved against the scenario file
  Vec3 voxel_um{0, 0, 0};
  std::vector<std::string> segments;  // {first, last} (inclusive) to crop to; empty: all
};

// The largest counts a run may need; parse_scenario refuses a scenario beyond them (InputError
// naming the key), so that no count overflows or silently wraps (README, "Bad input").
//   frames:       ⌈run.duration / run.output_interval⌉ + 1 output times
//   checkpoints:  run.duration / run.checkpoint_interval
//   model steps:  run.duration / model.slow_step, and likewise model.readout_interval
//   sweeps:       stencil sweeps of one species over the run (forward-Euler steps, RKL2 super-steps
//                 × stages, θ-method steps), from the time steps given or the explicit stability
//                 limit (the interior-voxel bound at parse time; the Stepper checks the assembled
//                 operator's limit again)
//   RKL2 stages:  stages of one super-step (kernels/cell/rkl2.hpp counts them in int: s² must fit)
inline constexpr double kMaxOutputFrames = 1e7;
inline constexpr double kMaxCheckpointIntervals = 1e7;
inline constexpr double kMaxModelSteps = 1e7;
inline constexpr double kMaxStencilSweeps = 1e15;
inline constexpr int kMaxRkl2Stages = 10000;

struct RunSpec {
  double duration_s = 0.0;
  double output_interval_s = 0.0;
  std::optional<double> time_step_s;  // explicit step requested by the user; else chosen
  SourceLocation time_step_source;    // where time_step was given (for the stability error)
  double stability_safety = 0.9;      // chosen step = safety · stability limit (0 < safety ≤ 1)
  // Write a checkpoint every this much simulated time (at the first output time, or slow step of
  // a model run, at or after each multiple); optional (README "Checkpoint and restart").
  std::optional<double> checkpoint_interval_s;
};

// What a run writes (the optional [output] table). The output cadence is run.output_interval.
struct OutputSpec {
  std::vector<std::string> fields;  // species written to the field files; empty = all
  bool vtk = true;                  // also write VTK image data (.vti + .pvd) beside HDF5/XDMF
  bool float64 = false;             // precision of the written fields (the solver state is float32)
  int compression = 0;              // gzip level 0..9 of the HDF5 field datasets (0 = contiguous)
};

struct Scenario {
  std::string file;          // path it was read from ("<built-in demo>" for the embedded one)
  std::string text;          // the scenario text exactly as read
  std::vector<std::string> overrides;  // the --set key=value strings applied on top
  std::string name;
  std::string description;
  GridSpec grid;        // with a [geometry]: all zero until resolve_geometry lays it out
  TissueSpec tissue;
  std::optional<GeometrySpec> geometry;  // exactly one of [grid] and [geometry] is given
  std::vector<SpeciesSpec> species;
  std::vector<SourceSpec> sources;
  RunSpec run;
  OutputSpec output;
  std::optional<ModelSpec> model;  // [model]: the ALS tissue model drives the species (docs/model.md)
};

// Reads and validates a scenario file. `overrides` are "dotted.key=value" strings (TOML values,
// e.g. grid.spacing="10 um", run.duration="2 min", species.NO.decay="1 1/s"; a species is
// addressed by its name) applied before validation. Throws InputError.
Scenario load_scenario(const std::string& path, const std::vector<std::string>& overrides = {});

// Same, from text; `file_label` is used in messages and to resolve relative paths.
Scenario parse_scenario(const std::string& text, const std::string& file_label,
                        const std::vector<std::string>& overrides = {});

// The value of one scenario key as a --set key names it (e.g. "species.NO.decay", "source.0.rate",
// "model.motor_neurons.toxic_death_rate") in the scenario `text` with its base scenarios and
// `overrides` applied: what a sweep row that leaves the key runs with. `value` is the TOML text
// ("\"0.7 1/s\"", "[36, 26, 12]"), `display` a string's content or else the TOML text. A model
// rate-law parameter the file leaves out has its registry default (model_parameter_registry).
// Nothing when the key is absent (a default the reader fills in) or the text does not parse.
struct ScenarioValue {
  std::string value;
  std::string display;
};
std::optional<ScenarioValue> scenario_value(const std::string& text, const std::string& file_label,
                                            const std::vector<std::string>& overrides, const std::string& key);

}  // namespace cordsim
