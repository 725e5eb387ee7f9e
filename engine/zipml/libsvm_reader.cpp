#include "zipml/libsvm_reader.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <utility>
#include <vector>

#include "swalp/decimal.h"
#include "swalp/error.h"

namespace swalp::zipml {

namespace {

// One example as read: its label and (0-based index, value) pairs in increasing index order.
struct Example {
  double label = 0;
  std::vector<std::pair<int64_t, float>> features;
};

std::string shown(const std::string& token) {
  return token.size() > 40 ? "'" + token.substr(0, 40) + "...'" : "'" + token + "'";
}

Example parse_line(const std::string& text, const std::string& where) {
  std::istringstream tokens(text);
  std::string token;
  tokens >> token;
  Example example;
  const std::optional<double> label = parse_decimal_real(token);
  if (!label) throw InvalidInput(where + ": bad label " + shown(token) + " (expected a number)");
  example.label = *label;
  int sparse = -1;  // unknown until the first feature
  int64_t previous = -1;
  while (tokens >> token) {
    const size_t colon = token.find(':');
    if (sparse == -1) sparse = colon != std::string::npos;
    if (sparse != (colon != std::string::npos))
      throw InvalidInput(where + ": " + shown(token) +
                         " mixes dense values and INDEX:VALUE pairs on one line");
    int64_t index = previous + 1;
    std::string value_text = token;
    if (sparse) {
      const std::optional<uint64_t> one_based = parse_decimal_uint(token.substr(0, colon));
      if (!one_based || *one_based < 1)
        throw InvalidInput(where + ": bad feature " + shown(token) +
                           " (expected INDEX:VALUE with an integer INDEX >= 1)");
      if (*one_based > uint64_t(kMaxLibsvmFeatures))
        throw InvalidInput(where + ": feature index " + std::to_string(*one_based) + " exceeds " +
                           std::to_string(kMaxLibsvmFeatures) +
                           ", the most this dense reader holds");
      index = int64_t(*one_based) - 1;
      if (index <= previous)
        throw InvalidInput(where + ": feature index " + std::to_string(index + 1) +
                           " is not above the previous one (indices must increase)");
      value_text = token.substr(colon + 1);
    } else if (index >= kMaxLibsvmFeatures) {
      throw InvalidInput(where + ": more than " + std::to_string(kMaxLibsvmFeatures) + " values");
    }
    const std::optional<double> value = parse_decimal_real(value_text);
    if (!value)
      throw InvalidInput(where + ": bad value in " + shown(token) + " (expected a finite number)");
    example.features.emplace_back(index, float(*value));
    previous = index;
  }
  return example;
}

}  // namespace

Dataset read_libsvm(const std::string& path, bool classification) {
  if (std::filesystem::is_directory(path))
    throw InvalidInput("cannot read LIBSVM file '" + path + "': it is a directory");
  std::ifstream in(path);
  if (!in) throw InvalidInput("cannot read LIBSVM file '" + path + "': " + std::strerror(errno));
  std::vector<Example> examples;
  int64_t d = 0;
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    const size_t comment = line.find('#');
    if (comment != std::string::npos) line.resize(comment);
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    examples.push_back(parse_line(line, path + " line " + std::to_string(number)));
    if (!examples.back().features.empty())
      d = std::max(d, examples.back().features.back().first + 1);
  }
  if (in.bad()) throw RuntimeFailure("reading LIBSVM file '" + path + "' failed");
  if (examples.empty()) throw InvalidInput("LIBSVM file '" + path + "' holds no examples");
  if (d == 0) throw InvalidInput("LIBSVM file '" + path + "' holds no features");

  Dataset data;
  data.n = int64_t(examples.size());
  data.d = d;
  data.x = allocate_values<float>(size_t(data.n) * size_t(d), "the LIBSVM data set");
  data.y.resize(size_t(data.n));
  std::set<double> labels;
  for (int64_t i = 0; i < data.n; ++i) {
    for (const auto& [j, v] : examples[size_t(i)].features) data.x[size_t(i * d + j)] = v;
    data.y[size_t(i)] = float(examples[size_t(i)].label);
    labels.insert(examples[size_t(i)].label);
  }
  if (classification) {
    if (labels.size() != 2) {
      std::string seen;
      for (auto it = labels.begin(); it != labels.end() && std::distance(labels.begin(), it) < 4;
           ++it)
        seen += (seen.empty() ? "" : ", ") + std::to_string(*it);
      throw InvalidInput("LIBSVM file '" + path + "' has " + std::to_string(labels.size()) +
                         " distinct labels (" + seen + (labels.size() > 4 ? ", ..." : "") +
                         "); a classification loss needs exactly 2");
    }
    const double positive = *labels.rbegin();
    for (int64_t i = 0; i < data.n; ++i)
      data.y[size_t(i)] = examples[size_t(i)].label == positive ? 1.0f : -1.0f;
  }
  return data;
}

}  // namespace swalp::zipml
