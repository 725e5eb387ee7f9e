#include "theory/chains.h"

#include <omp.h>

#include <algorithm>
#include <cmath>

#include "swalp/error.h"
#include "swalp/rng.h"

namespace swalp::theory {

namespace {

double squared_distance(const float* w, const std::vector<double>& optimum) {
  double s = 0;
  for (size_t j = 0; j < optimum.size(); ++j)
    s += (double(w[j]) - optimum[j]) * (w[j] - optimum[j]);
  return s;
}

double mean_of(const std::vector<double>& v, double* standard_error) {
  double mean = 0, sq = 0;
  for (double e : v) mean += e;
  mean /= double(v.size());
  for (double e : v) sq += (e - mean) * (e - mean);
  const double n = double(v.size());
  *standard_error = n > 1 ? std::sqrt(sq / (n - 1) / n) : 0.0;
  return mean;
}

}  // namespace

ChainStats run_chains(const Problem& p, const std::vector<double>& optimum, const ChainOptions& o,
                      const std::function<void(double)>& on_progress) {
  if (o.chains < 1) throw InvalidInput("chains must be >= 1");
  if (o.record.empty() || o.record.front() < 1 || !std::is_sorted(o.record.begin(), o.record.end()))
    throw InvalidInput("record lengths must be ascending and >= 1");
  if (!(o.lr > 0)) throw InvalidInput("learning rate must be > 0");
  const int64_t d = p.d, chains = o.chains, total = o.warmup + o.record.back();
  const size_t records = o.record.size();
  const uint64_t example_seed = o.seed ^ 0xe8a3b1c5d7f90213ull;
  std::vector<double> last_sq(records * chains), average_sq(records * chains);
  std::vector<double> ball(chains), final_average(chains * d);

#pragma omp parallel
  {
    const int threads = omp_get_num_threads(), thread = omp_get_thread_num();
    const int64_t c0 = chains * thread / threads, c1 = chains * (thread + 1) / threads;
    const int64_t count = c1 - c0;
    std::vector<float> w(count * d, 0.0f), next(count * d);
    std::vector<double> average(count * d, 0.0), wd(d), g(d);
    std::vector<double> ball_sum(count, 0.0);
    size_t record = 0;
    for (int64_t t = 0; t < total; ++t) {
      for (int64_t c = 0; c < count; ++c) {
        const uint32_t bits = philox_bits(example_seed, uint64_t(t), uint64_t(c0 + c));
        const int64_t i = int64_t((uint64_t(bits) * uint64_t(p.n)) >> 32);
        for (int64_t j = 0; j < d; ++j) wd[j] = w[c * d + j];
        example_gradient(p, i, wd.data(), g.data());
        for (int64_t j = 0; j < d; ++j) next[c * d + j] = float(wd[j] - o.lr * g[j]);
      }
      if (o.quant) {
        QuantSpec spec = *o.quant;
        spec.stream = uint64_t(t);
        if (spec.format.shares_scale()) {
          // A chain's weights are its own tensor: one scale per chain.
          for (int64_t c = 0; c < count; ++c) {
            spec.index_offset = uint64_t((c0 + c) * d);
            quantize(spec, next.data() + c * d, w.data() + c * d, size_t(d));
          }
        } else {
          spec.index_offset = uint64_t(c0 * d);
          quantize(spec, next.data(), w.data(), next.size());
        }
      } else {
        w.swap(next);
      }
      if (t >= o.warmup) {
        const int64_t k = t - o.warmup + 1;  // iterates averaged so far
        const bool recording = record < records && o.record[record] == k;
        for (int64_t c = 0; c < count; ++c) {
          const float* wc = w.data() + c * d;
          double* ac = average.data() + c * d;
          for (int64_t j = 0; j < d; ++j) ac[j] += (double(wc[j]) - ac[j]) / double(k);
          const double sq = squared_distance(wc, optimum);
          ball_sum[c] += sq;
          if (recording) {
            double sa = 0;
            for (int64_t j = 0; j < d; ++j) sa += (ac[j] - optimum[j]) * (ac[j] - optimum[j]);
            last_sq[record * chains + c0 + c] = sq;
            average_sq[record * chains + c0 + c] = sa;
          }
        }
        if (recording) ++record;
      }
      if (on_progress && thread == 0 && (t & 1023) == 0) on_progress(double(t) / double(total));
    }
    for (int64_t c = 0; c < count; ++c) {
      ball[c0 + c] = ball_sum[c] / double(o.record.back());
      for (int64_t j = 0; j < d; ++j) final_average[(c0 + c) * d + j] = average[c * d + j];
    }
  }

  // Reductions in chain order: the same figures for any thread count.
  ChainStats stats;
  for (size_t r = 0; r < records; ++r) {
    ChainRecord rec;
    rec.steps = o.record[r];
    double unused;
    rec.sq_dist_last = mean_of(
        std::vector<double>(last_sq.begin() + r * chains, last_sq.begin() + (r + 1) * chains),
        &unused);
    rec.sq_dist_average = mean_of(
        std::vector<double>(average_sq.begin() + r * chains, average_sq.begin() + (r + 1) * chains),
        &rec.sq_dist_average_se);
    stats.records.push_back(rec);
  }
  stats.stationary_ball = mean_of(ball, &stats.stationary_ball_se);

  // Squared bias of the averages: |m - w*|^2 - tr(S)/C, with S the chains' covariance of w_bar.
  // Its standard error (Gaussian approximation): sqrt(4 b'Sb / C + 2 tr(S^2) / C^2).
  stats.mean_average.assign(d, 0.0);
  for (int64_t c = 0; c < chains; ++c)
    for (int64_t j = 0; j < d; ++j) stats.mean_average[j] += final_average[c * d + j];
  for (double& m : stats.mean_average) m /= double(chains);
  std::vector<double> cov(d * d, 0.0), bias(d);
  for (int64_t j = 0; j < d; ++j) bias[j] = stats.mean_average[j] - optimum[j];
  if (chains > 1) {
    for (int64_t c = 0; c < chains; ++c)
      for (int64_t a = 0; a < d; ++a)
        for (int64_t b = 0; b < d; ++b)
          cov[a * d + b] += (final_average[c * d + a] - stats.mean_average[a]) *
                            (final_average[c * d + b] - stats.mean_average[b]);
    for (double& v : cov) v /= double(chains - 1);
  }
  double bias_sq = 0, trace = 0, bsb = 0, trace_sq = 0;
  for (int64_t a = 0; a < d; ++a) {
    bias_sq += bias[a] * bias[a];
    trace += cov[a * d + a];
    for (int64_t b = 0; b < d; ++b) {
      bsb += bias[a] * cov[a * d + b] * bias[b];
      trace_sq += cov[a * d + b] * cov[b * d + a];
    }
  }
  const double C = double(chains);
  stats.average_sq_bias = bias_sq - trace / C;
  stats.average_sq_bias_se = std::sqrt(4 * bsb / C + 2 * trace_sq / (C * C));
  return stats;
}

}  // namespace swalp::theory
