#include "host/parallel/decomposition.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include <stdexcept>

#include "host/config/scenario.hpp"
#include "kernels/cell/linear_solver.hpp"

namespace cordsim {

int multigrid_aligned_levels(const GridDims& dims, const std::vector<std::uint8_t>& tissue, int ranks) {
  if (ranks <= 1) return 0;
  const int depth = int(multigrid_coarse_dims(dims).size());
  const double unaligned = Decomposition(dims, tissue, ranks).imbalance();
  int best = 0;
  double best_cost = 1.0;  // L = 0: the whole V-cycle on every rank
  for (int levels = 1; levels <= depth; ++levels) {
    if ((long long)(ranks - 1) * (1LL << levels) > dims.nz - 1) break;  // no room for the cuts
    const double imbalance = Decomposition(dims, tissue, ranks, levels).imbalance();
    if (imbalance > unaligned + 0.25) continue;
    const double gathered = std::pow(0.125, levels);  // the redundant levels' share of a V-cycle
    const double cost = imbalance * (1.0 - gathered) / double(ranks) + gathered;
    if (cost <= best_cost) {
      best = levels;
      best_cost = cost;
    }
  }
  return best;
}

Decomposition::Decomposition(const GridDims& dims, const std::vector<std::uint8_t>& tissue, int ranks,
                             int aligned_levels)
    : aligned_levels_(aligned_levels) {
  if (ranks < 1) throw InputError("the number of ranks must be at least 1");
  if (ranks > dims.nz)
    throw InputError(fmt::format("{} ranks cannot share {} z-planes: every rank needs at least one plane of the "
                                 "grid (run on at most {} ranks or refine grid.shape along z)",
                                 ranks, dims.nz, dims.nz));
  if (aligned_levels < 0 || aligned_levels > 20) throw std::invalid_argument("aligned_levels out of range");
  const int a = 1 << aligned_levels;  // the cuts are multiples of a
  if ((long long)(ranks - 1) * a > dims.nz - 1)
    throw std::invalid_argument(
        fmt::format("{} z-planes cannot be cut into {} slabs at multiples of {}", dims.nz, ranks, a));
  const std::size_t plane = std::size_t(dims.nx) * std::size_t(dims.ny);
  std::vector<long long> tissue_in(std::size_t(dims.nz), 0);
  for (int k = 0; k < dims.nz; ++k)
    for (std::size_t v = 0; v < plane; ++v) tissue_in[std::size_t(k)] += tissue[std::size_t(k) * plane + v] ? 1 : 0;
  // prefix[k]: weight of planes [0, k).
  std::vector<double> prefix(std::size_t(dims.nz) + 1, 0.0);
  for (int k = 0; k < dims.nz; ++k)
    prefix[std::size_t(k) + 1] = prefix[std::size_t(k)] + double(std::max(1LL, tissue_in[std::size_t(k)]));
  const double total = prefix.back();
  std::vector<int> cut(std::size_t(ranks) + 1, 0);
  cut.back() = dims.nz;
  for (int r = 1; r < ranks; ++r) {
    const double target = total * double(r) / double(ranks);
    // The cut (a multiple of a) whose prefix weight is closest to the target, leaving at least a
    // planes to every rank but the last, and one plane to that.
    const int lo = cut[std::size_t(r) - 1] + a, hi = (dims.nz - 1 - (ranks - 1 - r) * a) / a * a;
    int best = lo;
    for (int k = lo; k <= hi; k += a)
      if (std::abs(prefix[std::size_t(k)] - target) < std::abs(prefix[std::size_t(best)] - target)) best = k;
    cut[std::size_t(r)] = best;
  }
  for (int r = 0; r < ranks; ++r) {
    Slab s{cut[std::size_t(r)], cut[std::size_t(r) + 1], 0};
    for (int k = s.z_begin; k < s.z_end; ++k) s.tissue_voxels += tissue_in[std::size_t(k)];
    slabs_.push_back(s);
  }
}

double Decomposition::imbalance() const {
  if (slabs_.empty()) return 1.0;
  long long largest = 0, sum = 0;
  for (const Slab& s : slabs_) {
    largest = std::max(largest, s.tissue_voxels);
    sum += s.tissue_voxels;
  }
  return sum > 0 ? double(largest) * double(slabs_.size()) / double(sum) : 1.0;
}

namespace {
template <class T>
std::vector<T> planes_of(const std::vector<T>& full, std::size_t plane, int z_begin, int z_end) {
  if (full.empty()) return {};
  return std::vector<T>(full.begin() + std::ptrdiff_t(plane * std::size_t(z_begin)),
                        full.begin() + std::ptrdiff_t(plane * std::size_t(z_end)));
}
}  // namespace

Problem slice_planes(const Problem& problem, int z_begin, int z_end) {
  const std::size_t plane = std::size_t(problem.dims.nx) * std::size_t(problem.dims.ny);
  Problem out;
  out.dims = GridDims{problem.dims.nx, problem.dims.ny, z_end - z_begin};
  out.spacing = problem.spacing;
  out.tissue = planes_of(problem.tissue, plane, z_begin, z_end);
  for (const SpeciesProblem& s : problem.species) {
    SpeciesProblem p;
    p.name = s.name;
    for (int a = 0; a < 3; ++a) p.diffusivity[std::size_t(a)] = planes_of(s.diffusivity[std::size_t(a)], plane, z_begin, z_end);
    p.decay = planes_of(s.decay, plane, z_begin, z_end);
    p.source = planes_of(s.source, plane, z_begin, z_end);
    p.initial = planes_of(s.initial, plane, z_begin, z_end);
    p.boundary = s.boundary;
    out.species.push_back(std::move(p));
  }
  return out;
}

}  // namespace cordsim
