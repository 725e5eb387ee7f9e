// How a shape splits into scopes (internal to core). Row and col view the tensor as
// [dim0, product of the remaining dims]; blocks run along the last dimension.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "swalp/format.h"

namespace swalp::detail {

struct ScopeLayout {
  size_t n = 0;
  size_t rows = 1;      // dim0 (row/col scopes)
  size_t cols = 0;      // n / rows (row/col scopes)
  size_t last_dim = 0;  // length of the last dimension (block scope)
  Scope scope;
  size_t blocks_per_row() const {
    return last_dim == 0 ? 0 : (last_dim + scope.block - 1) / scope.block;
  }
  size_t num_scopes() const;
  // Scope id of flat element i.
  size_t scope_of(size_t i) const;
};

// Validates `shape` against n and the format's scope; throws InvalidInput when they disagree.
ScopeLayout make_scope_layout(const Format& format, size_t n, const std::vector<int64_t>& shape);

}  // namespace swalp::detail
