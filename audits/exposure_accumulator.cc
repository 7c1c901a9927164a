#include "audits/exposure_accumulator.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <map>
#include <set>

#include <fmt/format.h>

#include "core/errors.h"

namespace recbias {
namespace {

enum GroupSlot : std::size_t { kExposure, kCandidates, kRelevant, kGroupWidth };
// After the groups: totals, then recency (paired per user).
enum TotalSlot : std::size_t {
  kExposureTotal,
  kCandidateTotal,
  kUsers,
  kRecommendedYearMean,  // per user: mean year of the recommended items with a known year
  kRecommendedYearUsers,
  kHeldOutYear,
  kHeldOutYearUsers,
  kYearDifference,  // per user with both: recommended mean minus held-out year
  kPairedUsers,
  kCandidateYearDifference,  // per user: recommended mean minus the presented candidates' mean year (a random ranker's 0)
  kCandidatePairedUsers,
  kTotalWidth
};

}  // namespace

ExposureAccumulator::ExposureAccumulator(std::shared_ptr<const PopularityContext> context, int replicates) : context_(std::move(context)) {
  if (context_ && context_->catalog) {
    const Catalog& catalog = *context_->catalog;
    std::set<std::string> genres, eras;
    std::map<std::string, std::set<std::string>> others;  // the items' own attributes (items.jsonl), by name
    item_year_.assign(catalog.size(), 0);
    for (std::size_t i = 0; i < catalog.size(); ++i) {
      const auto& item = catalog.at(static_cast<ItemIndex>(i));
      genres.insert(item.categories.begin(), item.categories.end());
      item_year_[i] = release_year(item);
      if (item_year_[i]) eras.insert(release_era(item_year_[i]));
      for (const auto& [name, values] : item.attributes) others[name].insert(values.begin(), values.end());
    }
    // Groups in report order: genres, eras, then each item attribute by name.
    std::map<std::pair<std::string, std::string>, std::size_t> index;
    auto add_group = [&](const std::string& attribute, const std::string& value) {
      index[{attribute, value}] = groups_.size();
      groups_.push_back({attribute, value});
    };
    for (const auto& g : genres) add_group("genre", g);
    for (const auto& e : eras) add_group("era", e);
    for (const auto& [name, values] : others)
      for (const auto& v : values) add_group(name, v);
    item_groups_.resize(catalog.size());
    for (std::size_t i = 0; i < catalog.size(); ++i) {
      const auto& item = catalog.at(static_cast<ItemIndex>(i));
      std::set<std::size_t> mine;
      for (const auto& g : item.categories) mine.insert(index.at({"genre", g}));
      if (item_year_[i]) mine.insert(index.at({"era", release_era(item_year_[i])}));
      for (const auto& [name, values] : item.attributes)
        for (const auto& v : values) mine.insert(index.at({name, v}));
      item_groups_[i].assign(mine.begin(), mine.end());
    }
  }
  sums_ = ReplicatedSums(groups_.size() * kGroupWidth + kTotalWidth, replicates);
}

void ExposureAccumulator::add(const BaseOutcome& o) {
  const auto& identity = o.response(o.plan->identity);
  if (!usable(identity) || item_groups_.empty()) return;
  const auto& candidates = o.base->request.candidates;
  const std::size_t totals = groups_.size() * kGroupWidth;
  std::vector<double> values(sums_.size(), 0.0);
  double exposure = 0, year_sum = 0, years = 0;
  for (std::size_t r = 0; r < identity.ranking.size(); ++r) {
    const auto item = static_cast<std::size_t>(candidates[static_cast<std::size_t>(identity.ranking[r])]);
    const double w = 1.0 / std::log2(static_cast<double>(r) + 2.0);
    exposure += w;
    for (auto g : item_groups_[item]) values[g * kGroupWidth + kExposure] += w;
    if (item_year_[item]) year_sum += item_year_[item], years += 1;
  }
  double candidate_year_sum = 0, candidate_years = 0;
  for (auto c : candidates) {
    for (auto g : item_groups_[static_cast<std::size_t>(c)]) values[g * kGroupWidth + kCandidates] += 1;
    if (const int y = item_year_[static_cast<std::size_t>(c)]) candidate_year_sum += y, candidate_years += 1;
  }
  if (years > 0 && candidate_years > 0)
    values[totals + kCandidateYearDifference] = year_sum / years - candidate_year_sum / candidate_years, values[totals + kCandidatePairedUsers] = 1;
  const auto positive = static_cast<std::size_t>(candidates[static_cast<std::size_t>(o.base->positive_position)]);
  for (auto g : item_groups_[positive]) values[g * kGroupWidth + kRelevant] += 1;
  values[totals + kExposureTotal] = exposure;
  values[totals + kCandidateTotal] = static_cast<double>(candidates.size());
  values[totals + kUsers] = 1;
  if (years > 0) values[totals + kRecommendedYearMean] = year_sum / years, values[totals + kRecommendedYearUsers] = 1;
  if (const int held_out = item_year_[positive]) {
    values[totals + kHeldOutYear] = held_out;
    values[totals + kHeldOutYearUsers] = 1;
    if (years > 0) values[totals + kYearDifference] = year_sum / years - held_out, values[totals + kPairedUsers] = 1;
  }
  sums_.add(*o.weights, values);
}

void ExposureAccumulator::merge(const ExposureAccumulator& other) {
  if (groups_ != other.groups_) throw BadInput("exposure state: the parts have different item groups (different datasets?)");
  sums_.merge(other.sums_);
}

nlohmann::ordered_json ExposureAccumulator::result(double confidence) const {
  nlohmann::ordered_json out;
  const std::size_t totals = groups_.size() * kGroupWidth;
  out["weight"] = "exposure of rank r in the top-k answer: 1 / log2(1 + r)";
  out["users"] = sums_.total(totals + kUsers);
  auto metric = [&](const std::function<double(std::span<const double>)>& f, double n) {
    const auto e = sums_.estimate(f, confidence);
    return metric_json(e.value, e.ci, n);
  };
  const double users = sums_.total(totals + kUsers);
  nlohmann::ordered_json attributes = nlohmann::ordered_json::object();
  std::vector<std::string> names;  // genre, era, then the item attributes, in group order
  for (const auto& g : groups_)
    if (std::find(names.begin(), names.end(), g.first) == names.end()) names.push_back(g.first);
  for (const auto& attribute : names) {
    nlohmann::ordered_json groups = nlohmann::ordered_json::object();
    double exposure_all = 0, relevant_all = 0;
    for (std::size_t g = 0; g < groups_.size(); ++g)
      if (groups_[g].first == attribute)
        exposure_all += sums_.total(g * kGroupWidth + kExposure), relevant_all += sums_.total(g * kGroupWidth + kRelevant);
    double disparity = 0;
    for (std::size_t g = 0; g < groups_.size(); ++g) {
      if (groups_[g].first != attribute) continue;
      const std::size_t at = g * kGroupWidth;
      auto exposure_share = [at, totals](std::span<const double> s) {
        return s[totals + kExposureTotal] > 0 ? s[at + kExposure] / s[totals + kExposureTotal] : std::nan("");
      };
      auto candidate_share = [at, totals](std::span<const double> s) {
        return s[totals + kCandidateTotal] > 0 ? s[at + kCandidates] / s[totals + kCandidateTotal] : std::nan("");
      };
      auto relevance_share = [at, totals](std::span<const double> s) { return s[totals + kUsers] > 0 ? s[at + kRelevant] / s[totals + kUsers] : std::nan(""); };
      nlohmann::ordered_json entry;
      entry["exposure_share"] = metric(exposure_share, users);
      entry["candidate_share"] = metric(candidate_share, users);
      entry["relevance_share"] = metric(relevance_share, users);
      entry["exposure_minus_relevance"] = metric([&](std::span<const double> s) { return exposure_share(s) - relevance_share(s); }, users);
      entry["exposure_over_candidates"] = metric([&](std::span<const double> s) { return exposure_share(s) / candidate_share(s); }, users);
      groups[groups_[g].second] = entry;
      if (exposure_all > 0 && relevant_all > 0)
        disparity += std::abs(sums_.total(at + kExposure) / exposure_all - sums_.total(at + kRelevant) / relevant_all) / 2;
    }
    if (groups.empty()) continue;
    attributes[attribute] = {{"groups", groups},
                             {"disparity", exposure_all > 0 && relevant_all > 0 ? nlohmann::ordered_json(disparity) : nlohmann::ordered_json(nullptr)},
                             {"disparity_note", "descriptive: 1/2 sum |exposure - relevance distribution| over the groups; biased upward, no interval"}};
  }
  out["attributes"] = attributes;
  auto mean_over = [totals](std::size_t sum, std::size_t count) {
    return [=](std::span<const double> s) { return s[totals + count] > 0 ? s[totals + sum] / s[totals + count] : std::nan(""); };
  };
  out["recency"] = {{"recommended_year", metric(mean_over(kRecommendedYearMean, kRecommendedYearUsers), sums_.total(totals + kRecommendedYearUsers))},
                    {"held_out_year", metric(mean_over(kHeldOutYear, kHeldOutYearUsers), sums_.total(totals + kHeldOutYearUsers))},
                    {"difference", metric(mean_over(kYearDifference, kPairedUsers), sums_.total(totals + kPairedUsers))},
                    {"difference_note", "per user: mean release year of the recommended items minus the held-out item's (paired)"},
                    {"difference_vs_candidates", metric(mean_over(kCandidateYearDifference, kCandidatePairedUsers), sums_.total(totals + kCandidatePairedUsers))},
                    {"difference_vs_candidates_note",
                     "per user: mean release year of the recommended items minus the presented candidates' (0 for a random ranker; the "
                     "difference to the held-out item also reflects how candidates are sampled)"}};
  return out;
}

nlohmann::json ExposureAccumulator::state() const {
  nlohmann::json groups = nlohmann::json::array();
  for (const auto& [a, v] : groups_) groups.push_back({a, v});
  return {{"groups", groups}, {"sums", sums_.to_json()}};
}

void ExposureAccumulator::load_state(const nlohmann::json& j) {
  try {
    std::vector<std::pair<std::string, std::string>> groups;
    for (const auto& g : j.at("groups")) {
      const auto pair = g.get<std::vector<std::string>>();
      if (pair.size() != 2 || pair[0].empty()) throw BadInput("exposure state: a group is not [attribute, value] with a non-empty attribute");
      groups.push_back({pair[0], pair[1]});
    }
    auto sums = ReplicatedSums::from_json(j.at("sums"));
    if (sums.size() != groups.size() * kGroupWidth + kTotalWidth) throw BadInput("exposure state: the sums do not match the groups");
    if (!item_groups_.empty() && groups != groups_)
      throw BadInput("exposure state: its item groups are not this dataset's (a report of another dataset?)");
    groups_ = std::move(groups);
    sums_ = std::move(sums);
  } catch (const nlohmann::json::exception& e) {
    throw BadInput(fmt::format("exposure state: {}", e.what()));
  }
}

}  // namespace recbias
