#include "core/replicated_sums.h"

#include <cmath>
#include <limits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/bootstrap.h"
#include "core/errors.h"

namespace recbias {
ReplicatedSums::ReplicatedSums(std::size_t n_sums, int replicates)
    : n_(n_sums), replicates_(replicates), totals_(n_sums, 0),
      replicate_(n_sums * static_cast<std::size_t>(replicates), 0) {}

ReplicatedSums::int128 ReplicatedSums::to_fixed(double value) {
  if (!fits_fixed_point(value))
    throw InternalError(fmt::format("cannot accumulate value {}: expected a finite number below 2^62", value));
  return static_cast<int128>(std::nearbyint(value * kFixedPointScale));
}

void ReplicatedSums::add(std::span<const int> weights, std::span<const double> values) {
  RECBIAS_CHECK(values.size() == n_ && weights.size() == static_cast<std::size_t>(replicates_), "ReplicatedSums::add shape");
  // Only non-zero values touch the replicates. Values below 2^56 in fixed
  // point (|value| < 256) times a Poisson weight (< 2^6 in practice; checked)
  // fit a 64-bit product, which is much cheaper than a 128-bit one.
  thread_local std::vector<std::size_t> index;
  thread_local std::vector<std::int64_t> small;
  thread_local std::vector<int128> large;
  index.clear();
  small.clear();
  large.clear();
  bool all_small = true;
  for (std::size_t i = 0; i < n_; ++i) {
    const int128 fixed = to_fixed(values[i]);
    totals_[i] += fixed;
    if (fixed == 0) continue;
    index.push_back(i);
    large.push_back(fixed);
    const bool fits = fixed < (int128{1} << 56) && fixed > -(int128{1} << 56);
    all_small = all_small && fits;
    small.push_back(fits ? static_cast<std::int64_t>(fixed) : 0);
  }
  if (index.empty()) return;
  const std::size_t nz = index.size();
  for (std::size_t r = 0; r < weights.size(); ++r) {
    const int w = weights[r];
    if (w == 0) continue;
    int128* row = replicate_.data() + r * n_;
    if (all_small && w < 128) {
      for (std::size_t t = 0; t < nz; ++t) row[index[t]] += small[t] * w;
    } else {
      for (std::size_t t = 0; t < nz; ++t) row[index[t]] += large[t] * w;
    }
  }
}

void ReplicatedSums::add_at(std::span<const int> weights, std::size_t index, double value) {
  RECBIAS_CHECK(index < n_ && weights.size() == static_cast<std::size_t>(replicates_), "ReplicatedSums::add_at shape");
  const int128 fixed = to_fixed(value);
  totals_[index] += fixed;
  if (fixed == 0) return;
  for (std::size_t r = 0; r < weights.size(); ++r)
    if (weights[r] != 0) replicate_[r * n_ + index] += fixed * weights[r];
}

void ReplicatedSums::merge(const ReplicatedSums& other) {
  RECBIAS_CHECK(other.n_ == n_ && other.replicates_ == replicates_,
                fmt::format("cannot merge sums of shape ({}, {}) into ({}, {})", other.n_, other.replicates_, n_, replicates_));
  for (std::size_t i = 0; i < totals_.size(); ++i) totals_[i] += other.totals_[i];
  for (std::size_t i = 0; i < replicate_.size(); ++i) replicate_[i] += other.replicate_[i];
}

std::vector<double> ReplicatedSums::totals() const {
  std::vector<double> out(n_);
  for (std::size_t i = 0; i < n_; ++i) out[i] = static_cast<double>(totals_[i]) / kFixedPointScale;
  return out;
}

double ReplicatedSums::total(std::size_t index) const { return static_cast<double>(totals_.at(index)) / kFixedPointScale; }

std::vector<double> ReplicatedSums::replicate(int r) const {
  std::vector<double> out(n_);
  const int128* row = replicate_.data() + static_cast<std::size_t>(r) * n_;
  for (std::size_t i = 0; i < n_; ++i) out[i] = static_cast<double>(row[i]) / kFixedPointScale;
  return out;
}

Estimate ReplicatedSums::estimate(const std::function<double(std::span<const double>)>& statistic, double confidence) const {
  Estimate e;
  e.value = statistic(totals());
  std::vector<double> values;
  values.reserve(static_cast<std::size_t>(replicates_));
  for (int r = 0; r < replicates_; ++r) {
    const double v = statistic(replicate(r));
    if (std::isfinite(v)) values.push_back(v);
  }
  e.replicates_used = static_cast<int>(values.size());
  if (values.empty()) {
    e.ci = {std::nan(""), std::nan("")};
    return e;
  }
  const double tail = (1 - confidence) / 2;
  e.ci = {percentile(values, tail), percentile(values, 1 - tail)};
  return e;
}

ReplicatedValue ReplicatedSums::replicated(const std::function<double(std::span<const double>)>& statistic) const {
  ReplicatedValue out;
  out.value = statistic(totals());
  out.replicates.reserve(static_cast<std::size_t>(replicates_));
  for (int r = 0; r < replicates_; ++r) out.replicates.push_back(statistic(replicate(r)));
  return out;
}

nlohmann::json to_json(const ReplicatedValue& v) {
  // NaN is not JSON: undefined values are null.
  auto number = [](double x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr); };
  nlohmann::json reps = nlohmann::json::array();
  for (double x : v.replicates) reps.push_back(number(x));
  return {{"value", number(v.value)}, {"replicates", reps}};
}

std::optional<Estimate> paired_difference(const nlohmann::json& a, const nlohmann::json& b, double confidence) {
  auto read = [](const nlohmann::json& j, const char* key) -> const nlohmann::json* {
    if (!j.is_object()) return nullptr;
    const auto it = j.find(key);
    return it == j.end() ? nullptr : &*it;
  };
  const auto *va = read(a, "value"), *vb = read(b, "value"), *ra = read(a, "replicates"), *rb = read(b, "replicates");
  if (!va || !vb || !ra || !rb || !va->is_number() || !vb->is_number() || !ra->is_array() || !rb->is_array() || ra->size() != rb->size())
    return std::nullopt;
  Estimate e;
  e.value = va->get<double>() - vb->get<double>();
  std::vector<double> values;
  for (std::size_t r = 0; r < ra->size(); ++r) {
    const auto &x = (*ra)[r], &y = (*rb)[r];
    if (!x.is_number() || !y.is_number()) continue;
    const double d = x.get<double>() - y.get<double>();
    if (std::isfinite(d)) values.push_back(d);
  }
  e.replicates_used = static_cast<int>(values.size());
  if (values.size() < 2 || !std::isfinite(e.value)) return std::nullopt;
  const double tail = (1 - confidence) / 2;
  e.ci = {percentile(values, tail), percentile(values, 1 - tail)};
  return e;
}

nlohmann::json ReplicatedSums::to_json() const {
  nlohmann::json totals = nlohmann::json::array(), reps = nlohmann::json::array();
  for (auto v : totals_) totals.push_back(int128_to_decimal(v));
  for (auto v : replicate_) reps.push_back(int128_to_decimal(v));
  return {{"n", n_}, {"replicates", replicates_}, {"totals", totals}, {"replicate_sums", reps}};
}

ReplicatedSums ReplicatedSums::from_json(const nlohmann::json& j) {
  try {
    // Sizes are checked against the file's arrays before anything is allocated.
    const auto n = j.at("n").get<std::int64_t>();
    const auto replicates = j.at("replicates").get<std::int64_t>();
    const auto& totals = j.at("totals");
    const auto& reps = j.at("replicate_sums");
    if (n < 0 || replicates < 0 || replicates > std::numeric_limits<int>::max() || totals.size() != static_cast<std::size_t>(n) ||
        (n > 0 && reps.size() / static_cast<std::size_t>(n) != static_cast<std::size_t>(replicates)) ||
        reps.size() != static_cast<std::size_t>(n) * static_cast<std::size_t>(replicates))
      throw BadInput(fmt::format("replicated sums: n {} and replicates {} do not match arrays of {} totals and {} replicate sums", n,
                                 replicates, totals.size(), reps.size()));
    ReplicatedSums out(static_cast<std::size_t>(n), static_cast<int>(replicates));
    for (std::size_t i = 0; i < totals.size(); ++i) out.totals_[i] = int128_from_decimal(totals[i].get<std::string>());
    for (std::size_t i = 0; i < reps.size(); ++i) out.replicate_[i] = int128_from_decimal(reps[i].get<std::string>());
    return out;
  } catch (const nlohmann::json::exception& e) {
    throw BadInput(fmt::format("replicated sums state: {}", e.what()));
  }
}

}  // namespace recbias
