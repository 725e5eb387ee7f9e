// `swalp._swalp`: the Python binding of the C++ core and its libtorch adapter. Every number
// comes from the same kernels as the CLI; this file only converts arguments. Python-side
// conveniences (dtype checks, numpy, autograd, optimizers) live in the swalp package.
#include <torch/extension.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "output_pool.h"
#include "swalp/codec.h"
#include "swalp/error.h"
#include "swalp/format.h"
#include "swalp/matmul.h"
#include "swalp/quantize.h"
#include "swalp/torch/accumulate.h"
#include "swalp/torch/quantize_tensor.h"
#include "zipml/optimal_levels.h"

namespace py = pybind11;

namespace {

swalp::QuantSpec spec_of(const std::string& format, const std::string& rounding, uint64_t seed,
                         uint64_t stream, uint64_t offset) {
  swalp::QuantSpec spec = swalp::make_quant_spec(format, rounding, seed, stream);
  spec.index_offset = offset;
  return spec;
}

py::list format_table() {
  py::list rows;
  for (const swalp::FormatInfo& f : swalp::format_table()) {
    py::dict row;
    row["name"] = f.name;
    row["bits"] = f.bits;
    row["scaled"] = f.scaled;
    row["max"] = f.max_value;
    row["min_normal"] = f.min_normal;
    row["min_subnormal"] = f.min_subnormal;
    row["epsilon"] = f.epsilon;
    row["saturating"] = f.saturating;
    row["ml_dtypes"] = f.ml_dtypes;
    row["definition"] = f.definition;
    rows.append(row);
  }
  return rows;
}

// A float32 CPU tensor as (codes uint8[n], scales float32[blocks]) of `codec`.
std::pair<at::Tensor, at::Tensor> encode(const at::Tensor& values, const std::string& codec,
                                         bool stochastic, uint64_t seed, uint64_t stream,
                                         size_t block) {
  const at::Tensor x = values.contiguous();
  swalp::EncodeOptions options;
  options.block = block;
  options.stochastic = stochastic;
  options.seed = seed;
  options.stream = stream;
  swalp::EncodedMessage message;
  swalp::encode(swalp::codec_by_name(codec), x.data_ptr<float>(), size_t(x.numel()), options,
                message);
  at::Tensor codes = at::empty({int64_t(message.codes.size())}, at::kByte);
  at::Tensor scales = at::empty({int64_t(message.scales.size())}, at::kFloat);
  std::memcpy(codes.data_ptr(), message.codes.data(), message.codes.size());
  std::memcpy(scales.data_ptr(), message.scales.data(), 4 * message.scales.size());
  return {codes, scales};
}

// Decodes into `out` (float32, contiguous, one value per encoded value); adds when `accumulate`.
void decode(const at::Tensor& codes, const at::Tensor& scales, const std::string& codec_name,
            size_t block, at::Tensor& out, bool accumulate) {
  const swalp::Codec& codec = swalp::codec_by_name(codec_name);
  const at::Tensor c = codes.contiguous(), s = scales.contiguous();
  if (!out.is_contiguous() || out.scalar_type() != at::kFloat)
    throw swalp::InvalidInput("decode: out must be a contiguous float32 tensor");
  const size_t n = size_t(out.numel());
  const size_t expected_scales = swalp::encoded_scale_count(codec, n, block);
  if (size_t(c.numel()) != swalp::encoded_code_bytes(codec, n) ||
      size_t(s.numel()) != expected_scales)
    throw swalp::InvalidInput("decode: " + std::to_string(n) + " values of codec " + codec.name +
                              " need " + std::to_string(swalp::encoded_code_bytes(codec, n)) +
                              " code bytes and " + std::to_string(expected_scales) +
                              " scales, got " + std::to_string(c.numel()) + " and " +
                              std::to_string(s.numel()));
  swalp::decode(codec, c.data_ptr<uint8_t>(), s.data_ptr<float>(), n, block == 0 ? n : block,
                out.data_ptr<float>(), accumulate);
}

// ZipML's variance-optimal levels (engine/zipml/optimal_levels.h) for the values of a float32
// tensor, in the tensor's own range: `count` levels, the first its minimum, the last its maximum.
std::vector<double> optimal_levels(const at::Tensor& values, int count, int bins) {
  if (values.scalar_type() != at::kFloat || !values.device().is_cpu())
    throw swalp::InvalidInput("optimal_levels: expected a float32 CPU tensor");
  if (count < 2 || bins < 2)
    throw swalp::InvalidInput("optimal_levels: need at least 2 levels and 2 bins");
  const at::Tensor x = values.contiguous();
  const float* v = x.data_ptr<float>();
  const size_t n = size_t(x.numel());
  if (n == 0) throw swalp::InvalidInput("optimal_levels: the tensor is empty");
  double lo = v[0], hi = v[0];
  for (size_t i = 0; i < n; ++i) {
    if (!std::isfinite(v[i])) throw swalp::InvalidInput("optimal_levels: non-finite value");
    lo = std::min(lo, double(v[i])), hi = std::max(hi, double(v[i]));
  }
  if (!(hi > lo)) return {lo, hi};
  std::vector<double> scaled(n);
  for (size_t i = 0; i < n; ++i) scaled[i] = (double(v[i]) - lo) / (hi - lo);
  std::vector<double> levels = swalp::zipml::optimal_levels_histogram(scaled, count, bins);
  for (double& l : levels) l = lo + l * (hi - lo);
  levels.front() = lo;  // exact ends: every value lies between two levels
  levels.back() = hi;
  return levels;
}

}  // namespace

PYBIND11_MODULE(_swalp, m) {
  m.doc() = "swalp core: exact simulated number formats on float32 tensors";
  // User mistakes are ValueError (as Python spells bad values); environment failures RuntimeError.
  py::register_exception<swalp::InvalidInput>(m, "InvalidInput", PyExc_ValueError);
  py::register_exception<swalp::RuntimeFailure>(m, "RuntimeFailure", PyExc_RuntimeError);
  m.def(
      "quantize",
      [](const at::Tensor& x, const std::string& format, const std::string& rounding, uint64_t seed,
         uint64_t stream, uint64_t offset) {
        const swalp::QuantSpec spec = spec_of(format, rounding, seed, stream, offset);
        py::gil_scoped_release release;
        if (!x.is_cpu() || x.scalar_type() != at::kFloat) return swalp::torchq::quantize(x, spec);
        const at::Tensor in = x.contiguous();
        at::Tensor out = swalp::python::pooled_empty(in.sizes());
        swalp::quantize(spec, in.data_ptr<float>(), out.data_ptr<float>(), size_t(in.numel()),
                        std::vector<int64_t>(in.sizes().begin(), in.sizes().end()));
        return out;
      },
      py::arg("x"), py::arg("format"), py::arg("rounding"), py::arg("seed"), py::arg("stream"),
      py::arg("offset"));
  m.def(
      "quantize_",
      [](at::Tensor& x, const std::string& format, const std::string& rounding, uint64_t seed,
         uint64_t stream, uint64_t offset) {
        const swalp::QuantSpec spec = spec_of(format, rounding, seed, stream, offset);
        py::gil_scoped_release release;
        swalp::torchq::quantize_(x, spec);
      },
      py::arg("x"), py::arg("format"), py::arg("rounding"), py::arg("seed"), py::arg("stream"),
      py::arg("offset"));
  m.def(
      "quantize_into",
      [](const at::Tensor& x, at::Tensor& out, const std::string& format,
         const std::string& rounding, uint64_t seed, uint64_t stream, uint64_t offset) {
        const swalp::QuantSpec spec = spec_of(format, rounding, seed, stream, offset);
        if (out.sizes() != x.sizes() || out.scalar_type() != at::kFloat)
          throw swalp::InvalidInput("out must be a float32 tensor of x's shape");
        py::gil_scoped_release release;
        if (x.is_cpu() && out.is_cpu() && x.is_contiguous() && out.is_contiguous() &&
            x.scalar_type() == at::kFloat) {
          // Straight into the caller's memory: no allocation, no copy.
          swalp::quantize(spec, x.data_ptr<float>(), out.data_ptr<float>(), size_t(x.numel()),
                          std::vector<int64_t>(x.sizes().begin(), x.sizes().end()));
        } else {
          out.copy_(swalp::torchq::quantize(x, spec));
        }
      },
      py::arg("x"), py::arg("out"), py::arg("format"), py::arg("rounding"), py::arg("seed"),
      py::arg("stream"), py::arg("offset"));
  m.def(
      "canonical_format",
      [](const std::string& format) { return swalp::parse_format(format).spelling; },
      py::arg("format"));
  m.def("empty_cache", &swalp::python::release_pooled_buffers);
#ifdef SWALP_TORCH_CUDA
  m.attr("built_with_cuda") = true;  // CUDA tensors go to core/cuda's kernels
#else
  m.attr("built_with_cuda") = false;
#endif
  // Rounded-accumulation products (python/swalp/accumulation.py checks the arguments).
  m.def(
      "matmul_accumulate",
      [](const at::Tensor& a, const at::Tensor& b, const std::string& spec, uint64_t seed,
         uint64_t forward, uint64_t grad_a, uint64_t grad_b) {
        const swalp::AccumulateSpec parsed = swalp::parse_accumulate(spec, seed);
        py::gil_scoped_release release;
        return swalp::torchq::matmul_accumulate(a, b, parsed, {forward, grad_a, grad_b});
      },
      py::arg("a"), py::arg("b"), py::arg("spec"), py::arg("seed"), py::arg("forward"),
      py::arg("grad_a"), py::arg("grad_b"));
  m.def(
      "linear_accumulate",
      [](const at::Tensor& x, const at::Tensor& weight, const c10::optional<at::Tensor>& bias,
         const std::string& spec, uint64_t seed, uint64_t forward, uint64_t grad_a,
         uint64_t grad_b) {
        const swalp::AccumulateSpec parsed = swalp::parse_accumulate(spec, seed);
        py::gil_scoped_release release;
        return swalp::torchq::linear_accumulate(x, weight, bias.value_or(at::Tensor()), parsed,
                                                {forward, grad_a, grad_b});
      },
      py::arg("x"), py::arg("weight"), py::arg("bias"), py::arg("spec"), py::arg("seed"),
      py::arg("forward"), py::arg("grad_a"), py::arg("grad_b"));
  m.def("format_table", &format_table);
  m.def("accepted_format_spellings", &swalp::accepted_format_spellings);
  m.def("codec_names", &swalp::codec_names);
  m.def("optimal_levels", &optimal_levels, py::arg("values"), py::arg("count"), py::arg("bins"));
  m.def("encode", &encode, py::arg("values"), py::arg("codec"), py::arg("stochastic"),
        py::arg("seed"), py::arg("stream"), py::arg("block"));
  m.def("decode", &decode, py::arg("codes"), py::arg("scales"), py::arg("codec"), py::arg("block"),
        py::arg("out"), py::arg("accumulate"));
}
