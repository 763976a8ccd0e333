#include "host/geometry/cross_section_png.hpp"

#include <fmt/format.h>
#include <png.h>

#include <array>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace cordsim {
namespace {

// One RGB colour per Tissue value, in enum order.
constexpr std::array<std::array<std::uint8_t, 3>, kTissueClasses> kColours = {{
    {20, 30, 60},     // outside (CSF): dark blue
    {235, 235, 225},  // white matter: off-white
    {150, 150, 150},  // gray matter (intermediate): gray
    {110, 160, 210},  // dorsal horn: light blue
    {230, 150, 90},   // ventral horn: orange
    {200, 30, 40},    // motor-neuron pool: red
    {60, 200, 230},   // central canal: cyan
}};

}  // namespace

void write_cross_section_png(const std::filesystem::path& file, const LabelledGrid& labelled, int k,
                             int pixels_per_voxel) {
  const int nx = labelled.grid.shape[0], ny = labelled.grid.shape[1];
  const int width = nx * pixels_per_voxel, height = ny * pixels_per_voxel;
  std::vector<std::uint8_t> rgb(std::size_t(width) * std::size_t(height) * 3);
  const std::size_t slice = std::size_t(nx) * std::size_t(ny) * std::size_t(k);
  for (int row = 0; row < height; ++row) {
    const int j = ny - 1 - row / pixels_per_voxel;  // image rows run top (dorsal, +y) to bottom
    for (int column = 0; column < width; ++column) {
      const int i = column / pixels_per_voxel;
      const std::uint8_t label = labelled.tissue[slice + std::size_t(i) + std::size_t(nx) * std::size_t(j)];
      const auto& colour = kColours[label < kTissueClasses ? label : 0];
      std::memcpy(&rgb[(std::size_t(row) * std::size_t(width) + std::size_t(column)) * 3], colour.data(), 3);
    }
  }
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  image.width = png_uint_32(width);
  image.height = png_uint_32(height);
  image.format = PNG_FORMAT_RGB;
  if (!png_image_write_to_file(&image, file.c_str(), 0, rgb.data(), 0, nullptr)) {
    const std::string reason = image.message;
    png_image_free(&image);
    throw std::runtime_error(fmt::format("cannot write PNG '{}': {}", file.string(), reason));
  }
}

}  // namespace cordsim
