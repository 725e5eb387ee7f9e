// The data-parallel speedup model of `swalp bench comm` (after Dettmers 2016, section 5): the
// seconds one iteration spends exchanging a gradient of P float32 values among N workers, per
// exchange, and the speedup N T_c / (T_c + T_comm) with compute and transfer not overlapped.
#pragma once

namespace swalp::perf {

struct ExchangeSetting {
  double parameters = 61e6;         // P, gradient values
  double link_bytes_per_s = 5e9;    // B
  double latency_s = 5e-6;          // L, per message hop
  double wire_bytes_per_value = 1;  // w: compressed bytes per value (8-bit codecs 1, sign1 1/8)
  // Codec throughput in bytes of float32 input per second (one thread per rank).
  double encode_bytes_per_s = 4e9, decode_bytes_per_s = 8e9;
};

struct ExchangeSeconds {
  double fp32_ring = 0;            // 2 (N-1)/N 4P / B + 2 (N-1) L
  double gather_8bit = 0;          // (N-1) w P / B + (N-1) L + encode 4P + decode N 4P
  double reduce_scatter_8bit = 0;  // 2 (N-1)/N w P / B + 2 (N-1) L + encode 4P (1 + 1/N)
                                   // + decode 2 4P (the owned segments, then the average)
};

// All zero for one worker.
ExchangeSeconds exchange_seconds(const ExchangeSetting& setting, int workers);

// N T_c / (T_c + T_comm).
double speedup(int workers, double compute_s, double communication_s);

}  // namespace swalp::perf
