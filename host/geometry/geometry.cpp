#include "host/geometry/geometry.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "host/config/toml_reader.hpp"
#include "host/io/run_output.hpp"
#include "host/geometry/nifti_atlas.hpp"
#include "host/geometry/parametric_cord.hpp"

namespace cordsim {
namespace {

using namespace toml_input;

constexpr double kPi = 3.14159265358979323846;

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_nifti(const std::string& path) { return ends_with(path, ".nii") || ends_with(path, ".nii.gz"); }

// Reads meshes/*.toml: [mesh], then [cord] + [butterfly] + [[segment]] (parametric) or [atlas];
// [tissue_properties] is optional in both.
class MeshReader : public ValueReader {
 public:
  using ValueReader::ValueReader;

  std::unique_ptr<GeometrySource> read(const toml::table& root, const GeometryRequest& request) const {
    const TableReader top(diag_, root, "");
    top.allow_only({"mesh", "cord", "butterfly", "segment", "atlas", "tissue_properties"});
    const TableReader mesh = table_at(top, "mesh");
    mesh.allow_only({"kind", "name", "description"});
    const std::string kind = read_choice(mesh.require("kind"), mesh.path_of("kind"), {"parametric", "atlas"});
    const std::string name = read_nonempty_string(mesh.require("name"), mesh.path_of("name"));
    if (const toml::node* text = mesh.find("description")) read_string(*text, mesh.path_of("description"));
    TissueProperties properties;
    if (const toml::node* table = top.find("tissue_properties")) {
      properties = read_properties(TableReader(diag_, as_table(*table, "tissue_properties"), "tissue_properties"));
    }
    if (kind == "atlas") {
      for (const char* key : {"cord", "butterfly", "segment"}) {
        if (const toml::node* node = top.find(key)) diag_.bad_value(*node, key, "not allowed in an atlas mesh");
      }
      AtlasDescription atlas = read_atlas(table_at(top, "atlas"));
      atlas.name = name;
      atlas.properties = properties;
      if (!request.segments.empty()) atlas.segments = request.segments;
      return std::make_unique<NiftiAtlas>(std::move(atlas), request.voxel_um);
    }
    if (const toml::node* node = top.find("atlas")) diag_.bad_value(*node, "atlas", "not allowed in a parametric mesh");
    CordDescription cord = read_cord(top);
    cord.name = name;
    cord.properties = properties;
    std::size_t first = 0, last = cord.segments.size() - 1;
    if (!request.segments.empty()) {
      first = segment_index(cord, request.segments.front());
      last = segment_index(cord, request.segments.back());
      if (first > last) {
        throw InputError(fmt::format("segments [{}, {}]: the first must not lie caudal of the last",
                                     request.segments.front(), request.segments.back()));
      }
    }
    return std::make_unique<ParametricCord>(std::move(cord), request.voxel_um, first, last);
  }

 private:
  static std::size_t segment_index(const CordDescription& cord, const std::string& name) {
    std::vector<std::string> names;
    for (std::size_t i = 0; i < cord.segments.size(); ++i) {
      if (cord.segments[i].name == name) return i;
      names.push_back(cord.segments[i].name);
    }
    throw InputError(fmt::format("segments: unknown segment '{}' in {} (segments: {})", name, cord.file,
                                 join(names, ", ")));
  }

  // A dimensionless number (fraction, scale, angle in degrees) in [low, high].
  double read_plain_number(const toml::node& node, const std::string& key, double low, double high) const {
    const std::optional<double> value = node.value<double>();
    if (!node.is_number() || !value) {
      diag_.bad_value(node, key, fmt::format("must be a plain number in [{}, {}], not {}", low, high, type_name(node)));
    }
    if (!(*value >= low && *value <= high)) diag_.bad_value(node, key, fmt::format("must be in [{}, {}]", low, high));
    return *value;
  }

  TemplateEllipse read_ellipse(const toml::node& node, const std::string& key, bool offset) const {
    const TableReader table(diag_, as_table(node, key), key);
    const char* cu = offset ? "offset_x" : "center_x";
    const char* cv = offset ? "offset_y" : "center_y";
    table.allow_only({cu, cv, "half_width", "half_height", "tilt_degrees"});
    TemplateEllipse e;
    e.center_u = read_plain_number(table.require(cu), table.path_of(cu), -1.0, 1.0);
    e.center_v = read_plain_number(table.require(cv), table.path_of(cv), -1.0, 1.0);
    e.half_width = read_plain_number(table.require("half_width"), table.path_of("half_width"), 1e-3, 1.0);
    e.half_height = read_plain_number(table.require("half_height"), table.path_of("half_height"), 1e-3, 1.0);
    if (const toml::node* tilt = table.find("tilt_degrees")) {
      e.tilt_rad = read_plain_number(*tilt, table.path_of("tilt_degrees"), -90.0, 90.0) * kPi / 180.0;
    }
    return e;
  }

  CordDescription read_cord(const TableReader& top) const {
    CordDescription d;
    d.file = diag_.file_label();
    const TableReader cord = table_at(top, "cord");
    cord.allow_only({"csf_margin", "central_canal_diameter", "white_rim"});
    d.csf_margin_um = read_nonnegative(cord.require("csf_margin"), cord.path_of("csf_margin"), dim::length);
    d.central_canal_diameter_um = read_nonnegative(cord.require("central_canal_diameter"),
                                                   cord.path_of("central_canal_diameter"), dim::length);
    d.white_rim = read_plain_number(cord.require("white_rim"), cord.path_of("white_rim"), 0.0, 0.5);

    const TableReader butterfly = table_at(top, "butterfly");
    butterfly.allow_only({"intermediate_zone", "dorsal_horn", "ventral_horn", "motor_neuron_pool"});
    const auto ellipse = [&](const char* key, bool offset) {
      return read_ellipse(butterfly.require(key), butterfly.path_of(key), offset);
    };
    d.intermediate_zone = ellipse("intermediate_zone", false);
    d.dorsal_horn = ellipse("dorsal_horn", false);
    d.ventral_horn = ellipse("ventral_horn", false);
    d.motor_neuron_pool = ellipse("motor_neuron_pool", true);

    const std::vector<const toml::table*> tables = tables_at(top, "segment");
    if (tables.empty()) diag_.bad_key(diag_.file_label(), "segment", "at least one [[segment]] is required");
    if (tables.size() > 255) diag_.bad_key(diag_.file_label(), "segment", "at most 255 segments");
    for (std::size_t index = 0; index < tables.size(); ++index) {
      const TableReader seg(diag_, *tables[index], fmt::format("segment[{}]", index));
      seg.allow_only({"name", "length", "transverse_width", "dorsoventral_width", "gray_fraction",
                      "dorsal_horn_scale", "ventral_horn_scale"});
      SegmentShape s;
      s.name = read_nonempty_string(seg.require("name"), seg.path_of("name"));
      const TableReader named(diag_, *tables[index], fmt::format("segment[{}]", s.name));
      for (const SegmentShape& earlier : d.segments) {
        if (earlier.name == s.name) diag_.bad_value(named.require("name"), named.path_of("name"), "duplicate segment name");
      }
      s.length_um = read_positive(named.require("length"), named.path_of("length"), dim::length);
      s.transverse_width_um =
          read_positive(named.require("transverse_width"), named.path_of("transverse_width"), dim::length);
      s.dorsoventral_width_um =
          read_positive(named.require("dorsoventral_width"), named.path_of("dorsoventral_width"), dim::length);
      s.gray_fraction = read_plain_number(named.require("gray_fraction"), named.path_of("gray_fraction"), 0.0, 0.9);
      s.dorsal_horn_scale =
          read_plain_number(named.require("dorsal_horn_scale"), named.path_of("dorsal_horn_scale"), 0.1, 3.0);
      s.ventral_horn_scale =
          read_plain_number(named.require("ventral_horn_scale"), named.path_of("ventral_horn_scale"), 0.1, 3.0);
      d.segments.push_back(std::move(s));
    }
    return d;
  }

  AtlasDescription read_atlas(const TableReader& atlas) const {
    atlas.allow_only({"cord", "gray_matter", "white_matter", "levels", "segments"});
    AtlasDescription d;
    d.file = diag_.file_label();
    d.cord = read_existing_file(atlas.require("cord"), atlas.path_of("cord"));
    const auto optional_file = [&](const char* key) {
      const toml::node* node = atlas.find(key);
      return node == nullptr ? std::string() : read_existing_file(*node, atlas.path_of(key));
    };
    d.gray_matter = optional_file("gray_matter");
    d.white_matter = optional_file("white_matter");
    d.levels = optional_file("levels");
    if (const toml::node* node = atlas.find("segments")) d.segments = read_name_range(*node, atlas.path_of("segments"));
    return d;
  }

  TissueProperties read_properties(const TableReader& table) const {
    table.allow_only({"capillary_surface_density_gray", "capillary_surface_density_white",
                      "motor_neuron_density_ventral_horn", "microglia_density_gray", "microglia_density_white",
                      "astrocyte_density_gray", "astrocyte_density_white"});
    constexpr Dimension per_length{-1, 0, 0}, per_volume{-3, 0, 0};
    TissueProperties p;
    const auto set = [&](const char* key, Dimension d, double& value) {
      if (const toml::node* node = table.find(key)) value = read_nonnegative(*node, table.path_of(key), d);
    };
    set("capillary_surface_density_gray", per_length, p.capillary_surface_gray_per_um);
    set("capillary_surface_density_white", per_length, p.capillary_surface_white_per_um);
    set("motor_neuron_density_ventral_horn", per_volume, p.motor_neurons_per_ventral_horn_um3);
    set("microglia_density_gray", per_volume, p.microglia_gray_per_um3);
    set("microglia_density_white", per_volume, p.microglia_white_per_um3);
    set("astrocyte_density_gray", per_volume, p.astrocytes_gray_per_um3);
    set("astrocyte_density_white", per_volume, p.astrocytes_white_per_um3);
    return p;
  }

};

std::unique_ptr<GeometrySource> open_mesh_file(const GeometryRequest& request) {
  const std::string text = read_text_file(request.path, "mesh file");
  Diagnostics diagnostics(request.path);
  toml::table root;
  try {
    root = toml::parse(std::string_view(text), std::string_view(request.path));
  } catch (const toml::parse_error& error) {
    throw InputError(fmt::format("{}:{}:{}: TOML syntax error: {}", request.path, error.source().begin.line,
                                 error.source().begin.column, error.description()));
  }
  diagnostics.add_source(root.source().path, text, false);
  return MeshReader(diagnostics).read(root, request);
}

// A bare NIfTI file is the cord mask; the Spinal Cord Toolbox's sibling files <stem>_gm, <stem>_wm
// and <stem>_levels (stem = the name before "_cord") are used when they exist.
std::unique_ptr<GeometrySource> open_nifti(const GeometryRequest& request) {
  AtlasDescription atlas;
  atlas.name = std::filesystem::path(request.path).filename().string();
  atlas.file = request.path;
  atlas.cord = request.path;
  atlas.segments = request.segments;
  const std::string extension = ends_with(request.path, ".nii.gz") ? ".nii.gz" : ".nii";
  const std::string stem = request.path.substr(0, request.path.size() - extension.size());
  if (ends_with(stem, "_cord")) {
    const std::string base = stem.substr(0, stem.size() - 5);
    const auto sibling = [&](const char* suffix) {
      const std::string file = base + suffix + extension;
      std::error_code ec;
      return std::filesystem::is_regular_file(file, ec) ? file : std::string();
    };
    atlas.gray_matter = sibling("_gm");
    atlas.white_matter = sibling("_wm");
    atlas.levels = sibling("_levels");
  }
  return std::make_unique<NiftiAtlas>(std::move(atlas), request.voxel_um);
}

std::uint64_t meminfo_available_bytes() {
  std::ifstream meminfo("/proc/meminfo");
  std::string line;
  while (std::getline(meminfo, line)) {
    std::istringstream fields(line);
    std::string key;
    std::uint64_t kib = 0;
    if (fields >> key >> kib && key == "MemAvailable:") return kib * 1024;
  }
  return UINT64_MAX;  // unknown: do not refuse
}

}  // namespace

std::optional<std::uint64_t> memory_limit_from_environment() {
  const char* text = std::getenv("CORDSIM_MEMORY_LIMIT_BYTES");
  if (text == nullptr || *text == '\0') return std::nullopt;
  std::uint64_t bytes = 0;
  const char* end = text + std::strlen(text);
  const auto [stop, error] = std::from_chars(text, end, bytes);
  if (error != std::errc() || stop != end)
    throw InputError(fmt::format("CORDSIM_MEMORY_LIMIT_BYTES='{}': expected a whole number of bytes", text));
  return bytes;
}

std::uint64_t available_memory_bytes() {
  const std::uint64_t available = meminfo_available_bytes();
  const std::optional<std::uint64_t> cap = memory_limit_from_environment();
  return cap ? std::min(available, *cap) : available;
}

std::string available_memory_source() {
  const std::optional<std::uint64_t> cap = memory_limit_from_environment();
  if (cap && *cap < meminfo_available_bytes()) return fmt::format("CORDSIM_MEMORY_LIMIT_BYTES={}", *cap);
  return "MemAvailable of /proc/meminfo";
}

const char* tissue_name(Tissue t) {
  switch (t) {
    case Tissue::outside: return "outside (CSF)";
    case Tissue::white_matter: return "white matter";
    case Tissue::gray_matter: return "gray matter (intermediate)";
    case Tissue::dorsal_horn: return "dorsal horn";
    case Tissue::ventral_horn: return "ventral horn";
    case Tissue::motor_neuron_pool: return "motor-neuron pool (IX)";
    case Tissue::central_canal: return "central canal";
  }
  return "?";
}

std::vector<std::uint8_t> LabelledGrid::tissue_mask() const {
  std::vector<std::uint8_t> mask(tissue.size());
  std::transform(tissue.begin(), tissue.end(), mask.begin(), [](std::uint8_t t) { return std::uint8_t(is_parenchyma(t)); });
  return mask;
}

std::uint64_t TissueCounts::parenchyma() const {
  std::uint64_t n = 0;
  for (int c = 0; c < kTissueClasses; ++c) n += is_parenchyma(std::uint8_t(c)) ? per_class[std::size_t(c)] : 0;
  return n;
}

std::uint64_t TissueCounts::gray() const {
  std::uint64_t n = 0;
  for (int c = 0; c < kTissueClasses; ++c) n += is_gray(std::uint8_t(c)) ? per_class[std::size_t(c)] : 0;
  return n;
}

std::unique_ptr<GeometrySource> open_geometry(const GeometryRequest& request) {
  for (double h : request.voxel_um) {
    if (!(h > 0.0)) throw InputError(fmt::format("voxel size {} um: must be > 0", h));
  }
  std::error_code ec;
  if (!std::filesystem::is_regular_file(request.path, ec)) {
    throw InputError(fmt::format("cannot open geometry '{}': {}", request.path,
                                 std::filesystem::exists(request.path, ec) ? "not a regular file" : "no such file"));
  }
  return is_nifti(request.path) ? open_nifti(request) : open_mesh_file(request);
}

namespace {

// Accumulates the counts of one labelled slice.
void count_slice(const std::uint8_t* tissue, const std::uint8_t* segment, std::size_t n, TissueCounts& counts) {
  for (std::size_t v = 0; v < n; ++v) {
    ++counts.per_class[tissue[v]];
    if (segment[v] == 0) continue;
    const std::size_t s = segment[v] - 1u;
    ++counts.cord_per_segment[s];
    counts.gray_per_segment[s] += is_gray(tissue[v]);
  }
}

TissueCounts empty_counts(std::size_t segments) {
  TissueCounts counts;
  counts.cord_per_segment.assign(segments, 0);
  counts.gray_per_segment.assign(segments, 0);
  return counts;
}

void add(TissueCounts& total, const TissueCounts& part) {
  for (std::size_t c = 0; c < total.per_class.size(); ++c) total.per_class[c] += part.per_class[c];
  for (std::size_t s = 0; s < total.cord_per_segment.size(); ++s) {
    total.cord_per_segment[s] += part.cord_per_segment[s];
    total.gray_per_segment[s] += part.gray_per_segment[s];
  }
}

}  // namespace

LabelledGrid build_labelled_grid(const GeometrySource& source) {
  LabelledGrid labelled;
  labelled.grid = source.grid();
  labelled.segments = source.segments();
  labelled.properties = source.properties();
  const auto [nx, ny, nz] = labelled.grid.shape;
  const std::size_t slice = std::size_t(nx) * std::size_t(ny);
  labelled.tissue.resize(slice * std::size_t(nz));
  labelled.segment.resize(slice * std::size_t(nz));
#pragma omp parallel for schedule(dynamic)
  for (int k = 0; k < nz; ++k) {
    source.label_slice(k, labelled.tissue.data() + slice * std::size_t(k), labelled.segment.data() + slice * std::size_t(k));
  }
  if (std::none_of(labelled.tissue.begin(), labelled.tissue.end(), is_parenchyma)) {
    throw InputError(fmt::format("{}: no voxel centre of the {}x{}x{} grid lies in the parenchyma (white or gray matter); choose a smaller voxel",
                                 source.description(), nx, ny, nz));
  }
  return labelled;
}

TissueCounts count_tissue(const GeometrySource& source) {
  const auto [nx, ny, nz] = source.grid().shape;
  const std::size_t slice = std::size_t(nx) * std::size_t(ny);
  TissueCounts total = empty_counts(source.segments().size());
#pragma omp parallel
  {
    TissueCounts part = empty_counts(source.segments().size());
    std::vector<std::uint8_t> tissue(slice), segment(slice);
#pragma omp for schedule(dynamic)
    for (int k = 0; k < nz; ++k) {
      source.label_slice(k, tissue.data(), segment.data());
      count_slice(tissue.data(), segment.data(), slice, part);
    }
#pragma omp critical
    add(total, part);
  }
  return total;
}

TissueCounts count_tissue(const LabelledGrid& labelled) {
  TissueCounts counts = empty_counts(labelled.segments.size());
  count_slice(labelled.tissue.data(), labelled.segment.data(), labelled.voxels(), counts);
  return counts;
}

void check_memory(std::uint64_t voxels, double bytes_per_voxel, const std::string& what, const std::string& advice) {
  const double needed = double(voxels) * bytes_per_voxel;
  const std::uint64_t available = available_memory_bytes();
  if (needed > double(available)) {
    throw InputError(fmt::format(
        "{} needs {:.2f} GiB ({} voxels x {} bytes) but only {:.2f} GiB of memory is available ({}); {}", what,
        needed / double(1ull << 30), voxels, bytes_per_voxel, double(available) / double(1ull << 30),
        available_memory_source(), advice));
  }
}

GeometryRequest geometry_request(const GeometrySpec& spec) { return {spec.mesh, spec.voxel_um, spec.segments}; }

void resolve_geometry(Scenario& scenario) {
  if (scenario.geometry) scenario.grid = open_geometry(geometry_request(*scenario.geometry))->grid();
}

LabelledGrid build_scenario_geometry(const Scenario& scenario) {
  const std::unique_ptr<GeometrySource> source = open_geometry(geometry_request(*scenario.geometry));
  const GridSpec& grid = source->grid();
  if (grid.shape != scenario.grid.shape || grid.origin_um != scenario.grid.origin_um ||
      grid.spacing_um != scenario.grid.spacing_um) {
    throw std::logic_error("build_scenario_geometry: call resolve_geometry on the scenario first");
  }
  // A CPU run holds the back end's arrays, the problem's six float arrays per species (D_x, D_y,
  // D_z, k, S, c₀), one float output buffer per species, and the tissue and segment labels.
  const std::size_t species = scenario.species.size();
  const std::uint64_t voxels = std::uint64_t(grid.shape[0]) * std::uint64_t(grid.shape[1]) * std::uint64_t(grid.shape[2]);
  check_memory(voxels, backend_bytes_per_voxel(species) + 28.0 * double(species) + 2.0,
               fmt::format("scenario '{}' on {}", scenario.name, source->description()));
  return build_labelled_grid(*source);
}

void add_label_fields(RunOutput& output, const LabelledGrid& labelled) {
  // Categorical fields: ParaView shows the class and segment names in a legend (RunOutput).
  std::string classes;
  std::vector<std::string> class_names;
  for (int c = 0; c < kTissueClasses; ++c) {
    classes += fmt::format("{}{} {}", c == 0 ? "" : ", ", c, tissue_name(Tissue(c)));
    class_names.emplace_back(tissue_name(Tissue(c)));
  }
  output.add_static_field({"tissue_label", "1", "tissue class: " + classes}, labelled.tissue, class_names);
  std::string names;
  std::vector<std::string> segment_names = {"outside"};
  for (std::size_t s = 0; s < labelled.segments.size(); ++s) {
    names += fmt::format("{}{} {}", s == 0 ? "" : ", ", s + 1, labelled.segments[s].name);
    segment_names.push_back(labelled.segments[s].name);
  }
  output.add_static_field({"segment", "1", "segment: 0 outside, " + names}, labelled.segment, segment_names);
}

TissueFields tissue_fields(const LabelledGrid& labelled, const TissueCounts& counts) {
  const TissueProperties& p = labelled.properties;
  const std::size_t n = labelled.voxels();
  TissueFields f;
  f.capillary_surface_density.assign(n, 0.f);
  f.motor_neuron_density.assign(n, 0.f);
  f.microglia_density.assign(n, 0.f);
  f.astrocyte_density.assign(n, 0.f);
  // All motor neurons of the ventral horns sit in their pools (lamina IX).
  const double pool = double(counts.per_class[std::size_t(Tissue::motor_neuron_pool)]);
  const double horn = double(counts.per_class[std::size_t(Tissue::ventral_horn)]) + pool;
  const double pool_density = pool > 0 ? p.motor_neurons_per_ventral_horn_um3 * horn / pool : 0.0;
  // Output units: surface per volume in mm²/mm³ (1/mm), cells per mm³.
  constexpr double per_mm = 1e3, per_mm3 = 1e9;
  for (std::size_t v = 0; v < n; ++v) {
    const std::uint8_t t = labelled.tissue[v];
    if (!is_parenchyma(t)) continue;
    const bool gray = is_gray(t);
    f.capillary_surface_density[v] =
        float(per_mm * (gray ? p.capillary_surface_gray_per_um : p.capillary_surface_white_per_um));
    f.microglia_density[v] = float(per_mm3 * (gray ? p.microglia_gray_per_um3 : p.microglia_white_per_um3));
    f.astrocyte_density[v] = float(per_mm3 * (gray ? p.astrocytes_gray_per_um3 : p.astrocytes_white_per_um3));
    if (t == std::uint8_t(Tissue::motor_neuron_pool)) f.motor_neuron_density[v] = float(per_mm3 * pool_density);
  }
  return f;
}

}  // namespace cordsim
