#include "plot.h"

#include <cstdlib>

#include "io/atomic_file.h"

namespace swalp::cli {

bool run_gnuplot(const std::string& dir, const std::string& script, std::string& why) {
  if (std::system("command -v gnuplot > /dev/null 2>&1") != 0) {
    why = "gnuplot is not installed (Debian: gnuplot-nox)";
    return false;
  }
  io::write_file_atomic(dir + "/plot.gp", script);
  const std::string command = "cd '" + dir + "' && gnuplot plot.gp > /dev/null 2>&1";
  if (std::system(command.c_str()) != 0) {
    why = "gnuplot failed on " + dir + "/plot.gp";
    return false;
  }
  return true;
}

}  // namespace swalp::cli
