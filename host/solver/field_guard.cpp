#include "host/solver/field_guard.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cmath>
#include <utility>

namespace cordsim {
namespace {

std::string where(const GridSpec& g, std::size_t v) {
  const std::size_t nx = std::size_t(g.shape[0]), ny = std::size_t(g.shape[1]);
  const std::size_t i = v % nx, j = (v / nx) % ny, k = v / (nx * ny);
  return fmt::format("voxel (i, j, k) = ({}, {}, {}), centre ({:.6g}, {:.6g}, {:.6g}) um", i, j, k,
                     g.origin_um[0] + (double(i) + 0.5) * g.spacing_um[0],
                     g.origin_um[1] + (double(j) + 0.5) * g.spacing_um[1],
                     g.origin_um[2] + (double(k) + 0.5) * g.spacing_um[2]);
}

std::string more(std::size_t count) {
  return count > 1 ? fmt::format(" (and {} more voxel{})", count - 1, count > 2 ? "s" : "") : "";
}

}  // namespace

FieldGuard::FieldGuard(const Scenario& scenario, const std::vector<std::uint8_t>& tissue, std::size_t first_voxel,
                       std::function<double(double)> largest_over_ranks)
    : scenario_(scenario),
      tissue_(tissue),
      first_voxel_(first_voxel),
      largest_over_ranks_(std::move(largest_over_ranks)),
      warned_(scenario.species.size(), false) {}

void FieldGuard::check(std::size_t species, const float* field, double t_s) {
  const SpeciesSpec& spec = scenario_.species[species];
  const std::size_t n = tissue_.size();
  std::size_t first_bad = n, bad = 0;
  double largest = 0.0, lowest = 0.0;
  std::size_t lowest_at = n;
  for (std::size_t v = 0; v < n; ++v) {
    if (!tissue_[v]) continue;
    const double c = double(field[v]);
    if (!std::isfinite(c)) {
      if (bad++ == 0) first_bad = v;
      continue;
    }
    largest = std::max(largest, std::abs(c));
    if (c < lowest) {
      lowest = c;
      lowest_at = v;
    }
  }
  // Every rank takes part, also one about to throw.
  if (largest_over_ranks_) largest = largest_over_ranks_(largest);
  if (bad > 0) {
    throw FieldError(fmt::format(
        "species '{}' is not finite ({} nM) at {}, t = {:.6g} s{}: the solution has blown up or an input holds "
        "NaN/Inf",
        spec.name, double(field[first_bad]), where(scenario_.grid, first_voxel_ + first_bad), t_s, more(bad)));
  }
  const double bound = -kFieldGuardRelativeTolerance * largest;
  if (!(lowest < bound)) return;
  std::size_t count = 0;
  for (std::size_t v = 0; v < n; ++v)
    if (tissue_[v] && double(field[v]) < bound) ++count;
  if (spec.integrator == SpeciesSpec::Integrator::crank_nicolson) {
    if (!warned_[species]) {
      warned_[species] = true;
      spdlog::warn("species '{}' (Crank-Nicolson) is negative ({:.6g} nM) at {}, t = {:.6g} s{}: Crank-Nicolson "
                   "rings around steep fronts when the step is far above h^2/D; a smaller time_step or "
                   "backward_euler avoids it (warned once)",
                   spec.name, lowest, where(scenario_.grid, first_voxel_ + lowest_at), t_s, more(count));
    }
    return;
  }
  throw FieldError(fmt::format(
      "species '{}' is negative ({:.6g} nM) at {}, t = {:.6g} s{}: below -{:g} x its largest magnitude {:.6g} nM; "
      "the step is unstable or an input is negative",
      spec.name, lowest, where(scenario_.grid, first_voxel_ + lowest_at), t_s, more(count), kFieldGuardRelativeTolerance,
      largest));
}

}  // namespace cordsim
