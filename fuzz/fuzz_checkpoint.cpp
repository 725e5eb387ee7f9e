// Checkpoints of a small model (logistic regression on 28x28 images): CheckpointReader restores
// them or throws InvalidInput naming the problem; no crash on damaged or foreign files.
#include "fuzz_util.h"
#include "swalp/error.h"
#include "train/trainer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace swalp;
  // One training state for every input: building it is the slow part.
  static engine::CheckpointReader reader([] {
    engine::TrainOptions o;
    o.model = "logreg";
    o.quant = engine::QuantPlan::uniform("bfp:8", "stochastic");
    return o;
  }());
  const std::string path = fuzz::as_file(data, size, ".pt");
  try {
    reader.read(path);
  } catch (const InvalidInput&) {
  }
  return 0;
}
