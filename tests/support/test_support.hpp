#pragma once
// What many test files need and used to write again each: a temporary directory removed with its
// object, whole-file text reads and writes, and running a shell command (cordsim itself, usually)
// with its exit status and its output captured.
#include <stdlib.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace cordsim::test {

namespace fs = std::filesystem;

inline const fs::path kSourceDir(CORDSIM_SOURCE_DIR);

// A fresh directory under the system temp dir, named `<prefix>_XXXXXX`, removed with the object
// even where a test made parts of it read-only (the unwritable-output tests do).
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "cordsim_test") {
    std::string pattern = (fs::temp_directory_path() / (prefix + "_XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("cannot create a temporary directory");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ec);
    for (auto it = fs::recursive_directory_iterator(path_, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec))
      fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& name) const { return path_ / name; }
  // Writes `text` to the file `name` in the directory and returns its path.
  fs::path write(const std::string& name, const std::string& text) const {
    const fs::path file = path_ / name;
    std::ofstream(file, std::ios::binary) << text;
    return file;
  }

 private:
  fs::path path_;
};

inline std::string read_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline void write_text(const fs::path& file, const std::string& text) {
  std::ofstream out(file, std::ios::binary);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + file.string());
}

inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::string line;
  for (char c : text) {
    if (c == '\n') {
      lines.push_back(line);
      line.clear();
    } else {
      line += c;
    }
  }
  if (!line.empty()) lines.push_back(line);
  return lines;
}

// `text` as one single-quoted shell word.
inline std::string shell_quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

struct CommandResult {
  int status = -1;     // the exit status; −1 if the command did not exit normally
  std::string output;  // stdout and stderr together
};

// Runs `command` through /bin/sh with stderr joined to stdout.
inline CommandResult run_shell(const std::string& command) {
  CommandResult r;
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen((command + " 2>&1").c_str(), "r"), &::pclose);
  if (!pipe) throw std::runtime_error("cannot run: " + command);
  std::array<char, 4096> buffer{};
  std::size_t n = 0;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe.get())) > 0) r.output.append(buffer.data(), n);
  const int raw = ::pclose(pipe.release());
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return r;
}

// Runs the cordsim binary under test with `arguments` (already shell words) in `cwd`, so that
// default output directories land there.
inline CommandResult run_cordsim(const std::string& arguments, const fs::path& cwd = fs::current_path()) {
  return run_shell("cd " + shell_quote(cwd.string()) + " && " + CORDSIM_EXE + " " + arguments);
}

inline CommandResult run_cordsim(const std::vector<std::string>& args, const fs::path& cwd = fs::current_path()) {
  std::string arguments;
  for (const auto& a : args) arguments += (arguments.empty() ? "" : " ") + shell_quote(a);
  return run_cordsim(arguments, cwd);
}

inline bool mentions(const CommandResult& r, const std::string& text) {
  return r.output.find(text) != std::string::npos;
}

}  // namespace cordsim::test
