// `swalp bench comm`: codec throughput next to a memory copy; under mpirun, the time of the fp32
// allreduce against the compressed exchange per message size with the break-even size; and a
// performance model of data-parallel speedup for 1..96 workers (Dettmers 2016, section 5).
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "commands.h"
#include "io/atomic_file.h"
#include "perf_model/speedup_model.h"
#include "plot.h"
#include "strict_numbers.h"
#include "swalp/codec.h"
#include "swalp/error.h"
#include "timing.h"
#ifdef SWALP_HAVE_MPI
#include <mpi.h>

#include "distributed/mpi_exchange.h"
#endif

namespace swalp::cli {

namespace {

struct BenchCommArgs {
  std::string codec = "dt8", out;
  int min_log2 = 10, max_log2 = 24, repetitions = 5;
  size_t block = 0;  // codec values per scale; 0 = one scale per message
  // Performance model: parameters, compute seconds per iteration, link GB/s, latency.
  double parameters = 61e6, compute_s = 0.2, link_gbps = 5.0, latency_s = 5e-6;
};

#ifdef SWALP_HAVE_MPI
double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}
#endif

// The copy split over the OpenMP threads, as the codec is: the bandwidth of every core.
void parallel_copy(const float* in, float* out, size_t n) {
  const int threads = omp_get_max_threads();
#pragma omp parallel for schedule(static)
  for (int t = 0; t < threads; ++t) {
    const size_t begin = n * size_t(t) / size_t(threads), end = n * size_t(t + 1) / size_t(threads);
    std::memcpy(out + begin, in + begin, (end - begin) * sizeof(float));
  }
}

}  // namespace

void register_bench_comm(CLI::App& bench) {
  static BenchCommArgs a;
  auto* cmd = bench.add_subcommand(
      "comm", "Codec throughput, fp32 allreduce vs compressed exchange (mpirun), speedup model");
  cmd->add_option("--codec", a.codec, "dt8 | st8 | int8 | fp8e4m3 | fp8e5m2 | sign1")
      ->capture_default_str();
  cmd->add_option("--min-log2", a.min_log2, "Smallest message: 2^this floats")
      ->capture_default_str()
      ->check(CLI::Range(1, 28));
  cmd->add_option("--max-log2", a.max_log2, "Largest message: 2^this floats")
      ->capture_default_str()
      ->check(CLI::Range(1, 28));
  cmd->add_option("--repetitions", a.repetitions, "Timed repetitions (the best counts)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--block", a.block, "Codec throughput: values per scale (0: one per message)")
      ->capture_default_str();
  cmd->add_option("--parameters", a.parameters, "Model: gradient size in parameters")
      ->capture_default_str()
      ->check(greater_than(0));
  cmd->add_option("--compute-seconds", a.compute_s, "Model: compute time per iteration")
      ->capture_default_str()
      ->check(at_least(0));
  cmd->add_option("--link-gbps", a.link_gbps, "Model: link bandwidth, GB/s")
      ->capture_default_str()
      ->check(greater_than(0));
  cmd->add_option("--latency", a.latency_s, "Model: seconds per message hop")
      ->capture_default_str()
      ->check(at_least(0));
  cmd->add_option("--out", a.out, "Directory for summary.json");
  cmd->callback([] {
    if (a.min_log2 > a.max_log2) throw InvalidInput("--min-log2 must not exceed --max-log2");
    const Codec& codec = codec_by_name(a.codec);
    int rank = 0, workers = 1;
#ifdef SWALP_HAVE_MPI
    static distributed::MpiSession session(nullptr, nullptr);
    rank = session.rank();
    workers = session.size();
#endif
    const bool print = rank == 0;
    nlohmann::json summary = {{"codec", a.codec}, {"workers", workers}};

    // 1. Codec throughput on 2^max_log2 values, next to a memory copy.
    const size_t n = size_t(1) << a.max_log2;
    std::vector<float> values(n), copy(n), decoded(n);
    for (size_t i = 0; i < n; ++i) values[i] = float(std::sin(double(i) * 0.37) * 1e-3);
    EncodedMessage message;
    EncodeOptions nearest, stochastic;
    nearest.block = stochastic.block = a.block;
    // sign1 has no stochastic form: its "stochastic" run repeats the nearest one.
    const bool has_stochastic = codec.kind != CodecKind::kSign1;
    stochastic.stochastic = has_stochastic;
    // Interleaved, so the copy and the codec see the same load; decode reads the nearest
    // message encoded just before it.
    const std::vector<double> seconds = bench::best_seconds_interleaved(
        a.repetitions, {[&] { std::memcpy(copy.data(), values.data(), n * 4); },
                        [&] { parallel_copy(values.data(), copy.data(), n); },
                        [&] { encode(codec, values.data(), n, stochastic, message); },
                        [&] { encode(codec, values.data(), n, nearest, message); },
                        [&] { decode(codec, message, decoded.data()); }});
    const double copy_s = seconds[0], parallel_copy_s = seconds[1], stochastic_s = seconds[2],
                 encode_s = seconds[3], decode_s = seconds[4];
    const double gb = double(n) * 4 / 1e9;
    const double encode_gbps = gb / encode_s, decode_gbps = gb / decode_s;
    const double round_trip_gbps = gb / (encode_s + decode_s), copy_gbps = gb / copy_s;
    const double parallel_copy_gbps = gb / parallel_copy_s;
    char stochastic_text[40] = "no stochastic form";
    if (has_stochastic)
      std::snprintf(stochastic_text, sizeof stochastic_text, "stochastic %.2f", gb / stochastic_s);
    if (print)
      std::printf(
          "codec %s on %zu floats, %s (GB/s of fp32 input, %d threads): encode %.2f "
          "(%s), decode %.2f, encode+decode %.2f = %.0f%% of the memory copy "
          "%.2f, %.0f%% of the copy split over the threads %.2f\n",
          a.codec.c_str(), n,
          a.block ? ("one scale per " + std::to_string(a.block) + " values").c_str()
                  : "one scale per message",
          omp_get_max_threads(), encode_gbps, stochastic_text, decode_gbps, round_trip_gbps,
          100 * round_trip_gbps / copy_gbps, copy_gbps, 100 * round_trip_gbps / parallel_copy_gbps,
          parallel_copy_gbps);
    summary["block"] = a.block;
    summary["encode_gbps"] = encode_gbps;
    summary["stochastic_encode_gbps"] =
        has_stochastic ? nlohmann::json(gb / stochastic_s) : nlohmann::json(nullptr);
    summary["decode_gbps"] = decode_gbps;
    summary["encode_decode_gbps"] = round_trip_gbps;
    summary["copy_gbps"] = copy_gbps;
    summary["parallel_copy_gbps"] = parallel_copy_gbps;

    // 2. The exchanges, when there are workers to exchange with.
    nlohmann::json timings = nlohmann::json::array();
#ifdef SWALP_HAVE_MPI
    if (workers > 1) {
      if (print)
        std::printf(
            "\n%d workers: seconds per exchange (best of %d), %s compressed by all-gather "
            "and by reduce-scatter\n%12s %12s %12s %8s %15s %8s\n",
            workers, a.repetitions, a.codec.c_str(), "floats", "fp32", "all-gather", "ratio",
            "reduce-scatter", "ratio");
      int64_t break_even = -1;
      for (int k = a.min_log2; k <= a.max_log2; k += 2) {
        const size_t m = size_t(1) << k;
        std::vector<float> buffer(values.begin(), values.begin() + m);
        auto timed = [&](auto&& exchange) {
          double best = 1e300;
          for (int r = 0; r < a.repetitions; ++r) {
            MPI_Barrier(MPI_COMM_WORLD);
            const auto start = std::chrono::steady_clock::now();
            exchange();
            double s = seconds_since(start), slowest = 0;
            MPI_Allreduce(&s, &slowest, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
            best = std::min(best, slowest);
          }
          return best;
        };
        const double fp32 = timed([&] { distributed::fp32_average(buffer.data(), m); });
        const double packed =
            timed([&] { distributed::compressed_average(codec, buffer.data(), m, a.block); });
        const double scattered = timed([&] {
          distributed::compressed_reduce_scatter_average(codec, buffer.data(), m, a.block);
        });
        if (break_even < 0 && std::min(packed, scattered) < fp32) break_even = int64_t(m);
        if (print)
          std::printf("%12zu %12.3e %12.3e %7.2fx %15.3e %7.2fx\n", m, fp32, packed, fp32 / packed,
                      scattered, fp32 / scattered);
        timings.push_back({{"floats", m},
                           {"fp32_s", fp32},
                           {"compressed_s", packed},
                           {"reduce_scatter_s", scattered}});
      }
      if (print)
        std::printf("break-even: %s\n", break_even < 0
                                            ? "none in this range"
                                            : (std::to_string(break_even) + " floats").c_str());
      summary["break_even_floats"] =
          break_even < 0 ? nlohmann::json(nullptr) : nlohmann::json(break_even);
    } else if (print) {
      std::printf("\n(one process: run under mpirun -np N to time the exchanges)\n");
    }
#else
    if (print) std::printf("\n(this build has no MPI: the exchanges are not timed)\n");
#endif
    summary["exchanges"] = timings;

    // 3. Speedup model (engine/perf_model/speedup_model.h): N T_c / (T_c + T_comm(N)), no
    //    overlap of compute and transfer, the codec's throughput as measured above.
    perf::ExchangeSetting setting;
    setting.parameters = a.parameters;
    setting.link_bytes_per_s = a.link_gbps * 1e9;
    setting.latency_s = a.latency_s;
    setting.encode_bytes_per_s = encode_gbps * 1e9;
    setting.decode_bytes_per_s = decode_gbps * 1e9;
    setting.wire_bytes_per_value = double(encoded_code_bytes(codec, n)) / double(n);
    const std::string bits = codec.kind == CodecKind::kSign1 ? "1-bit" : "8-bit";
    const double Tc = a.compute_s;
    nlohmann::json model = nlohmann::json::array();
    if (print)
      std::printf(
          "\nspeedup model: %.3g parameters, %.3g s compute/iteration, %.3g GB/s link, "
          "%.3g s latency, codec measured above\n%8s %10s %14s %20s\n",
          a.parameters, Tc, a.link_gbps, a.latency_s, "workers", "fp32", (bits + " gather").c_str(),
          (bits + " reduce-scatter").c_str());
    for (int w : {1, 2, 4, 8, 16, 32, 64, 96}) {
      const perf::ExchangeSeconds t = perf::exchange_seconds(setting, w);
      const double s32 = perf::speedup(w, Tc, t.fp32_ring),
                   s8g = perf::speedup(w, Tc, t.gather_8bit),
                   s8r = perf::speedup(w, Tc, t.reduce_scatter_8bit);
      if (print) std::printf("%8d %9.1fx %13.1fx %19.1fx\n", w, s32, s8g, s8r);
      model.push_back(
          {{"workers", w}, {"fp32", s32}, {"gather_8bit", s8g}, {"reduce_scatter_8bit", s8r}});
    }
    summary["model"] = model;
    if (print && !a.out.empty()) {
      io::write_file_atomic(a.out + "/summary.json", summary.dump(2) + "\n");
      std::string csv = "workers,fp32,gather_8bit,reduce_scatter_8bit\n";
      for (const auto& row : model)
        csv += std::to_string(row["workers"].get<int>()) + "," +
               std::to_string(row["fp32"].get<double>()) + "," +
               std::to_string(row["gather_8bit"].get<double>()) + "," +
               std::to_string(row["reduce_scatter_8bit"].get<double>()) + "\n";
      io::write_file_atomic(a.out + "/model.csv", csv);
      const std::string script =
          "set terminal pngcairo size 900,600 noenhanced\nset datafile separator ','\n"
          "set output 'speedup_model.png'\nset grid\nset key top left\n"
          "set xlabel 'workers'\nset ylabel 'speedup over one worker'\n"
          "set title 'Data-parallel speedup model (" +
          a.codec +
          " codec speed as measured)'\n"
          "plot 'model.csv' every ::1 using 1:2 with linespoints title 'fp32 ring allreduce', "
          "'' every ::1 using 1:3 with linespoints title '8-bit all-gather', "
          "'' every ::1 using 1:4 with linespoints title '8-bit reduce-scatter', "
          "x with lines dt 2 title 'linear'\n";
      std::string why;
      if (!run_gnuplot(a.out, script, why))
        std::fprintf(stderr, "swalp: no plot: %s\n", why.c_str());
    }
  });
}

}  // namespace swalp::cli
