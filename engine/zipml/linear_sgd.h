// ZipML's linear models trained by SGD, one example per step, with samples in full precision,
// naively quantized (one copy), double sampled (independent copies, unbiased), or end to end
// (double sampling plus the model and the gradient quantized as they are read and sent). Each
// epoch reads freshly quantized copies (as if the data arrived quantized again); the master
// model stays in fp32.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "zipml/packed_samples.h"
#include "zipml/sample_copies.h"

namespace swalp::zipml {

enum class Loss { kLeastSquares, kLsSvm, kLogistic, kHinge };
enum class Method { kFull, kNaive, kDoubleSampling, kEndToEnd };

// How a refetch decision bounds |a.w - Q(a).w| for one quantized copy: `worst`, the sum of
// |w_j| times feature j's widest level gap (never wrong); `hoeffding`, the t with
// P(|a.w - Q(a).w| >= t) <= refetch_failure by Hoeffding's inequality (each term lies in an
// interval of width |w_j| gap_j): t = sqrt(ln(2 / failure) / 2 * sum_j (|w_j| gap_j)^2).
enum class RefetchBound { kWorstCase, kHoeffding };
RefetchBound parse_refetch_bound(const std::string& name);  // worst | hoeffding

Loss parse_loss(const std::string& name);      // least-squares | ls-svm | logistic | hinge
Method parse_method(const std::string& name);  // fp32 | naive | double | end-to-end
std::string method_name(Method m);

struct SgdOptions {
  Loss loss = Loss::kLeastSquares;
  Method method = Method::kFull;
  int sample_bits = 4;
  bool optimal_levels = false;        // variance-optimal levels (histogram DP) instead of uniform
  int model_bits = 8, grad_bits = 8;  // end to end: int:B stochastic, one scale per vector
  int epochs = 10;
  double lr = 0.01, lr_decay = 1.0;     // step size of epoch e: lr * lr_decay^e
  double l2 = 0;                        // ls-svm, logistic and hinge regularization
  int chebyshev_degree = 5;             // logistic with quantized samples: polynomial degree
  double chebyshev_range = 4;           // ... fitted on [-range, range]; beyond it: refetch
  Storage storage = Storage::kCompact;  // of the quantized copies (sample_copies.h)
  RefetchBound refetch_bound = RefetchBound::kWorstCase;
  double refetch_failure = 1e-3;  // hoeffding: per decision
  uint64_t seed = 1;
};

struct EpochLog {
  int epoch = 0;
  double loss = 0;  // the objective on the full-precision data
  double seconds = 0;
  int64_t bytes_read = 0;
};

struct SgdResult {
  std::vector<EpochLog> epochs;
  std::vector<float> w;
  double final_loss = 0;
  int64_t sample_bytes = 0;  // storage of the samples the method reads
  // hinge and logistic: steps that fetched the full-precision sample (hinge: the decision could
  // flip; logistic: the margin could lie outside the Chebyshev range)
  double refetch_fraction = 0;
};

// The objective (mean loss + l2/2 |w|^2 for the regularized losses) on full-precision data.
double objective(const Dataset& data, Loss loss, double l2, const std::vector<float>& w);

// The levels the options ask for (uniform or optimal over all scaled feature values).
std::vector<double> sample_levels(const Dataset& data, int bits, bool optimal);

SgdResult train_linear(const Dataset& data, const SgdOptions& options);

// Monomial coefficients c_0..c_P of the degree-P Chebyshev interpolant of sigmoid(-t) on
// [-range, range] (logistic regression's gradient factor).
std::vector<double> chebyshev_sigmoid(int degree, double range);

// The mean least-squares gradient at w over `draws` independent quantizations of every sample
// (naive: Q(a)(Q(a).w - y); double: the symmetrized two-copy estimate): its distance from the
// full-precision gradient is the bias of the method.
std::vector<double> mean_quantized_gradient(const Dataset& data, const std::vector<float>& w,
                                            Method method, int bits, bool optimal, int draws,
                                            uint64_t seed);

}  // namespace swalp::zipml
