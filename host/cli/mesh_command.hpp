#pragma once
// `cordsim mesh MESH.toml|ATLAS.nii.gz --voxel 20um --out DIR [--dry-run]`.
#include <string>
#include <vector>

namespace cordsim {

struct MeshOptions {
  std::string input;                  // mesh TOML or NIfTI file
  std::string voxel = "20 um";        // one length for all axes
  std::string out_dir;                // empty: ./<input stem>_mesh
  std::vector<std::string> segments;  // {first} or {first, last} to crop to
  bool dry_run = false;               // print grid size, counts and memory; write nothing
  bool overwrite = false;
};

int mesh_command(const MeshOptions& options);

}  // namespace cordsim
