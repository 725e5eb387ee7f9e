#include "scope_layout.h"

#include <limits>
#include <string>

#include "swalp/error.h"

namespace swalp::detail {

namespace {
std::string shape_text(const std::vector<int64_t>& shape) {
  std::string text;
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? "," : "") + std::to_string(shape[i]);
  return text;
}
}  // namespace

size_t ScopeLayout::num_scopes() const {
  switch (scope.kind) {
    case ScopeKind::kTensor:
      return 1;
    case ScopeKind::kRow:
      return rows;
    case ScopeKind::kCol:
      return cols;
    case ScopeKind::kBlock:
      return last_dim == 0 ? 0 : (n / last_dim) * blocks_per_row();
  }
  return 1;
}

size_t ScopeLayout::scope_of(size_t i) const {
  switch (scope.kind) {
    case ScopeKind::kTensor:
      return 0;
    case ScopeKind::kRow:
      return i / cols;
    case ScopeKind::kCol:
      return i % cols;
    case ScopeKind::kBlock:
      return (i / last_dim) * blocks_per_row() + (i % last_dim) / scope.block;
  }
  return 0;
}

ScopeLayout make_scope_layout(const Format& format, size_t n, const std::vector<int64_t>& shape) {
  ScopeLayout layout;
  layout.n = n;
  layout.scope = format.scope;
  if (!format.shares_scale()) layout.scope = Scope{};
  size_t product = 1;
  for (int64_t dim : shape) {
    if (dim < 0) throw InvalidInput("bad shape '" + shape_text(shape) + "': negative dimension");
    if (dim != 0 && product > std::numeric_limits<size_t>::max() / size_t(dim))
      throw InvalidInput("bad shape '" + shape_text(shape) + "': element count overflows");
    product *= size_t(dim);
  }
  if (!shape.empty() && product != n)
    throw InvalidInput("shape " + shape_text(shape) + " has " + std::to_string(product) +
                       " elements but the data has " + std::to_string(n));
  const ScopeKind kind = layout.scope.kind;
  if ((kind == ScopeKind::kRow || kind == ScopeKind::kCol) && shape.size() < 2)
    throw InvalidInput("format " + format.spelling + " has a " + format.scope_name() +
                       " scope, which needs a shape with 2 or more dimensions (got '" +
                       shape_text(shape) + "')");
  layout.rows = shape.size() >= 2 ? size_t(shape[0]) : 1;
  layout.cols = layout.rows == 0 ? 0 : n / layout.rows;
  layout.last_dim = shape.empty() ? n : size_t(shape.back());
  return layout;
}

}  // namespace swalp::detail
