#include "core/bootstrap.h"

#include <cmath>
#include <limits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "core/rng.h"

namespace recbias {

void ExactSum::add(double value) { add_scaled(value, 1); }

void ExactSum::add_scaled(double value, int weight) {
  if (!fits_fixed_point(value))
    throw BadInput(fmt::format("cannot accumulate value {}: expected a finite number below 2^62 in magnitude", value));
  RECBIAS_CHECK(weight >= 0, "ExactSum weight must be >= 0");
  const double scaled = std::nearbyint(value * kFixedPointScale);
  total_ += static_cast<Int128>(scaled) * weight;
}

double ExactSum::value() const { return static_cast<double>(total_) / kFixedPointScale; }

std::string int128_to_decimal(Int128 v) {
  if (v == 0) return "0";
  // The magnitude in base 10^18 (one 128-bit division per 18 digits: reports
  // carry thousands of these sums), then each chunk with 64-bit arithmetic.
  __extension__ using U128 = unsigned __int128;
  const bool negative = v < 0;
  U128 magnitude = negative ? U128(0) - static_cast<U128>(v) : static_cast<U128>(v);
  constexpr std::uint64_t kChunk = 1'000'000'000'000'000'000ULL;
  std::string digits;  // least significant first
  while (magnitude != 0) {
    auto chunk = static_cast<std::uint64_t>(magnitude % kChunk);
    magnitude /= kChunk;
    for (int d = 0; d < 18 && (chunk != 0 || magnitude != 0); ++d, chunk /= 10) digits.push_back(static_cast<char>('0' + chunk % 10));
  }
  if (negative) digits.push_back('-');
  return {digits.rbegin(), digits.rend()};
}

Int128 int128_from_decimal(const std::string& text) {
  Int128 out = 0;
  std::size_t i = 0;
  const bool negative = !text.empty() && text[0] == '-';
  if (negative) i = 1;
  if (i >= text.size() || text.size() - i > 40)
    throw BadInput(fmt::format("invalid exact sum \"{}\": expected a decimal integer", text));
  for (; i < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') throw BadInput(fmt::format("invalid exact sum \"{}\": expected a decimal integer", text));
    out = out * 10 + (negative ? -(text[i] - '0') : (text[i] - '0'));
  }
  return out;
}

std::string ExactSum::to_string() const { return int128_to_decimal(total_); }

ExactSum ExactSum::from_string(const std::string& text) {
  ExactSum out;
  out.total_ = int128_from_decimal(text);
  return out;
}

void MomentSums::add(double value) {
  ++n_;
  sum_.add(value);
  sum_sq_.add(value * value);
}

void MomentSums::merge(const MomentSums& other) {
  n_ += other.n_;
  sum_.merge(other.sum_);
  sum_sq_.merge(other.sum_sq_);
}

double MomentSums::mean() const {
  return n_ > 0 ? sum_.value() / static_cast<double>(n_) : std::numeric_limits<double>::quiet_NaN();
}

Interval MomentSums::interval(double confidence) const {
  if (n_ < 2) return {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::quiet_NaN()};
  const double n = static_cast<double>(n_), m = mean();
  const double variance = std::max(0.0, (sum_sq_.value() - n * m * m) / (n - 1));
  const double half = normal_quantile(1 - (1 - confidence) / 2) * std::sqrt(variance / n);
  return {m - half, m + half};
}

nlohmann::json MomentSums::to_json() const { return {n_, sum_.to_string(), sum_sq_.to_string()}; }

MomentSums MomentSums::from_json(const nlohmann::json& j) {
  try {
    MomentSums out;
    out.n_ = j.at(0).get<std::int64_t>();
    if (out.n_ < 0) throw BadInput(fmt::format("moment sums: n {}: expected a count >= 0", out.n_));
    out.sum_ = ExactSum::from_string(j.at(1).get<std::string>());
    out.sum_sq_ = ExactSum::from_string(j.at(2).get<std::string>());
    return out;
  } catch (const nlohmann::json::exception& e) {
    throw BadInput(fmt::format("moment sums: expected [n, sum, sum of squares], {}", e.what()));
  }
}

std::vector<int> poisson_weights(std::uint64_t seed, std::uint64_t unit_key, int replicates) {
  Rng rng = Rng::stream(seed, unit_key);
  std::vector<int> weights(static_cast<std::size_t>(replicates));
  for (auto& w : weights) w = rng.poisson(1.0);
  return weights;
}

BootstrapMean::BootstrapMean(int replicates, std::uint64_t seed)
    : replicates_(replicates), seed_(seed),
      weighted_sum_(static_cast<std::size_t>(replicates)),
      weight_total_(static_cast<std::size_t>(replicates), 0) {
  RECBIAS_CHECK(replicates >= 0, "BootstrapMean replicates must be >= 0");
}

void BootstrapMean::add(std::uint64_t unit_key, double value) {
  add(poisson_weights(seed_, unit_key, replicates_), value);
}

void BootstrapMean::add(const std::vector<int>& weights, double value) {
  RECBIAS_CHECK(weights.size() == static_cast<std::size_t>(replicates_), "weights size != replicates");
  sum_.add(value);
  ++n_;
  for (std::size_t r = 0; r < weights.size(); ++r) {
    if (weights[r] == 0) continue;
    weighted_sum_[r].add_scaled(value, weights[r]);
    weight_total_[r] += weights[r];
  }
}

void BootstrapMean::merge(const BootstrapMean& other) {
  RECBIAS_CHECK(other.replicates_ == replicates_ && other.seed_ == seed_,
                fmt::format("cannot merge bootstrap accumulators with (replicates, seed) ({}, {}) and ({}, {})",
                            replicates_, seed_, other.replicates_, other.seed_));
  n_ += other.n_;
  sum_.merge(other.sum_);
  for (std::size_t r = 0; r < weighted_sum_.size(); ++r) {
    weighted_sum_[r].merge(other.weighted_sum_[r]);
    weight_total_[r] += other.weight_total_[r];
  }
}

double BootstrapMean::mean() const {
  if (n_ == 0) return std::numeric_limits<double>::quiet_NaN();
  return sum_.value() / static_cast<double>(n_);
}

std::vector<double> BootstrapMean::replicate_means() const {
  std::vector<double> means;
  means.reserve(weighted_sum_.size());
  for (std::size_t r = 0; r < weighted_sum_.size(); ++r)
    if (weight_total_[r] > 0) means.push_back(weighted_sum_[r].value() / static_cast<double>(weight_total_[r]));
  return means;
}

Interval BootstrapMean::interval(double confidence) const {
  const auto means = replicate_means();
  if (n_ == 0 || means.empty()) return {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::quiet_NaN()};
  const double tail = (1 - confidence) / 2;
  return {percentile(means, tail), percentile(means, 1 - tail)};
}

bool BootstrapMean::operator==(const BootstrapMean& other) const {
  return replicates_ == other.replicates_ && seed_ == other.seed_ && n_ == other.n_ && sum_ == other.sum_ &&
         weighted_sum_ == other.weighted_sum_ && weight_total_ == other.weight_total_;
}

nlohmann::json BootstrapMean::to_json() const {
  nlohmann::json sums = nlohmann::json::array();
  for (const auto& s : weighted_sum_) sums.push_back(s.to_string());
  return {{"replicates", replicates_}, {"seed", seed_},          {"n", n_},
          {"sum", sum_.to_string()},   {"weighted_sums", sums},  {"weight_totals", weight_total_}};
}

BootstrapMean BootstrapMean::from_json(const nlohmann::json& j) {
  try {
    BootstrapMean out(j.at("replicates").get<int>(), j.at("seed").get<std::uint64_t>());
    out.n_ = j.at("n").get<std::int64_t>();
    out.sum_ = ExactSum::from_string(j.at("sum").get<std::string>());
    const auto& sums = j.at("weighted_sums");
    const auto& totals = j.at("weight_totals");
    if (sums.size() != out.weighted_sum_.size() || totals.size() != out.weight_total_.size())
      throw BadInput(fmt::format("bootstrap state: expected {} replicates, found {} sums and {} totals",
                                 out.replicates_, sums.size(), totals.size()));
    for (std::size_t r = 0; r < sums.size(); ++r) {
      out.weighted_sum_[r] = ExactSum::from_string(sums[r].get<std::string>());
      out.weight_total_[r] = totals[r].get<std::int64_t>();
    }
    return out;
  } catch (const nlohmann::json::exception& e) {
    throw BadInput(fmt::format("bootstrap state: {}", e.what()));
  }
}

}  // namespace recbias
