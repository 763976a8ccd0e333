#pragma once
// Atlas import: NIfTI-1 (or -2) volumes of a cord atlas resampled onto the simulation grid.
//
// Each volume is placed in world space by its header (the sform when sform_code > 0, else the
// qform, else the voxel sizes alone), world coordinates in mm with NIfTI's RAS+ convention. The
// simulation frame keeps x (right), turns posterior into +y (dorsal) and inferior into +z
// (caudal): p_sim = 1000 · (X, −Y, −Z) µm, a rotation, so no mirror image.
// A simulation voxel centre is mapped back into each volume's index space and sampled there:
// trilinearly for probability maps (cord, gray matter, white matter), by nearest neighbour for the
// level labels. A voxel is cord where the cord map is ≥ 0.5, and gray where its gray share
// g/(g + w) reaches a threshold τ_l of its level. τ_l keeps the level's probability-weighted gray
// fraction Σ p_gray / (cord voxels) of the atlas: a fixed 0.5 on interpolated maps loses thin gray
// structures (−7.6% of the gray fraction at T10 of PAM50 at 0.25 mm), and one τ for the whole crop
// still misses single levels by −4% to +3.5% (docs/geometry.md).
// Levels follow the Spinal Cord Toolbox's vertebral numbering: 1..7 = C1..C7, 8..19 = T1..T12,
// 20..25 = L1..L6, 26.. = S1...
#include <string>
#include <vector>

#include "host/geometry/geometry.hpp"

namespace cordsim {

struct AtlasDescription {
  std::string name;
  std::string file;          // the mesh TOML (or the NIfTI file itself), for messages
  std::string cord;          // required: cord mask or probability
  std::string gray_matter;   // optional: gray-matter probability (without it, all cord is white)
  std::string white_matter;  // optional: white-matter probability (without it, gray ≥ 0.5)
  std::string levels;        // optional: vertebral level labels (required to crop)
  std::vector<std::string> segments;  // {first, last} level names to crop to; empty: all
  TissueProperties properties;
};

// "C1".."C7", "T1".."T12", "L1".."L6", "S1".. for level values 1, 2, ...
std::string vertebral_level_name(int level);

// A volume in memory: values as float (scl_slope applied) and its index ↔ world (mm) maps.
struct NiftiVolume {
  std::string file;
  std::array<int, 3> dims{0, 0, 0};
  std::vector<float> values;      // i fastest
  double to_world[3][4]{};        // (x, y, z) = M · (i, j, k, 1)
  double to_index[3][4]{};        // its inverse
  float at(int i, int j, int k) const;  // 0 outside the volume
  float trilinear(const double ijk[3]) const;
  float nearest(const double ijk[3]) const;
  void index_of_sim_point(const double p_um[3], double ijk[3]) const;
  void sim_point_of_index(const double ijk[3], double p_um[3]) const;
};

// Throws InputError naming the file when it is missing, not NIfTI, or not a 3-D volume.
NiftiVolume read_nifti_volume(const std::string& file);

class NiftiAtlas : public GeometrySource {
 public:
  NiftiAtlas(AtlasDescription description, const Vec3& voxel_um);

  const GridSpec& grid() const override { return grid_; }
  const std::vector<CordSegment>& segments() const override { return segments_; }
  const TissueProperties& properties() const override { return description_.properties; }
  std::string description() const override;
  void label_slice(int k, std::uint8_t* tissue, std::uint8_t* segment) const override;

 private:
  struct Sample {
    bool inside = false;     // cord, at a level inside the crop
    int segment = 0;         // 1-based
    float gray_share = 0.f;  // g / (g + w); without a white-matter map w = 1 − g
  };
  Sample sample(const double p_um[3]) const;
  void calibrate_gray_thresholds(const std::vector<double>& atlas_gray_fraction);  // per segment

  AtlasDescription description_;
  NiftiVolume cord_, gray_, white_, levels_;
  std::vector<float> gray_threshold_;  // τ per segment; empty without a gray-matter map
  int first_level_ = 0, last_level_ = 0;  // 0: no level volume (one segment "cord")
  std::vector<CordSegment> segments_;
  GridSpec grid_;
};

}  // namespace cordsim
