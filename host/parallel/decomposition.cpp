#include "host/parallel/decomposition.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "host/config/scenario.hpp"

namespace cordsim {

Decomposition::Decomposition(const GridDims& dims, const std::vector<std::uint8_t>& tissue, int ranks) {
  if (ranks < 1) throw InputError("the number of ranks must be at least 1");
  if (ranks > dims.nz)
    throw InputError(fmt::format("{} ranks cannot share {} z-planes: every rank needs at least one plane of the "
                                 "grid (run on at most {} ranks or refine grid.shape along z)",
                                 ranks, dims.nz, dims.nz));
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
    // The cut whose prefix weight is closest to the target, leaving at least one plane to every rank.
    const int lo = cut[std::size_t(r) - 1] + 1, hi = dims.nz - (ranks - r);
    int best = lo;
    for (int k = lo; k <= hi; ++k)
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
