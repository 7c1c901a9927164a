#include "audits/plan.h"

#include <algorithm>
#include <numeric>
#include <unordered_map>

#include <fmt/format.h>

#include "audits/audit.h"
#include "core/errors.h"
#include "core/rng.h"

namespace recbias {

bool audit_enabled(const AuditOptions& options, const std::string& name) {
  return std::find(options.audits.begin(), options.audits.end(), name) != options.audits.end();
}

std::vector<std::vector<int>> make_permutations(PermutationDesign design, int k, int p, std::uint64_t seed,
                                                const std::string& request_id) {
  RECBIAS_CHECK(k >= 1 && p >= 1, "make_permutations needs k >= 1 and p >= 1");
  if (design == PermutationDesign::kLatin && p > k) throw BadInput(fmt::format("--design latin needs --permutations <= K ({} > {})", p, k));
  Rng rng = Rng::stream(seed, "permutations/" + request_id);
  return permutation_orders(design, k, p, rng);
}

namespace {

// Two calls ask the same when the model sees the same (the request id aside).
bool same_content(const RankRequest& a, const RankRequest& b) {
  return a.open == b.open && a.k == b.k && a.sample == b.sample && a.candidates == b.candidates && a.user.id == b.user.id &&
         a.user.history == b.user.history && a.user.attributes == b.user.attributes && a.user.fan_of == b.user.fan_of;
}

// A hash of what differs between a base's calls (order, draw, stated
// attributes; of the history only its length: its variants are also
// separate draws); same_content decides.
std::uint64_t content_hash(const RankRequest& r) {
  std::uint64_t h = hash_combine(r.sample, static_cast<std::uint64_t>(r.k) * 2 + r.open);
  h = hash_combine(h, r.user.history.size());
  for (auto c : r.candidates) h = hash_combine(h, static_cast<std::uint64_t>(c));
  for (const auto& [a, v] : r.user.attributes) h = hash_combine(hash_combine(h, stable_hash(a)), stable_hash(v));
  return h;
}

}  // namespace

std::vector<ItemIndex> history_variant(const std::vector<ItemIndex>& history, HistoryVariant variant, int window, std::uint64_t seed,
                                       const std::string& rng_key, const std::vector<double>& ratings) {
  const auto keep = std::min(history.size(), static_cast<std::size_t>(std::max(window, 0)));
  if (variant == kHistoryTopRated || variant == kHistorySampled) {
    std::vector<std::size_t> at(history.size());
    std::iota(at.begin(), at.end(), 0);
    if (variant == kHistoryTopRated) {
      auto rating = [&](std::size_t i) { return i < ratings.size() ? ratings[i] : 0.0; };
      std::stable_sort(at.begin(), at.end(), [&](std::size_t a, std::size_t b) { return rating(a) != rating(b) ? rating(a) > rating(b) : a > b; });
    } else {
      Rng rng = Rng::stream(seed, "history-sample/" + rng_key);
      rng.shuffle(at);
    }
    at.resize(keep);
    std::sort(at.begin(), at.end());  // time order
    std::vector<ItemIndex> out;
    for (auto i : at) out.push_back(history[i]);
    return out;
  }
  std::vector<ItemIndex> out(history.end() - static_cast<std::ptrdiff_t>(keep), history.end());
  switch (variant) {
    case kHistoryOriginal:
    case kHistoryResample:
      break;
    case kHistoryShuffled: {
      Rng rng = Rng::stream(seed, "history/" + rng_key);
      // A shuffle that leaves the order as it was compares nothing: draw again (at most a few times for 2 items).
      const auto original = out;
      for (int attempt = 0; attempt < 64 && (attempt == 0 || out == original); ++attempt) rng.shuffle(out);
      break;
    }
    case kHistoryReversed:
      std::reverse(out.begin(), out.end());
      break;
    case kHistoryTruncated:
      out.erase(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(out.size() / 2));
      break;
    case kHistoryTopRated:
    case kHistorySampled:
    case kHistoryVariants:
      break;
  }
  return out;
}

std::vector<Profile> fairness_profiles(const AuditOptions& options) {
  std::vector<Profile> profiles;
  for (const auto& set : options.attributes)
    for (const auto& value : set.values) profiles.push_back({{set.name, value}});
  if (options.intersections)
    for (std::size_t a = 0; a < options.attributes.size(); ++a)
      for (std::size_t b = a + 1; b < options.attributes.size(); ++b)
        for (const auto& va : options.attributes[a].values)
          for (const auto& vb : options.attributes[b].values) {
            Profile p = {{options.attributes[a].name, va}, {options.attributes[b].name, vb}};
            std::sort(p.begin(), p.end());
            profiles.push_back(std::move(p));
          }
  return profiles;
}

void make_open(std::vector<EvalRequest>& bases) {
  for (auto& base : bases) {
    base.request.open = true;
    base.request.candidates.clear();
    base.positive_position = static_cast<int>(base.positive);
  }
}

Plan build_plan(const std::vector<EvalRequest>& bases, const AuditOptions& options) {
  Plan plan;
  // The probes the asked-for audits need (audit_registry.cc).
  const bool position = probe_requested(options, Probe::kPermutations);
  // Stated values (fairness, and the open audit's FaiRLLM comparison); the
  // neutral profile asked again only for the fairness audit's noise floor.
  const bool fairness = probe_requested(options, Probe::kCounterfactualProfiles);
  const bool noise_floor = audit_enabled(options, "fairness");
  const bool history = probe_requested(options, Probe::kHistoryPerturbations);
  if (!bases.empty() && bases[0].request.open && (position || history))
    throw BadInput("candidate-free (open) requests have no presented candidates to permute or rank: run fairness, grounding, accuracy and open");
  if (history && options.history_window < 2)
    throw BadInput(fmt::format("--history-window {}: expected at least 2 (the history probe reorders the last W items)", options.history_window));
  if (noise_floor && options.attributes.empty())
    throw BadInput("the fairness audit needs attributes: pass --attributes dataset or --attributes fairllm");
  const auto profiles = fairness ? fairness_profiles(options) : std::vector<Profile>{};
  plan.bases.reserve(bases.size());
  for (const auto& base : bases) {
    std::unordered_multimap<std::uint64_t, std::size_t> seen;  // content hash -> call index, within this base
    BasePlan bp;
    auto add = [&](RankRequest request, const std::string& suffix) {
      ++plan.variants;
      const auto hash = content_hash(request);
      for (auto [it, end] = seen.equal_range(hash); it != end; ++it)
        if (same_content(plan.calls[it->second], request)) return it->second;
      request.id = base.request.id + suffix;
      plan.calls.push_back(std::move(request));
      const std::size_t index = plan.calls.size() - 1;
      seen.emplace(hash, index);
      bp.calls.push_back(index);
      return index;
    };
    bp.identity = add(base.request, "");
    const int k = static_cast<int>(base.request.candidates.size());
    if (position) {
      const int p = options.permutations > 0 ? options.permutations : k;
      bp.orders = make_permutations(options.design, k, p, options.seed, base.request.id);
      for (std::size_t s = 0; s < bp.orders.size(); ++s) {
        RankRequest r = base.request;
        for (int j = 0; j < k; ++j)
          r.candidates[static_cast<std::size_t>(j)] = base.request.candidates[static_cast<std::size_t>(bp.orders[s][static_cast<std::size_t>(j)])];
        r.sample = base.request.sample + s;  // its own draw (plan.h); order 0 is the identity, draw 0
        bp.permuted.push_back(add(std::move(r), fmt::format("/perm{}", s)));
      }
    }
    if (fairness) {
      bp.profiles = profiles;
      for (std::size_t i = 0; i < profiles.size(); ++i) {
        RankRequest r = base.request;
        r.sample = base.request.sample + kFairnessDraws + 1 + i;
        std::string suffix = "/attr";
        for (const auto& [a, v] : profiles[i]) {
          r.user.attributes[a] = v;
          suffix += ":" + a + "=" + v;
        }
        bp.counterfactual.push_back(add(std::move(r), suffix));
      }
      if (noise_floor) {
        RankRequest noise = base.request;
        noise.sample = base.request.sample + kFairnessDraws;
        bp.noise = add(std::move(noise), "/noise");
      }
    }
    if (history) {
      bp.history.assign(kHistoryVariants, SIZE_MAX);
      if (base.request.user.history.size() >= 2)
        for (std::size_t v = 0; v < kHistoryVariants; ++v) {
          RankRequest r = base.request;
          r.user.history = history_variant(base.request.user.history, static_cast<HistoryVariant>(v), options.history_window, options.seed,
                                           base.request.id, base.history_ratings);
          // A profile sample that shows the recent window's items (a history of
          // at most W items) compares nothing: not asked.
          if ((v == kHistoryTopRated || v == kHistorySampled) && r.user.history == plan.calls[bp.history[kHistoryOriginal]].user.history) continue;
          r.sample = base.request.sample + (v == kHistoryOriginal ? 0 : kHistoryDraws + v);
          bp.history[v] = add(std::move(r), std::string("/history-") + kHistoryVariantNames[v]);
        }
    }
    plan.bases.push_back(std::move(bp));
  }
  return plan;
}

}  // namespace recbias
