#include "perf_model/speedup_model.h"

namespace swalp::perf {

ExchangeSeconds exchange_seconds(const ExchangeSetting& s, int workers) {
  ExchangeSeconds t;
  if (workers <= 1) return t;
  const double N = workers, P = s.parameters, B = s.link_bytes_per_s, L = s.latency_s,
               w = s.wire_bytes_per_value;
  const double encode = 4 * P / s.encode_bytes_per_s, decode = 4 * P / s.decode_bytes_per_s;
  t.fp32_ring = 2 * (N - 1) / N * 4 * P / B + 2 * (N - 1) * L;
  // Every rank encodes its gradient once and decodes all N messages.
  t.gather_8bit = (N - 1) * w * P / B + (N - 1) * L + encode + N * decode;
  // Every rank encodes its gradient once (segments to their owners) and its owned average
  // (1/N of it) again; it decodes the N - 1 + 1 segments it sums (one gradient's worth) and the
  // all-gathered average (another).
  t.reduce_scatter_8bit =
      2 * (N - 1) / N * w * P / B + 2 * (N - 1) * L + encode * (1 + 1 / N) + 2 * decode;
  return t;
}

double speedup(int workers, double compute_s, double communication_s) {
  return workers * compute_s / (compute_s + communication_s);
}

}  // namespace swalp::perf
