#include "train_config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <type_traits>

#include "swalp/error.h"

namespace swalp::cli {

std::vector<Setting> settings_of(TrainArgs& a) {
  engine::TrainOptions& o = a.options;
  engine::QuantPlan& q = o.quant;
  return {
      {"model", "--model", "logreg | mlp | cnn | lenet | vgg16 | preresnetD", &o.model},
      {"epochs", "--epochs", "Epochs", &o.epochs},
      {"batch_size", "--batch-size", "Minibatch size", &o.batch_size},
      {"lr_init", "--lr-init", "Initial learning rate", &o.lr_init},
      {"swa_lr", "--swa-lr", "Learning rate while averaging", &o.swa_lr},
      {"schedule", "--schedule",
       "swa (decay over swa_start epochs, then swa_lr and averaging) | sgd (decay over all "
       "epochs, no averaging)",
       &o.schedule},
      {"swa_start", "--swa-start", "Epochs of the decaying phase; averaging from its end",
       &o.swa_start},
      {"swa_every", "--swa-every", "Average every K steps (0: per epoch)", &o.swa_every},
      {"momentum", "--momentum", "SGD momentum", &o.momentum},
      {"weight_decay", "--weight-decay", "Weight decay (added in fp32)", &o.weight_decay},
      {"seed", "--seed", "Seed", &o.seed},
      {"device", "--device", "cpu | cuda | auto (cuda where libtorch sees a GPU)", &o.device},
      {"data", "--data", "fashion-mnist[:DIR] | synthetic | cifar10:DIR | cifar100:DIR", &a.data},
      {"limit_train", "--limit-train", "At most this many training examples (0 = all)",
       &a.limit_train},
      {"limit_test", "--limit-test", "At most this many test examples (0 = all)", &a.limit_test},
      {"eval", "--eval",
       "The average evaluated with fp32 activations (the reference), through the activation "
       "quantizers (quantized), or both",
       &o.eval},
      {"quant.weight", "--weight-format", "Weights", &q.weight},
      {"quant.grad", "--grad-format", "Gradients", &q.grad},
      {"quant.momentum", "--momentum-format", "Momentum buffer", &q.momentum},
      {"quant.accumulator", "--accumulator-format", "Accumulator (master weights)", &q.accumulator},
      {"quant.activation", "--activation-format", "Activations (forward)", &q.activation},
      {"quant.error", "--error-format", "Errors (backward)", &q.error},
      {"quant.swa", "--swa-format", "The SWA average itself (empty: fp32)", &q.swa},
      {"quant.rounding", "--rounding", "Rounding of every quantizer", &q.rounding},
      {"quant.activation_scope", "--activation-scope",
       "Scale of scope-less activation/error formats: tensor (reference) | sample (QPyTorch "
       "dim=0)",
       &q.activation_scope},
      {"quant.quantize_input", "--quantize-input", "Quantize the network input too",
       &q.quantize_input},
      {"quant.quantize_logits", "--quantize-logits", "Quantize the logits (and dL/dlogits) too",
       &q.quantize_logits},
      {"matmul_accumulate", "--matmul-accumulate",
       "Round the sums of every linear/conv product: ACC[:chunk=C][:outer=F][:order=O]"
       "[:product=F][:rounding=R] (docs/accumulation.md; empty: fp32 BLAS)",
       &q.matmul_accumulate},
      {"data_parallel", "--data-parallel",
       "Data-parallel training over MPI (run under mpirun -np N)", &a.data_parallel},
      {"grad_codec", "--grad-codec",
       "Gradient exchange: fp32 | dt8 | st8 | int8 | fp8e4m3 | fp8e5m2 | sign1 (with "
       "--error-feedback)",
       &a.grad_codec},
      {"error_feedback", "--error-feedback", "Add what the codec lost to the next gradient",
       &a.error_feedback},
      {"grad_block", "--grad-block", "Values per codec scale (0: per tensor)", &a.grad_block},
      {"grad_exchange", "--grad-exchange",
       "How 8-bit gradients travel: all-gather | reduce-scatter (25% of the fp32 bytes at any N)",
       &a.grad_exchange},
  };
}

namespace {

// A double as a TOML float that reads back to the same bits: 17 significant digits, always
// with a fraction or exponent (a bare "-0" or "1" would read back as an integer), and TOML's
// spellings of infinities and NaN.
std::string toml_float(double v) {
  if (std::isnan(v)) return std::signbit(v) ? "-nan" : "nan";
  if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
  char text[40];
  std::snprintf(text, sizeof text, "%.17g", v);
  std::string out = text;
  if (out.find_first_of(".e") == std::string::npos) out += ".0";
  return out;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t substitute = diagonal + (a[i - 1] != b[j - 1]);
      diagonal = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, substitute});
    }
  }
  return row[b.size()];
}

[[noreturn]] void unknown_key(const std::string& file, const std::string& key,
                              const std::vector<Setting>& settings) {
  std::string best, accepted;
  size_t best_distance = 4;
  for (const Setting& s : settings) {
    const size_t d = edit_distance(key, s.key);
    if (d < best_distance) best = s.key, best_distance = d;
    accepted += (accepted.empty() ? "" : ", ") + s.key;
  }
  throw InvalidInput("unknown key '" + key + "' in " + file +
                     (best.empty() ? "" : " (did you mean '" + best + "'?)") +
                     "; accepted: " + accepted);
}

// Stores a TOML value into a setting, checking its type.
void assign(const std::string& file, const Setting& s, const toml::node& node) {
  auto fail = [&](const char* type) {
    throw InvalidInput("config '" + file + "': '" + s.key + "' must be " + type);
  };
  std::visit(
      [&](auto* target) {
        using T = std::remove_pointer_t<decltype(target)>;
        if constexpr (std::is_same_v<T, std::string>) {
          if (!node.is_string()) fail("a string");
          *target = node.value<std::string>().value();
        } else if constexpr (std::is_same_v<T, bool>) {
          if (!node.is_boolean()) fail("true or false");
          *target = node.value<bool>().value();
        } else if constexpr (std::is_same_v<T, double>) {
          if (!node.is_number()) fail("a number");
          // An integer too large for a double converts with rounding (toml++ refuses it).
          *target = node.is_integer() ? double(node.value<int64_t>().value())
                                      : node.value<double>().value();
          if (!std::isfinite(*target)) fail("a finite number");
        } else {
          if (!node.is_integer()) fail("an integer");
          const int64_t v = node.value<int64_t>().value();
          if (v < int64_t(std::numeric_limits<T>::min()) ||
              (v > 0 && uint64_t(v) > uint64_t(std::numeric_limits<T>::max())))
            fail("an integer in range");
          *target = T(v);
        }
      },
      s.target);
}

}  // namespace

void load_config(const std::string& path, TrainArgs& args) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw InvalidInput("cannot read config '" + path +
                       "': it is a directory (expected a TOML file)");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InvalidInput("cannot read config '" + path + "': no such file or no access");
  std::ostringstream text;
  text << in.rdbuf();
  load_config_text(text.str(), path, args);
}

void load_config_text(std::string_view text, const std::string& path, TrainArgs& args) {
  toml::table table;
  try {
    table = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    std::ostringstream where;
    where << e.source().begin;
    throw InvalidInput("cannot read config '" + path + "': " + std::string(e.description()) +
                       " at " + where.str());
  }
  const std::vector<Setting> settings = settings_of(args);
  auto apply = [&](const std::string& key, const toml::node& node) {
    for (const Setting& s : settings)
      if (s.key == key) return assign(path, s, node);
    unknown_key(path, key, settings);
  };
  for (const auto& [key_view, node] : table) {
    const std::string key(key_view.str());
    if (key != "quant") {
      apply(key, node);
      continue;
    }
    const toml::table* quant = node.as_table();
    if (quant == nullptr) throw InvalidInput("config '" + path + "': 'quant' must be a table");
    for (const auto& [sub_view, sub] : *quant) apply("quant." + std::string(sub_view.str()), sub);
  }
}

std::string resolved_config(TrainArgs& args) {
  std::ostringstream top, quant;
  top.precision(17);
  top << std::boolalpha;
  quant << std::boolalpha;
  top << "# resolved by swalp train\n";
  for (const Setting& s : settings_of(args)) {
    const bool in_quant = s.key.rfind("quant.", 0) == 0;
    std::ostream& out = in_quant ? quant : top;
    out << (in_quant ? s.key.substr(6) : s.key) << " = ";
    std::visit(
        [&](auto* target) {
          using T = std::remove_pointer_t<decltype(target)>;
          if constexpr (std::is_same_v<T, std::string>)
            out << nlohmann::json(*target).dump();  // a valid TOML basic string
          else if constexpr (std::is_same_v<T, double>)
            out << toml_float(*target);
          else
            out << *target;
        },
        s.target);
    out << "\n";
  }
  return top.str() + "\n[quant]\n" + quant.str();
}

}  // namespace swalp::cli
