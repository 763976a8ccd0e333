#pragma once
// ParaView's native format beside the HDF5/XDMF files: one VTK XML image-data file per output
// time (vtk/frame_NNNNNN.vti, written by the VTK library, cell data with the physical origin and
// spacing in µm) and a cordsim.pvd collection that gives each file its time. Arrays are named by
// field; their units travel as a field-data string array "units" ("NO=nM", ...), the time as
// field data "TimeValue" with its unit in "time_unit" ("s", or "d" for an ALS run; the PVD's
// timesteps are in that unit too, and a comment in cordsim.pvd names it). Voxels outside the
// tissue are hidden: the cell array vtkGhostType holds vtkDataSetAttributes::HIDDENCELL (32)
// there and 0 in the tissue, so that ParaView draws and slices the tissue only.
#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <variant>
#include <vector>

#include "host/config/scenario.hpp"

namespace cordsim {

struct FieldDescription;

class VtkSeries {
 public:
  // `dir` is the run's (staging) directory; frames go to dir/vtk/, the collection to dir/cordsim.pvd.
  // float64: write the fields as double arrays (the scenario's output.precision). `time_unit`:
  // the unit of the times given to write_frame and resume ("s" or "d").
  VtkSeries(std::filesystem::path dir, const GridSpec& grid, std::vector<FieldDescription> fields,
            const std::vector<std::uint8_t>& tissue_mask, bool float64 = false, std::string time_unit = "s");

  // A field that does not change over the run (tissue labels, segment index, cell densities):
  // written into every frame, so that each .vti is complete on its own.
  // `categories` (optional): the name of each value; written as the field-data string array
  // <name>_annotations, pairs of value and name as ParaView's lookup-table Annotations take them.
  void add_static_field(const FieldDescription& description, std::vector<std::uint8_t> values,
                        std::vector<std::string> categories = {});
  void add_static_field(const FieldDescription& description, std::vector<float> values);

  // Writes one frame; `fields[f]` points at nx·ny·nz values of field f. Throws std::runtime_error
  // naming the file when VTK cannot write it.
  void write_frame(double time, const std::vector<const float*>& fields);

  // Writes cordsim.pvd (under a temporary name, then renamed).
  void write_collection() const;

  // A resumed run (RunOutput's resume_frames): the frames at `times` are on disk already; any
  // later frame files are removed, to be written again.
  void resume(const std::vector<double>& times);

  // The file of frame `index`, relative to the run directory: vtk/frame_NNNNNN.vti.
  static std::string frame_file(std::size_t index);

  static constexpr const char* collection_name = "cordsim.pvd";

 private:
  std::filesystem::path dir_;
  GridSpec grid_;
  std::vector<FieldDescription> fields_;
  std::vector<std::uint8_t> tissue_mask_;
  std::vector<std::uint8_t> ghost_;  // vtkGhostType: HIDDENCELL outside the tissue
  bool float64_ = false;
  std::string time_unit_;
  struct StaticField {
    std::string name, units;
    std::variant<std::vector<std::uint8_t>, std::vector<float>> values;
    std::vector<std::string> categories;
  };
  std::vector<StaticField> static_fields_;
  std::vector<std::pair<double, std::string>> frames_;  // time, file relative to dir_
};

}  // namespace cordsim
