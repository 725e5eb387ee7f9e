// Throughput of every format x {nearest, stochastic} next to a memory copy and the scalar
// reference loop, measured in the same run. Usage: bench_quantize [N] [THREADS] [--json]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "quantize_timing.h"

int main(int argc, char** argv) try {
  size_t n = size_t(1) << 26;
  int threads = 0;
  bool json = false;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--json") == 0)
      json = true;
    else
      positional.push_back(argv[i]);
  }
  if (positional.size() > 0) n = std::strtoull(positional[0].c_str(), nullptr, 10);
  if (positional.size() > 1) threads = std::atoi(positional[1].c_str());
  if (n == 0) {
    std::fprintf(stderr, "usage: bench_quantize [N > 0] [THREADS] [--json]\n");
    return 2;
  }
  const std::vector<std::string> formats = swalp::bench::bench_format_spellings();
  if (!json)
    std::printf(
        "| format | rounding | Gelem/s | copy Gelem/s | ratio to copy | naive Gelem/s | speedup "
        "over naive |\n"
        "|---|---|---|---|---|---|---|\n");
  for (const auto& format : formats) {
    for (const char* rounding : {"nearest", "stochastic"}) {
      const auto spec = swalp::make_quant_spec(format, rounding, 1);
      const auto t = swalp::bench::time_quantize(spec, n, threads, 5, std::min<size_t>(n, 1 << 22));
      if (json)
        std::printf("%s\n", t.json().c_str());
      else
        std::printf("| %s | %s | %.3f | %.3f | %.0f%% | %.4f | %.0fx |\n", t.format.c_str(),
                    t.rounding.c_str(), t.gelem_s, t.copy_gelem_s, 100 * t.ratio(), t.naive_gelem_s,
                    t.gelem_s / t.naive_gelem_s);
      std::fflush(stdout);
    }
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "bench_quantize: error: %s\n", e.what());
  return 2;
}
