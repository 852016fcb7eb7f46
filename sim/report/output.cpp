#include "sim/report/output.hpp"

#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace kvsim::report {

void write_output(const std::string& directory, const std::vector<OutputFile>& files) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(directory, ec);
  if (ec) throw std::runtime_error("cannot create output directory " + directory + ": " +
                                   ec.message());
  std::vector<fs::path> temporaries;
  const auto cleanup = [&] {
    for (const auto& t : temporaries) fs::remove(t, ec);
  };
  for (const auto& [name, contents] : files) {
    const fs::path tmp = fs::path(directory) / ("." + name + ".tmp");
    temporaries.push_back(tmp);
    std::ofstream out(tmp, std::ios::binary);
    out << contents;
    if (!out) {
      cleanup();
      throw std::runtime_error("cannot write " + tmp.string());
    }
  }
  for (std::size_t i = 0; i < files.size(); ++i) {
    fs::rename(temporaries[i], fs::path(directory) / files[i].first, ec);
    if (ec) {
      cleanup();
      throw std::runtime_error("cannot write " + files[i].first + ": " + ec.message());
    }
  }
}

void write_file(const std::string& path, const std::string& contents) {
  const std::filesystem::path p(path);
  write_output(p.parent_path().empty() ? "." : p.parent_path().string(),
               {{p.filename().string(), contents}});
}

}  // namespace kvsim::report
