#include "host/io/checkpoint.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>
#include <limits>
#include <stdexcept>
#include <system_error>
#include <type_traits>
#include <utility>

#include "host/io/hdf5_util.hpp"
#include "host/io/run_output.hpp"
#include "host/io/stop_signals.hpp"

namespace cordsim {
namespace {

namespace fs = std::filesystem;
using namespace hdf5;

constexpr const char* kDirName = "checkpoints";
constexpr const char* kPrefix = "checkpoint_";
constexpr const char* kSuffix = ".h5";
constexpr int kFormat = 1;

std::string join_lines(const std::vector<std::string>& items) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? "\n" : "") + items[i];
  return out;
}

// "checkpoint_000012.h5" → 12; -1 for any other name.
long sequence_of(const fs::path& file) {
  const std::string name = file.filename().string();
  const std::size_t prefix = std::strlen(kPrefix), suffix = std::strlen(kSuffix);
  if (name.size() <= prefix + suffix || name.compare(0, prefix, kPrefix) != 0 ||
      name.compare(name.size() - suffix, suffix, kSuffix) != 0)
    return -1;
  const std::string digits = name.substr(prefix, name.size() - prefix - suffix);
  if (digits.empty() || digits.size() > 12 || !std::all_of(digits.begin(), digits.end(), ::isdigit)) return -1;
  return std::stol(digits);
}

}  // namespace

void sync_to_disk(const fs::path& path, bool directory) {
  const int fd = ::open(path.c_str(), directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
  if (fd < 0) throw std::runtime_error(fmt::format("cannot open '{}' to sync it: {}", path.string(), std::strerror(errno)));
  const int status = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  // Some file systems cannot sync a directory (EINVAL); the rename is still atomic there.
  if (status != 0 && !(directory && (error == EINVAL || error == EROFS)))
    throw std::runtime_error(fmt::format("cannot sync '{}' to disk: {}", path.string(), std::strerror(error)));
}

namespace {

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

// Single-quoted for a POSIX shell.
std::string shell_quote(const std::string& text) {
  if (!text.empty() && text.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./=") ==
                           std::string::npos)
    return text;
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

// ---- writer ------------------------------------------------------------------------------------

struct CheckpointWriter::Impl {
  fs::path file;
  std::array<int, 3> shape{0, 0, 0};
  Handle h5;
  Handle lcpl;  // creates intermediate groups

  hid_t root() const { return h5.get(); }

  void attr(const char* name, hid_t file_type, hid_t mem_type, const void* data) {
    Handle space(H5Screate(H5S_SCALAR), H5Sclose);
    Handle a(H5Acreate2(root(), name, file_type, space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
    if (!space.valid() || !a.valid() || H5Awrite(a.get(), mem_type, data) < 0 || a.close() < 0)
      throw_hdf5(file, fmt::format("write attribute '{}'", name));
  }
  void attr_text(const char* name, const std::string& value) {
    Handle type = string_type(file);
    const char* ptr = value.c_str();
    attr(name, type.get(), type.get(), &ptr);
  }

  void dataset(const std::string& name, hid_t file_type, hid_t mem_type, const std::vector<hsize_t>& dims,
               const void* data) {
    Handle space(dims.empty() ? H5Screate(H5S_SCALAR) : H5Screate_simple(int(dims.size()), dims.data(), nullptr),
                 H5Sclose);
    if (!space.valid()) throw_hdf5(file, fmt::format("create the dataspace of '{}'", name));
    Handle d(H5Dcreate2(root(), name.c_str(), file_type, space.get(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT),
             H5Dclose);
    if (!d.valid()) throw_hdf5(file, fmt::format("create dataset '{}'", name));
    bool empty = false;
    for (hsize_t n : dims) empty = empty || n == 0;
    if (!empty && H5Dwrite(d.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
      throw_hdf5(file, fmt::format("write dataset '{}'", name));
    if (d.close() < 0) throw_hdf5(file, fmt::format("close dataset '{}'", name));
  }

  // A grid field (dims {nz, ny, nx}) stored in its own floating-point type.
  template <class T>
  void field(const std::string& name, const std::vector<T>& values) {
    if (values.size() != std::size_t(shape[0]) * std::size_t(shape[1]) * std::size_t(shape[2]))
      throw std::invalid_argument(fmt::format("CheckpointWriter::field: '{}' has {} values", name, values.size()));
    constexpr bool f64 = std::is_same_v<T, double>;
    dataset(name, f64 ? H5T_IEEE_F64LE : H5T_IEEE_F32LE, f64 ? H5T_NATIVE_DOUBLE : H5T_NATIVE_FLOAT,
            {hsize_t(shape[2]), hsize_t(shape[1]), hsize_t(shape[0])}, values.data());
  }
};

CheckpointWriter::CheckpointWriter(const fs::path& file, const CheckpointHeader& header,
                                   const std::array<int, 3>& shape)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.file = file;
  m.shape = shape;
  silence_hdf5_error_printing();
  {
    Handle fapl = file_access_properties(file);
    m.h5 = Handle(H5Fcreate(file.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()), H5Fclose);
    // Before fapl is closed: every HDF5 call clears the error stack, and with it the reason.
    if (!m.h5.valid()) throw_hdf5(file, "create the file");
  }
  m.lcpl = Handle(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
  if (!m.lcpl.valid() || H5Pset_create_intermediate_group(m.lcpl.get(), 1) < 0)
    throw_hdf5(file, "set up link creation properties");
  const int format = header.format;
  m.attr("format", H5T_STD_I32LE, H5T_NATIVE_INT, &format);
  m.attr_text("kind", header.kind);
  m.attr_text("cordsim_version", header.version);
  m.attr_text("backend", header.backend);
  m.attr_text("scenario_file", header.scenario_file);
  m.attr_text("scenario_text", header.scenario_text);
  m.attr_text("scenario_overrides", header.scenario_overrides);
  m.attr("time_s", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &header.time_s);
  m.attr("frames", H5T_STD_I64LE, H5T_NATIVE_INT64, &header.frames);
  m.attr("sequence", H5T_STD_I64LE, H5T_NATIVE_INT64, &header.sequence);
  m.attr("wall_s", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &header.wall_s);
  m.attr_text("written_at", header.written_at);
  m.attr("mpi_ranks", H5T_STD_I64LE, H5T_NATIVE_INT64, &header.ranks);
}

CheckpointWriter::~CheckpointWriter() = default;

void CheckpointWriter::scalar(const std::string& name, double value) {
  impl_->dataset(name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, {}, &value);
}

void CheckpointWriter::integer(const std::string& name, std::int64_t value) {
  impl_->dataset(name, H5T_STD_I64LE, H5T_NATIVE_INT64, {}, &value);
}

void CheckpointWriter::text(const std::string& name, const std::string& value) {
  Handle type = string_type(impl_->file);
  const char* ptr = value.c_str();
  impl_->dataset(name, type.get(), type.get(), {}, &ptr);
}

void CheckpointWriter::texts(const std::string& name, const std::vector<std::string>& values) {
  Handle type = string_type(impl_->file);
  std::vector<const char*> ptrs;
  for (const auto& v : values) ptrs.push_back(v.c_str());
  impl_->dataset(name, type.get(), type.get(), {hsize_t(values.size())}, ptrs.data());
}

void CheckpointWriter::doubles(const std::string& name, const std::vector<double>& values) {
  impl_->dataset(name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, {hsize_t(values.size())}, values.data());
}

void CheckpointWriter::integers(const std::string& name, const std::vector<std::int64_t>& values) {
  impl_->dataset(name, H5T_STD_I64LE, H5T_NATIVE_INT64, {hsize_t(values.size())}, values.data());
}

void CheckpointWriter::field(const std::string& name, const std::vector<float>& values) {
  impl_->field(name, values);
}

void CheckpointWriter::field(const std::string& name, const std::vector<double>& values) {
  impl_->field(name, values);
}

void CheckpointWriter::close() {
  if (!impl_->h5.valid()) return;
  if (H5Fflush(impl_->h5.get(), H5F_SCOPE_GLOBAL) < 0) throw_hdf5(impl_->file, "flush the file");
  if (impl_->h5.close() < 0) throw_hdf5(impl_->file, "close the file");
}

// ---- reader ------------------------------------------------------------------------------------

struct CheckpointReader::Impl {
  fs::path file;
  CheckpointHeader header;
  Handle h5;

  [[noreturn]] void fail(const std::string& what) const {
    throw InputError(with_detail(fmt::format("checkpoint '{}': {}", file.string(), what)));
  }

  Handle attribute(const char* name) const {
    Handle a(H5Aopen(h5.get(), name, H5P_DEFAULT), H5Aclose);
    if (!a.valid()) fail(fmt::format("no attribute '{}' (not a cordsim checkpoint?)", name));
    return a;
  }
  template <class T>
  T attr_number(const char* name, hid_t mem_type) const {
    Handle a = attribute(name);
    T value{};
    if (H5Aread(a.get(), mem_type, &value) < 0) fail(fmt::format("cannot read attribute '{}'", name));
    return value;
  }
  std::string attr_text(const char* name) const {
    Handle a = attribute(name);
    Handle type = string_type(file);
    char* ptr = nullptr;
    if (H5Aread(a.get(), type.get(), &ptr) < 0) fail(fmt::format("cannot read attribute '{}'", name));
    std::string value = ptr ? ptr : "";
    H5free_memory(ptr);
    return value;
  }

  bool has(const std::string& name) const {
    // H5Lexists fails on a missing intermediate group: check each prefix.
    for (std::size_t pos = name.find('/');; pos = name.find('/', pos + 1)) {
      const std::string prefix = name.substr(0, pos);
      if (H5Lexists(h5.get(), prefix.c_str(), H5P_DEFAULT) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return false;
      }
      if (pos == std::string::npos) return true;
    }
  }

  // Opens a dataset and returns it with its element count.
  Handle open(const std::string& name, hsize_t* count) const {
    if (!has(name)) fail(fmt::format("no item '{}'", name));
    Handle d(H5Dopen2(h5.get(), name.c_str(), H5P_DEFAULT), H5Dclose);
    if (!d.valid()) fail(fmt::format("cannot open item '{}'", name));
    Handle space(H5Dget_space(d.get()), H5Sclose);
    const hssize_t n = space.valid() ? H5Sget_simple_extent_npoints(space.get()) : -1;
    if (n < 0) fail(fmt::format("cannot read the size of item '{}'", name));
    *count = hsize_t(n);
    return d;
  }

  template <class T>
  std::vector<T> read(const std::string& name, hid_t mem_type) const {
    hsize_t n = 0;
    Handle d = open(name, &n);
    std::vector<T> values(n);
    if (n > 0 && H5Dread(d.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) < 0)
      fail(fmt::format("cannot read item '{}'", name));
    return values;
  }

  std::vector<std::string> read_texts(const std::string& name) const {
    hsize_t n = 0;
    Handle d = open(name, &n);
    Handle type = string_type(file);
    std::vector<char*> ptrs(n, nullptr);
    if (n > 0 && H5Dread(d.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()) < 0)
      fail(fmt::format("cannot read item '{}'", name));
    std::vector<std::string> values;
    for (char* p : ptrs) {
      values.emplace_back(p ? p : "");
      H5free_memory(p);
    }
    return values;
  }
};

CheckpointReader::CheckpointReader(const fs::path& file) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.file = file;
  silence_hdf5_error_printing();
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) m.fail("no such file");
  if (H5Fis_hdf5(file.c_str()) <= 0) m.fail("not an HDF5 file");
  {
    Handle fapl = file_access_properties(file);
    m.h5 = Handle(H5Fopen(file.c_str(), H5F_ACC_RDONLY, fapl.get()), H5Fclose);
    // Before fapl is closed: every HDF5 call clears the error stack, and with it the reason.
    if (!m.h5.valid()) m.fail("cannot open the file");
  }
  CheckpointHeader& h = m.header;
  h.format = m.attr_number<int>("format", H5T_NATIVE_INT);
  if (h.format != kFormat) m.fail(fmt::format("format {} is not the format {} this cordsim reads", h.format, kFormat));
  h.kind = m.attr_text("kind");
  h.version = m.attr_text("cordsim_version");
  h.backend = m.attr_text("backend");
  h.scenario_file = m.attr_text("scenario_file");
  h.scenario_text = m.attr_text("scenario_text");
  h.scenario_overrides = m.attr_text("scenario_overrides");
  h.time_s = m.attr_number<double>("time_s", H5T_NATIVE_DOUBLE);
  h.frames = m.attr_number<std::int64_t>("frames", H5T_NATIVE_INT64);
  h.sequence = m.attr_number<std::int64_t>("sequence", H5T_NATIVE_INT64);
  h.wall_s = m.attr_number<double>("wall_s", H5T_NATIVE_DOUBLE);
  h.written_at = m.attr_text("written_at");
  // Added with decomposed runs; the format is otherwise the same, so older files still read.
  const htri_t has_ranks = H5Aexists(m.h5.get(), "mpi_ranks");
  if (has_ranks < 0) m.fail("cannot look up attribute 'mpi_ranks'");
  if (has_ranks > 0) h.ranks = m.attr_number<std::int64_t>("mpi_ranks", H5T_NATIVE_INT64);
}

CheckpointReader::~CheckpointReader() = default;
CheckpointReader::CheckpointReader(CheckpointReader&&) noexcept = default;
CheckpointReader& CheckpointReader::operator=(CheckpointReader&&) noexcept = default;

const fs::path& CheckpointReader::path() const { return impl_->file; }
const CheckpointHeader& CheckpointReader::header() const { return impl_->header; }
bool CheckpointReader::has(const std::string& name) const { return impl_->has(name); }

double CheckpointReader::scalar(const std::string& name) const {
  const auto v = impl_->read<double>(name, H5T_NATIVE_DOUBLE);
  if (v.size() != 1) impl_->fail(fmt::format("item '{}' is not one number", name));
  return v[0];
}

std::int64_t CheckpointReader::integer(const std::string& name) const {
  const auto v = impl_->read<std::int64_t>(name, H5T_NATIVE_INT64);
  if (v.size() != 1) impl_->fail(fmt::format("item '{}' is not one integer", name));
  return v[0];
}

std::string CheckpointReader::text(const std::string& name) const {
  const auto v = impl_->read_texts(name);
  if (v.size() != 1) impl_->fail(fmt::format("item '{}' is not one text", name));
  return v[0];
}

std::vector<std::string> CheckpointReader::texts(const std::string& name) const { return impl_->read_texts(name); }

std::vector<double> CheckpointReader::doubles(const std::string& name) const {
  return impl_->read<double>(name, H5T_NATIVE_DOUBLE);
}

std::vector<double> CheckpointReader::doubles(const std::string& name, std::size_t size, std::size_t begin,
                                              std::size_t count) const {
  const Impl& m = *impl_;
  hsize_t n = 0;
  Handle d = m.open(name, &n);
  if (n != hsize_t(size)) m.fail(fmt::format("item '{}' has {} values, expected {}", name, n, size));
  if (begin + count > size)
    throw std::invalid_argument(fmt::format("CheckpointReader::doubles: values [{}, {}) of {}", begin, begin + count,
                                            size));
  std::vector<double> values(count);
  if (count == 0) return values;
  Handle space(H5Dget_space(d.get()), H5Sclose);
  const hsize_t start[1] = {hsize_t(begin)}, length[1] = {hsize_t(count)};
  Handle memory(H5Screate_simple(1, length, nullptr), H5Sclose);
  if (!space.valid() || !memory.valid() ||
      H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, start, nullptr, length, nullptr) < 0 ||
      H5Dread(d.get(), H5T_NATIVE_DOUBLE, memory.get(), space.get(), H5P_DEFAULT, values.data()) < 0)
    m.fail(fmt::format("cannot read values [{}, {}) of item '{}'", begin, begin + count, name));
  return values;
}

std::vector<std::int64_t> CheckpointReader::integers(const std::string& name) const {
  return impl_->read<std::int64_t>(name, H5T_NATIVE_INT64);
}

template <class T>
std::vector<T> CheckpointReader::field(const std::string& name, std::size_t size) const {
  std::vector<T> values = impl_->read<T>(name, std::is_same_v<T, double> ? H5T_NATIVE_DOUBLE : H5T_NATIVE_FLOAT);
  if (values.size() != size)
    impl_->fail(fmt::format("item '{}' has {} values, the grid {}", name, values.size(), size));
  return values;
}
template std::vector<float> CheckpointReader::field<float>(const std::string&, std::size_t) const;
template std::vector<double> CheckpointReader::field<double>(const std::string&, std::size_t) const;

template <class T>
std::vector<T> CheckpointReader::field_planes(const std::string& name, const std::array<int, 3>& shape, int z_begin,
                                              int z_end) const {
  const Impl& m = *impl_;
  hsize_t n = 0;
  Handle d = m.open(name, &n);
  Handle space(H5Dget_space(d.get()), H5Sclose);
  hsize_t dims[3] = {0, 0, 0};
  if (!space.valid() || H5Sget_simple_extent_ndims(space.get()) != 3 ||
      H5Sget_simple_extent_dims(space.get(), dims, nullptr) < 0 || dims[0] != hsize_t(shape[2]) ||
      dims[1] != hsize_t(shape[1]) || dims[2] != hsize_t(shape[0]))
    m.fail(fmt::format("item '{}' is not a field of the grid {} x {} x {}", name, shape[0], shape[1], shape[2]));
  if (z_begin < 0 || z_end > shape[2] || z_begin >= z_end)
    throw std::invalid_argument(fmt::format("CheckpointReader::field_planes: planes [{}, {}) of {}", z_begin, z_end,
                                            shape[2]));
  const hsize_t start[3] = {hsize_t(z_begin), 0, 0};
  const hsize_t count[3] = {hsize_t(z_end - z_begin), dims[1], dims[2]};
  std::vector<T> values(std::size_t(count[0] * count[1] * count[2]));
  Handle memory(H5Screate_simple(3, count, nullptr), H5Sclose);
  // HDF5 converts a field stored in the other floating-point type.
  const hid_t type = std::is_same_v<T, double> ? H5T_NATIVE_DOUBLE : H5T_NATIVE_FLOAT;
  if (!memory.valid() || H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, start, nullptr, count, nullptr) < 0 ||
      H5Dread(d.get(), type, memory.get(), space.get(), H5P_DEFAULT, values.data()) < 0)
    m.fail(fmt::format("cannot read planes [{}, {}) of item '{}'", z_begin, z_end, name));
  return values;
}
template std::vector<float> CheckpointReader::field_planes<float>(const std::string&, const std::array<int, 3>&, int,
                                                                  int) const;
template std::vector<double> CheckpointReader::field_planes<double>(const std::string&, const std::array<int, 3>&, int,
                                                                    int) const;

// ---- files -------------------------------------------------------------------------------------

fs::path checkpoint_dir(const fs::path& staging_dir) { return staging_dir / kDirName; }

std::vector<fs::path> checkpoint_files(const fs::path& staging_dir) {
  std::vector<std::pair<long, fs::path>> found;
  std::error_code ec;
  for (fs::directory_iterator it(checkpoint_dir(staging_dir), ec), end; !ec && it != end; it.increment(ec)) {
    const long sequence = sequence_of(it->path());
    if (sequence >= 0 && it->is_regular_file(ec)) found.emplace_back(sequence, it->path());
  }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<fs::path> files;
  for (auto& [sequence, path] : found) files.push_back(std::move(path));
  return files;
}

std::optional<CheckpointReader> open_newest_checkpoint(const fs::path& staging_dir) {
  for (const fs::path& file : checkpoint_files(staging_dir)) {
    try {
      return CheckpointReader(file);
    } catch (const InputError& e) {
      spdlog::warn("{}; trying the previous checkpoint", e.what());
    }
  }
  return std::nullopt;
}

void check_checkpoint_matches(const CheckpointReader& checkpoint, const Scenario& scenario, const std::string& kind,
                              const std::string& version) {
  const CheckpointHeader& h = checkpoint.header();
  const std::string file = checkpoint.path().string();
  if (h.kind != kind) {
    throw InputError(fmt::format("--resume: checkpoint '{}' is of a {} run, but scenario '{}' is a {} run", file,
                                 h.kind, scenario.file, kind));
  }
  if (h.scenario_text != scenario.text) {
    // Name the first line that differs.
    std::size_t line = 1, i = 0;
    const std::string& a = h.scenario_text;
    const std::string& b = scenario.text;
    while (i < a.size() && i < b.size() && a[i] == b[i]) {
      if (a[i] == '\n') ++line;
      ++i;
    }
    throw InputError(fmt::format(
        "--resume: checkpoint '{}' belongs to another scenario: the text of '{}' (with its bases) differs from "
        "the one the run started with ('{}') from line {} on; resume with the scenario the run started with, or "
        "start a new run (--overwrite discards the checkpoint)",
        file, scenario.file, h.scenario_file, line));
  }
  const std::string overrides = join_lines(scenario.overrides);
  if (h.scenario_overrides != overrides) {
    const auto shown = [](const std::string& text) {
      std::string out = text.empty() ? "(none)" : text;
      std::replace(out.begin(), out.end(), '\n', ' ');
      return out;
    };
    throw InputError(fmt::format(
        "--resume: checkpoint '{}' was written with --set {} but this run has --set {}; pass the same overrides "
        "as the run that wrote it",
        file, shown(h.scenario_overrides), shown(overrides)));
  }
  if (h.version != version) {
    spdlog::warn("checkpoint '{}' was written by cordsim {}, this is {}: the resumed run may differ in the last bits "
                 "from one that was never stopped",
                 file, h.version, version);
  }
}

ResumeTarget resume_target(const fs::path& dir) {
  fs::path p = dir;
  if (p.filename() == "." || p.filename() == "..") p = fs::absolute(p).lexically_normal();
  while (!p.has_filename() && p.has_relative_path()) p = p.parent_path();
  const std::string name = p.filename().string();
  const std::string suffix = ".partial";
  ResumeTarget target;
  if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
    target.staging = p;
    target.out_dir = p.parent_path() / name.substr(0, name.size() - suffix.size());
  } else {
    target.out_dir = p;
    target.staging = p;
    target.staging += suffix;
  }
  return target;
}

// ---- schedule ----------------------------------------------------------------------------------

Checkpoints::Checkpoints(CheckpointSettings settings, const Scenario& scenario, std::string kind, std::string version,
                         std::string backend, double start_time_s, double wall_s_before)
    : settings_(settings),
      scenario_(scenario),
      kind_(std::move(kind)),
      version_(std::move(version)),
      backend_(std::move(backend)),
      wall_s_before_(wall_s_before) {
  if (settings_.interval_s) next_due_s_ = (std::floor(start_time_s / *settings_.interval_s * (1.0 + 1e-12)) + 1.0) *
                                          *settings_.interval_s;
}

void Checkpoints::resumed_from(const CheckpointReader& checkpoint) {
  last_ = checkpoint.path();
  last_time_ = checkpoint.header().time_s;
}

void Checkpoints::set_ranks(int count, std::function<long long(long long)> largest_over_ranks) {
  ranks_ = count;
  largest_over_ranks_ = std::move(largest_over_ranks);
}

bool Checkpoints::due_now() {
  const bool wall_due = settings_.wall_every_s > 0.0 &&
                        std::chrono::duration<double>(Clock::now() - last_wall_).count() >= settings_.wall_every_s;
  if (!largest_over_ranks_) return stop_requested() || wall_due;
  // One collective for both: 2·signal + wall. Its largest value over the ranks is nonzero when
  // any rank is due, and holds a signal when any rank received one.
  const long long agreed = largest_over_ranks_(2LL * stop_signal() + (wall_due ? 1 : 0));
  if (agreed >= 2) agreed_signal_ = int(agreed / 2);
  return agreed != 0;
}

bool Checkpoints::due_at(double t_s) {
  if (due_now()) return true;
  if (settings_.interval_s && t_s >= next_due_s_ * (1.0 - 1e-12)) return true;
  return stop_after(t_s);
}

bool Checkpoints::stop_after(double t_s) const {
  return signal() != 0 || (settings_.stop_at_s && t_s >= *settings_.stop_at_s * (1.0 - 1e-12));
}

int Checkpoints::signal() const { return largest_over_ranks_ ? agreed_signal_ : stop_signal(); }

double Checkpoints::wall_s() const {
  return wall_s_before_ + std::chrono::duration<double>(Clock::now() - started_).count();
}

void Checkpoints::write(double t_s, RunOutput& output, const std::vector<std::string>& species,
                        const std::function<void(std::size_t, std::vector<real>&)>& download,
                        const std::function<void(CheckpointWriter&)>& fill) {
  const fs::path staging = output.staging_dir();
  const fs::path dir = checkpoint_dir(staging);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error(fmt::format("cannot create the checkpoint directory '{}': {}", dir.string(), ec.message()));
  // Everything the checkpoint refers to (frames, mass budget lines) reaches the disk first.
  output.sync();

  const std::vector<fs::path> existing = checkpoint_files(staging);
  CheckpointHeader header;
  header.kind = kind_;
  header.version = version_;
  header.backend = backend_;
  header.scenario_file = scenario_.file;
  header.scenario_text = scenario_.text;
  header.scenario_overrides = join_lines(scenario_.overrides);
  header.time_s = t_s;
  header.frames = std::int64_t(output.frames_written());
  header.sequence = existing.empty() ? 1 : sequence_of(existing.front()) + 1;
  header.wall_s = wall_s();
  header.written_at = utc_now();
  header.ranks = ranks_;
  const fs::path file = dir / fmt::format("{}{:06d}{}", kPrefix, header.sequence, kSuffix);
  fs::path tmp = file;
  tmp += ".tmp";
  try {
    const auto& shape = scenario_.grid.shape;
    CheckpointWriter writer(tmp, header, shape);
    const std::size_t voxels = std::size_t(shape[0]) * std::size_t(shape[1]) * std::size_t(shape[2]);
    std::vector<real> buffer(voxels);
    for (std::size_t s = 0; s < species.size(); ++s) {
      download(s, buffer);
      writer.field("fields/" + species[s], buffer);
    }
    fill(writer);
    writer.close();
    sync_to_disk(tmp);
    fs::rename(tmp, file, ec);
    if (ec) throw std::runtime_error(fmt::format("cannot rename '{}' to '{}': {}", tmp.string(), file.string(), ec.message()));
    sync_to_disk(dir, true);
  } catch (...) {
    fs::remove(tmp, ec);
    throw;
  }
  last_ = file;
  last_time_ = t_s;
  output.keep_staging_on_failure();
  // Only now that the new one is complete: keep the last two, and no stray temporary files.
  for (std::size_t i = 1; i < existing.size(); ++i) fs::remove(existing[i], ec);
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".tmp") == 0) {
      std::error_code ignored;
      fs::remove(it->path(), ignored);
    }
  }
  scheduled(t_s);
  spdlog::info("checkpoint at t = {:.6g} s: {}", t_s, file.string());
}

void Checkpoints::written_elsewhere(double t_s) {
  last_time_ = t_s;
  scheduled(t_s);
}

void Checkpoints::scheduled(double t_s) {
  last_wall_ = Clock::now();
  if (settings_.interval_s)
    next_due_s_ = (std::floor(t_s / *settings_.interval_s * (1.0 + 1e-12)) + 1.0) * *settings_.interval_s;
}

std::string Checkpoints::resume_command() const {
  if (!resume_command_.empty()) return resume_command_;
  std::string command = "cordsim run";
  if (scenario_.file != "<built-in demo>") command += " " + shell_quote(scenario_.file);
  for (const std::string& o : scenario_.overrides) command += " --set " + shell_quote(o);
  const fs::path staging = last_ ? last_->parent_path().parent_path() : fs::path("OUT.partial");
  return command + " --resume " + shell_quote(staging.string());
}

std::string Checkpoints::kept_note() const {
  if (!last_) return "";
  return fmt::format("; the last checkpoint (t = {:.6g} s) is kept in '{}': resume with {}", last_time_,
                     last_->string(), resume_command());
}

}  // namespace cordsim
