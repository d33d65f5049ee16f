// Shared by the libFuzzer harnesses: most readers take a path, so each input is written to one
// temporary file per process (in /dev/shm when it exists) and read back through the real code.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

namespace tgraph::fuzz {

inline const std::string& input_path(const char* ext) {
  static const std::string p = [ext] {
    const char* dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    return std::string(dir) + "/tgraph_fuzz_" + std::to_string(getpid()) + ext;
  }();
  return p;
}

inline const std::string& write_input(const uint8_t* data, size_t size, const char* ext) {
  const std::string& p = input_path(ext);
  FILE* f = std::fopen(p.c_str(), "wb");
  if (f) {
    if (size) std::fwrite(data, 1, size, f);
    std::fclose(f);
  }
  return p;
}

}  // namespace tgraph::fuzz
