// Data sets in LIBSVM's text format, the format of the ZipML paper's regression and
// classification data: one example per line, `LABEL INDEX:VALUE INDEX:VALUE ...` with indices
// from 1 and increasing (sparse; absent features are 0), or `LABEL VALUE VALUE ...` (dense).
// Blank lines and text after `#` are skipped. Read into a dense Dataset.
#pragma once

#include <string>

#include "zipml/packed_samples.h"

namespace swalp::zipml {

// The largest feature index accepted (the features are stored densely).
constexpr int64_t kMaxLibsvmFeatures = int64_t(1) << 20;

// `classification`: the labels must take exactly two values, the smaller read as -1 and the
// larger as +1 (so 0/1, -1/+1 and 1/2 files all work); otherwise they are regression targets.
// A malformed line is InvalidInput naming the file, the line number and the token.
Dataset read_libsvm(const std::string& path, bool classification);

}  // namespace swalp::zipml
