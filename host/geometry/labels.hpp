#pragma once
// The labelled grid: one tissue class and one segment index per voxel, from which the tissue mask
// and the per-voxel coefficients (capillary surface density, initial cell densities) derive.
// Produced by a GeometrySource (geometry.hpp): the parametric rodent cords of meshes/*.toml or a
// NIfTI atlas. Coordinates: x transverse (left → right), y dorsoventral (+y dorsal), z the cord
// axis (+z caudal), all in µm; the cord axis is the fibre direction of the white matter.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "host/config/scenario.hpp"

namespace cordsim {

// Tissue class of a voxel (stored as uint8 in the HDF5 dataset /grid/tissue_label).
enum class Tissue : std::uint8_t {
  outside = 0,            // CSF / pia / outside the cord: not simulated
  white_matter = 1,       // funiculi (dorsal, lateral, ventral)
  gray_matter = 2,        // intermediate zone (laminae VII, X); all gray matter of an atlas
  dorsal_horn = 3,        // laminae I–VI
  ventral_horn = 4,       // laminae VII–VIII outside the motor-neuron pools
  motor_neuron_pool = 5,  // lamina IX
  central_canal = 6,      // CSF-filled lumen: not simulated
};
inline constexpr int kTissueClasses = 7;

const char* tissue_name(Tissue t);

// Voxels that are simulated: the parenchyma (white and gray matter, horns, motor-neuron pools).
inline bool is_parenchyma(std::uint8_t label) {
  return label >= std::uint8_t(Tissue::white_matter) && label <= std::uint8_t(Tissue::motor_neuron_pool);
}
inline bool is_gray(std::uint8_t label) {
  return label >= std::uint8_t(Tissue::gray_matter) && label <= std::uint8_t(Tissue::motor_neuron_pool);
}
// The cord cross-section: parenchyma and the central canal.
inline bool is_cord(std::uint8_t label) { return label != std::uint8_t(Tissue::outside); }

// Per-class coefficients, internal units (µm⁻¹ for surface per volume, µm⁻³ for cells per volume).
// Defaults from ../shared/docs/science.md §4; a mesh file's [tissue_properties] overrides them.
struct TissueProperties {
  // Capillary surface per tissue volume: rat ventral horn 21 mm²/mm³ (H); white matter ≈ 1/3–1/4
  // of gray (L): 6 mm²/mm³.
  double capillary_surface_gray_per_um = 21e-3;
  double capillary_surface_white_per_um = 6e-3;
  // Motor neurons: ≈ 5,800 /mm³ averaged over the rat ventral horn (H); they all sit in lamina IX,
  // so the pools get the ventral horn's count: density = 5,800 · V(ventral horn + pools) / V(pools).
  double motor_neurons_per_ventral_horn_um3 = 5800e-9;
  // Baseline glia in gray matter: microglia 5,000–8,000 /mm³, astrocytes 12,000–18,000 /mm³ (L–M);
  // the white-matter values are not in science.md and default to the gray ones (L).
  double microglia_gray_per_um3 = 6500e-9;
  double microglia_white_per_um3 = 6500e-9;
  double astrocytes_gray_per_um3 = 15000e-9;
  double astrocytes_white_per_um3 = 15000e-9;
};

// A named stretch of the cord along z: a spinal segment (L1..L6) of a parametric cord or a
// vertebral level (T10..L1) of an atlas.
struct CordSegment {
  std::string name;
  double z_begin_um = 0.0;
  double z_end_um = 0.0;
  double centre_um() const { return 0.5 * (z_begin_um + z_end_um); }
};

struct LabelledGrid {
  GridSpec grid;
  std::vector<std::uint8_t> tissue;   // Tissue per voxel, memory order i + nx·(j + ny·k)
  std::vector<std::uint8_t> segment;  // 1-based index into `segments`; 0 = none (outside)
  std::vector<CordSegment> segments;
  TissueProperties properties;

  std::size_t voxels() const { return tissue.size(); }
  std::vector<std::uint8_t> tissue_mask() const;  // 1 = parenchyma
};

// Voxel counts per tissue class, and cord / gray voxels per segment.
struct TissueCounts {
  std::array<std::uint64_t, kTissueClasses> per_class{};
  std::vector<std::uint64_t> cord_per_segment;  // index = segment − 1
  std::vector<std::uint64_t> gray_per_segment;
  std::uint64_t parenchyma() const;
  std::uint64_t gray() const;
};

// Per-voxel fields derived from the labels (0 outside the parenchyma), float32 like the run's
// fields, in the units the literature uses (they are outputs for ParaView, not solver inputs).
struct TissueFields {
  std::vector<float> capillary_surface_density;  // mm²/mm³
  std::vector<float> motor_neuron_density;       // cells/mm³
  std::vector<float> microglia_density;
  std::vector<float> astrocyte_density;
};
TissueFields tissue_fields(const LabelledGrid& labelled, const TissueCounts& counts);

}  // namespace cordsim
