#pragma once
// HDF5 handles and error messages shared by the writers of host/io (run_output.cpp,
// checkpoint.cpp). Internal to host/io.
#include <hdf5.h>

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <utility>

namespace cordsim::hdf5 {

namespace fs = std::filesystem;

// ---- HDF5 handles and errors -------------------------------------------------------------------

// One HDF5 id with the function that releases it; closing errors in the destructor are ignored
// (it may run during unwinding), the explicit close() reports them.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  Handle(Handle&& other) noexcept : id_(std::exchange(other.id_, H5I_INVALID_HID)), closer_(other.closer_) {}
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) {
      close();
      id_ = std::exchange(other.id_, H5I_INVALID_HID);
      closer_ = other.closer_;
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { close(); }

  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  // Gives the id up without closing it (a collective close that other ranks would never join).
  hid_t release() { return std::exchange(id_, H5I_INVALID_HID); }
  herr_t close() {
    herr_t status = 0;
    if (id_ >= 0 && closer_ != nullptr) status = closer_(id_);
    id_ = H5I_INVALID_HID;
    return status;
  }

 private:
  hid_t id_ = H5I_INVALID_HID;
  Closer closer_ = nullptr;
};

// HDF5 prints its whole error stack to stderr on every failed call unless told not to; we build
// one message per failure instead (file, object, and HDF5's most specific reason).
inline void silence_hdf5_error_printing() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

// The innermost message of HDF5's current error stack (e.g. "unable to open file: name = ...,
// errno = 2, ..."), or "" when there is none. Clears the stack.
inline std::string hdf5_error_detail() {
  std::string detail;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_DOWNWARD,
      [](unsigned, const H5E_error2_t* err, void* data) -> herr_t {
        if (err->desc != nullptr && err->desc[0] != '\0') *static_cast<std::string*>(data) = err->desc;
        return 0;
      },
      &detail);
  H5Eclear2(H5E_DEFAULT);
  return detail;
}

// A failed system call's description in HDF5 1.10 spans lines and lists buffer addresses
// ("file write failed: time = ...\n, filename = ..., errno = 28, error message = 'No space left on
// device', buf = 0x..."); only its first words and the system's message are kept.
inline std::string condensed_hdf5_detail(const std::string& detail) {
  const std::string key = "error message = '";
  const std::size_t at = detail.find(key);
  if (at == std::string::npos) return detail;
  const std::size_t begin = at + key.size(), end = detail.find('\'', begin);
  if (end == std::string::npos) return detail;
  const std::size_t head = std::min(detail.find(':'), detail.find(','));
  const std::string reason = detail.substr(begin, end - begin);
  return head == std::string::npos || head > at ? reason : detail.substr(0, head) + ": " + reason;
}

inline std::string with_detail(std::string message) {
  const std::string detail = condensed_hdf5_detail(hdf5_error_detail());
  if (!detail.empty()) message += " (HDF5: " + detail + ")";
  return message;
}

[[noreturn]] inline void throw_hdf5(const fs::path& file, const std::string& action) {
  throw std::runtime_error(with_detail(fmt::format("HDF5 error in '{}': cannot {}", file.string(), action)));
}

// File access properties: HDF5 ≥ 1.10.7 locks files and fails on file systems without lock
// support (common on Lustre/NFS scratch); keep locking where it works, ignore it where it doesn't.
inline Handle file_access_properties(const fs::path& file) {
  Handle fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  if (!fapl.valid()) throw_hdf5(file, "create file access properties");
#if H5_VERSION_GE(1, 10, 7)
  if (H5Pset_file_locking(fapl.get(), true, true) < 0) throw_hdf5(file, "set file locking properties");
#endif
  return fapl;
}

// A variable-length UTF-8 string type: h5py reads such attributes as str, ParaView ignores them.
inline Handle string_type(const fs::path& file) {
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  if (!type.valid() || H5Tset_size(type.get(), H5T_VARIABLE) < 0 ||
      H5Tset_cset(type.get(), H5T_CSET_UTF8) < 0)
    throw_hdf5(file, "create a string type");
  return type;
}


}  // namespace cordsim::hdf5
