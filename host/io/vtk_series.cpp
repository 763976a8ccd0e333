#include "host/io/vtk_series.hpp"

#include <fmt/format.h>
#include <vtkCellData.h>
#include <vtkDataSetAttributes.h>
#include <vtkDoubleArray.h>
#include <vtkErrorCode.h>
#include <vtkFieldData.h>
#include <vtkFloatArray.h>
#include <vtkImageData.h>
#include <vtkNew.h>
#include <vtkStringArray.h>
#include <vtkUnsignedCharArray.h>
#include <vtkXMLImageDataWriter.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include "host/io/run_output.hpp"

namespace cordsim {

namespace fs = std::filesystem;

VtkSeries::VtkSeries(fs::path dir, const GridSpec& grid, std::vector<FieldDescription> fields,
                     const std::vector<std::uint8_t>& tissue_mask, bool float64, std::string time_unit)
    : dir_(std::move(dir)),
      grid_(grid),
      fields_(std::move(fields)),
      tissue_mask_(tissue_mask),
      ghost_(tissue_mask.size()),
      float64_(float64),
      time_unit_(std::move(time_unit)) {
  for (std::size_t v = 0; v < tissue_mask_.size(); ++v)
    ghost_[v] = tissue_mask_[v] != 0 ? 0 : std::uint8_t(vtkDataSetAttributes::HIDDENCELL);
  std::error_code ec;
  fs::create_directories(dir_ / "vtk", ec);
  if (ec) throw std::runtime_error(fmt::format("cannot create '{}': {}", (dir_ / "vtk").string(), ec.message()));
}

void VtkSeries::add_static_field(const FieldDescription& description, std::vector<std::uint8_t> values,
                                 std::vector<std::string> categories) {
  static_fields_.push_back({description.name, description.units, std::move(values), std::move(categories)});
}

void VtkSeries::add_static_field(const FieldDescription& description, std::vector<float> values) {
  static_fields_.push_back({description.name, description.units, std::move(values), {}});
}

void VtkSeries::write_frame(double time, const std::vector<const float*>& fields) {
  const auto [nx, ny, nz] = grid_.shape;
  const vtkIdType cells = vtkIdType(nx) * ny * nz;
  vtkNew<vtkImageData> image;
  // Extents count points: nx·ny·nz cells need (nx+1)·(ny+1)·(nz+1) points.
  image->SetExtent(0, nx, 0, ny, 0, nz);
  image->SetOrigin(grid_.origin_um.data());
  image->SetSpacing(grid_.spacing_um.data());

  vtkNew<vtkStringArray> units;
  units->SetName("units");
  for (std::size_t f = 0; f < fields_.size(); ++f) {
    if (float64_) {
      vtkNew<vtkDoubleArray> array;
      array->SetName(fields_[f].name.c_str());
      array->SetNumberOfValues(cells);
      for (vtkIdType v = 0; v < cells; ++v) array->SetValue(v, double(fields[f][v]));
      image->GetCellData()->AddArray(array);
    } else {
      vtkNew<vtkFloatArray> array;
      array->SetName(fields_[f].name.c_str());
      // VTK only reads the values while writing; save = 1 keeps it from freeing our memory.
      array->SetArray(const_cast<float*>(fields[f]), cells, 1);
      image->GetCellData()->AddArray(array);
    }
    units->InsertNextValue(fields_[f].name + "=" + fields_[f].units);
  }
  vtkNew<vtkUnsignedCharArray> mask;
  mask->SetName("tissue_mask");
  mask->SetArray(tissue_mask_.data(), cells, 1);
  image->GetCellData()->AddArray(mask);
  units->InsertNextValue("tissue_mask=1");
  // Outside voxels are hidden cells: ParaView leaves them out of slices, surfaces and pictures.
  vtkNew<vtkUnsignedCharArray> ghost;
  ghost->SetName(vtkDataSetAttributes::GhostArrayName());
  ghost->SetArray(ghost_.data(), cells, 1);
  image->GetCellData()->AddArray(ghost);
  for (auto& field : static_fields_) {
    if (auto* bytes = std::get_if<std::vector<std::uint8_t>>(&field.values)) {
      vtkNew<vtkUnsignedCharArray> array;
      array->SetName(field.name.c_str());
      array->SetArray(bytes->data(), cells, 1);
      image->GetCellData()->AddArray(array);
    } else {
      auto& floats = std::get<std::vector<float>>(field.values);
      vtkNew<vtkFloatArray> array;
      array->SetName(field.name.c_str());
      array->SetArray(floats.data(), cells, 1);
      image->GetCellData()->AddArray(array);
    }
    units->InsertNextValue(field.name + "=" + field.units);
    if (!field.categories.empty()) {
      vtkNew<vtkStringArray> annotations;
      annotations->SetName((field.name + "_annotations").c_str());
      for (std::size_t v = 0; v < field.categories.size(); ++v) {
        annotations->InsertNextValue(std::to_string(v));
        annotations->InsertNextValue(field.categories[v]);
      }
      image->GetFieldData()->AddArray(annotations);
    }
  }

  vtkNew<vtkDoubleArray> time_value;
  time_value->SetName("TimeValue");
  time_value->InsertNextValue(time);
  image->GetFieldData()->AddArray(time_value);
  vtkNew<vtkStringArray> time_unit;
  time_unit->SetName("time_unit");
  time_unit->InsertNextValue(time_unit_);
  image->GetFieldData()->AddArray(time_unit);
  vtkNew<vtkStringArray> length_unit;
  length_unit->SetName("length_unit");
  length_unit->InsertNextValue("um");
  image->GetFieldData()->AddArray(length_unit);
  image->GetFieldData()->AddArray(units);

  const std::string relative = frame_file(frames_.size());
  const fs::path path = dir_ / relative;
  vtkNew<vtkXMLImageDataWriter> writer;
  writer->SetFileName(path.c_str());
  writer->SetInputData(image);
  writer->SetDataModeToAppended();
  writer->EncodeAppendedDataOff();   // raw binary: no base64 inflation
  writer->SetCompressorTypeToLZ4();  // fast, and ParaView 5.11 reads it
  errno = 0;
  // Write() may report success when the file could not be opened: the writer's error code says.
  const int written = writer->Write();
  const unsigned long code = writer->GetErrorCode();
  if (written != 1 || code != vtkErrorCode::NoError) {
    const int error = errno;
    throw std::runtime_error(fmt::format("cannot write VTK file '{}': {}", path.string(),
                                         error != 0 ? std::strerror(error) : fmt::format("VTK error code {}", code)));
  }
  frames_.emplace_back(time, relative);
}

std::string VtkSeries::frame_file(std::size_t index) { return fmt::format("vtk/frame_{:06d}.vti", index); }

void VtkSeries::resume(const std::vector<double>& times) {
  frames_.clear();
  for (std::size_t i = 0; i < times.size(); ++i) frames_.emplace_back(times[i], frame_file(i));
  std::error_code ec;
  for (std::size_t i = times.size();; ++i) {
    const fs::path path = dir_ / frame_file(i);
    if (!fs::exists(fs::symlink_status(path, ec))) break;
    if (!fs::remove(path, ec) || ec)
      throw std::runtime_error(fmt::format("cannot remove '{}' (written after the checkpoint): {}", path.string(),
                                           ec ? ec.message() : "not removed"));
  }
}

void VtkSeries::write_collection() const {
  const fs::path tmp = dir_ / (std::string(collection_name) + ".tmp");
  const fs::path dest = dir_ / collection_name;
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << "<?xml version=\"1.0\"?>\n"
        << "<VTKFile type=\"Collection\" version=\"0.1\" byte_order=\"LittleEndian\">\n"
        // ParaView reads no unit from a PVD: the comment says it (the .vti files hold it too).
        << fmt::format("  <!-- cordsim: timestep in {}, time_unit=\"{}\" -->\n",
                       time_unit_ == "d" ? "days" : time_unit_ == "s" ? "seconds" : time_unit_, time_unit_)
        << "  <Collection>\n";
    for (const auto& [time, file] : frames_)
      out << fmt::format("    <DataSet timestep=\"{}\" group=\"\" part=\"0\" file=\"{}\"/>\n", time, file);
    out << "  </Collection>\n</VTKFile>\n";
    out.close();
    if (!out) throw std::runtime_error(fmt::format("cannot write '{}': {}", tmp.string(), std::strerror(errno)));
  }
  std::error_code ec;
  fs::rename(tmp, dest, ec);
  if (ec) throw std::runtime_error(fmt::format("cannot rename '{}' to '{}': {}", tmp.string(), dest.string(), ec.message()));
}

}  // namespace cordsim
