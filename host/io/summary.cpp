#include "host/io/summary.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>

namespace cordsim {
namespace {

std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (const char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", int(static_cast<unsigned char>(c)));
        } else {
          out += c;  // UTF-8 passes through unchanged, as JSON allows
        }
    }
  }
  return out + "\"";
}

// fmt's "{}" gives the shortest text that reads back to the same double ("0.1", "3", "1e-05").
std::string number_text(double value) { return std::isfinite(value) ? fmt::format("{}", value) : "null"; }

// A recursive-descent reader for the one shape these files have: { "key": scalar, ... }.
class FlatJsonParser {
 public:
  FlatJsonParser(const std::string& text, const std::string& label) : text_(text), label_(label) {}

  RunSummary parse() {
    RunSummary summary;
    skip_space();
    expect('{');
    skip_space();
    if (peek() == '}') {
      ++at_;
    } else {
      for (;;) {
        skip_space();
        const std::string key = read_string();
        skip_space();
        expect(':');
        skip_space();
        read_value(summary, key);
        skip_space();
        if (peek() == ',') {
          ++at_;
          continue;
        }
        expect('}');
        break;
      }
    }
    skip_space();
    if (at_ != text_.size()) fail("text after the closing '}'");
    return summary;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error(fmt::format("{}: byte {}: {} (expected a flat JSON object of numbers and strings)",
                                         label_, at_, what));
  }

  char peek() const { return at_ < text_.size() ? text_[at_] : '\0'; }

  void expect(char c) {
    if (peek() != c) fail(at_ < text_.size() ? fmt::format("expected '{}', found '{}'", c, text_[at_])
                                             : fmt::format("expected '{}' at the end of the text", c));
    ++at_;
  }

  void skip_space() {
    while (at_ < text_.size() && (text_[at_] == ' ' || text_[at_] == '\n' || text_[at_] == '\r' || text_[at_] == '\t'))
      ++at_;
  }

  static void append_utf8(std::string& out, unsigned code) {
    if (code < 0x80) {
      out += char(code);
    } else if (code < 0x800) {
      out += char(0xC0 | (code >> 6));
      out += char(0x80 | (code & 0x3F));
    } else {
      out += char(0xE0 | (code >> 12));
      out += char(0x80 | ((code >> 6) & 0x3F));
      out += char(0x80 | (code & 0x3F));
    }
  }

  std::string read_string() {
    expect('"');
    std::string out;
    for (;;) {
      if (at_ >= text_.size()) fail("unterminated string");
      const char c = text_[at_++];
      if (c == '"') return out;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (at_ >= text_.size()) fail("unterminated string");
      const char escape = text_[at_++];
      switch (escape) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          unsigned code = 0;
          if (at_ + 4 > text_.size()) fail("short \\u escape");
          const auto [end, error] = std::from_chars(text_.data() + at_, text_.data() + at_ + 4, code, 16);
          if (error != std::errc() || end != text_.data() + at_ + 4) fail("bad \\u escape");
          at_ += 4;
          append_utf8(out, code);  // the files we write escape only control characters
          break;
        }
        default: fail(fmt::format("unknown escape '\\{}'", escape));
      }
    }
  }

  void read_value(RunSummary& summary, const std::string& key) {
    const char c = peek();
    if (c == '"') {
      summary.add(key, read_string());
    } else if (c == '{' || c == '[') {
      fail(fmt::format("\"{}\" holds a nested value", key));
    } else if (text_.compare(at_, 4, "null") == 0) {
      at_ += 4;
      summary.add(key, std::numeric_limits<double>::quiet_NaN());
    } else if (text_.compare(at_, 4, "true") == 0) {
      at_ += 4;
      summary.add(key, "true");
    } else if (text_.compare(at_, 5, "false") == 0) {
      at_ += 5;
      summary.add(key, "false");
    } else {
      double value = 0.0;
      const auto [end, error] = std::from_chars(text_.data() + at_, text_.data() + text_.size(), value);
      if (error != std::errc() || end == text_.data() + at_) fail(fmt::format("\"{}\" has no value", key));
      at_ = std::size_t(end - text_.data());
      summary.add(key, value);
    }
  }

  const std::string& text_;
  const std::string& label_;
  std::size_t at_ = 0;
};

}  // namespace

void RunSummary::add(const std::string& key, double value) {
  for (Entry& entry : entries_) {
    if (entry.first == key) {
      entry.second = value;
      return;
    }
  }
  entries_.emplace_back(key, value);
}

void RunSummary::add(const std::string& key, std::string value) {
  for (Entry& entry : entries_) {
    if (entry.first == key) {
      entry.second = std::move(value);
      return;
    }
  }
  entries_.emplace_back(key, std::move(value));
}

const RunSummary::Value* RunSummary::find(const std::string& key) const {
  for (const Entry& entry : entries_) {
    if (entry.first == key) return &entry.second;
  }
  return nullptr;
}

std::string RunSummary::to_json() const {
  std::string out = "{";
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    const auto& [key, value] = entries_[i];
    out += i == 0 ? "\n  " : ",\n  ";
    out += json_string(key) + ": ";
    out += std::holds_alternative<double>(value) ? number_text(std::get<double>(value))
                                                 : json_string(std::get<std::string>(value));
  }
  return out + (entries_.empty() ? "}\n" : "\n}\n");
}

void RunSummary::write(const std::filesystem::path& dir, const std::string& name) const {
  const std::filesystem::path file = dir / name;
  std::ofstream out(file, std::ios::binary);
  out << to_json();
  out.close();
  if (!out) throw std::runtime_error(fmt::format("cannot write '{}': {}", file.string(), std::strerror(errno)));
}

RunSummary parse_flat_json(const std::string& text, const std::string& label) {
  return FlatJsonParser(text, label).parse();
}

RunSummary read_flat_json(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error(fmt::format("cannot open '{}': {}", file.string(), std::strerror(errno)));
  std::ostringstream text;
  text << in.rdbuf();
  return parse_flat_json(text.str(), file.string());
}

std::string csv_quote(const std::string& text) {
  const bool needs_quotes = text.find_first_of(",\"\n\r") != std::string::npos ||
                            (!text.empty() && (text.front() == ' ' || text.back() == ' '));
  if (!needs_quotes) return text;
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string csv_cell(const RunSummary::Value& value) {
  if (const double* number = std::get_if<double>(&value)) return std::isfinite(*number) ? number_text(*number) : "";
  return csv_quote(std::get<std::string>(value));
}

}  // namespace cordsim
