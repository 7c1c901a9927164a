#include "mitigations/operators.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include <fmt/format.h>

#include "core/errors.h"
#include "core/permutations.h"
#include "core/rng.h"

namespace recbias {
namespace {

std::string shape_of(const torch::Tensor& t) {
  std::string s = "[";
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
  return s + "]";
}

void require(const torch::Tensor& t, int64_t dims, const char* name, const char* expected) {
  if (!t.defined()) throw InternalError(fmt::format("{}: tensor is undefined, expected {}", name, expected));
  if (t.dim() != dims)
    throw InternalError(fmt::format("{} should be a {}D tensor {}, got {}D {}", name, dims, expected, t.dim(), shape_of(t)));
}

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

}  // namespace

PermutationEnsemble::PermutationEnsemble(torch::Tensor permutations) : permutations_(std::move(permutations)) {
  require(permutations_, 2, "permutations", "[m, K] int64");
  if (permutations_.scalar_type() != torch::kInt64)
    throw InternalError(fmt::format("permutations should be int64, got {}", c10::toString(permutations_.scalar_type())));
  // Each row must be a permutation of 0..K-1.
  const auto sorted = std::get<0>(permutations_.sort(1));
  const auto expected = torch::arange(permutations_.size(1), torch::kInt64).expand_as(sorted);
  if (!torch::equal(sorted.cpu(), expected.cpu())) throw InternalError("permutations: every row must be a permutation of 0..K-1");
}

torch::Tensor PermutationEnsemble::cyclic(int k, int m) {
  Rng unused(0);  // the cyclic design draws nothing
  return from_orders(permutation_orders(PermutationDesign::kCyclic, k, m, unused));
}

torch::Tensor PermutationEnsemble::from_orders(const std::vector<std::vector<int>>& orders) {
  const auto m = static_cast<int64_t>(orders.size()), k = static_cast<int64_t>(orders.empty() ? 0 : orders[0].size());
  auto out = torch::empty({m, k}, torch::kInt64);
  auto a = out.accessor<int64_t, 2>();
  for (int64_t s = 0; s < m; ++s)
    for (int64_t j = 0; j < k; ++j) a[s][j] = orders[static_cast<std::size_t>(s)][static_cast<std::size_t>(j)];
  return out;
}

torch::Tensor PermutationEnsemble::operator()(const torch::Tensor& candidates,
                                              const std::function<torch::Tensor(const torch::Tensor&)>& scorer) const {
  require(candidates, 2, "candidates", "[B, K] int64");
  const int64_t b = candidates.size(0), k = candidates.size(1), m = permutations_.size(0);
  if (k != permutations_.size(1))
    throw InternalError(fmt::format("candidates have K = {}, permutations K = {}", k, permutations_.size(1)));
  const auto perm = permutations_.to(candidates.device()).unsqueeze(0).expand({b, m, k});
  // Gather: member r shows candidate perm[r, j] at position j.
  const auto permuted = candidates.unsqueeze(1).expand({b, m, k}).gather(2, perm).reshape({b * m, k});
  const auto scores = scorer(permuted);  // ONE forward for all B * m requests
  require(scores, 2, "scorer output", "[B*m, K]");
  if (scores.size(0) != b * m || scores.size(1) != k)
    throw InternalError(fmt::format("scorer returned {}, expected [{}, {}]", shape_of(scores), b * m, k));
  // Scatter back: the score at position j belongs to original candidate perm[r, j].
  const auto by_member = scores.reshape({b, m, k});
  return torch::zeros_like(by_member).scatter(2, perm, by_member);
}

RankAggregator::RankAggregator(Method method, int rrf_k) : method_(method), rrf_k_(rrf_k) {}

RankAggregator::Method RankAggregator::parse(const std::string& name) {
  if (name == "mean") return Method::kMean;
  if (name == "borda") return Method::kBorda;
  if (name == "rrf") return Method::kRrf;
  if (name == "kemeny") return Method::kKemeny;
  throw BadInput(fmt::format("unknown aggregation \"{}\"; known aggregations: mean, borda, rrf, kemeny", name));
}

torch::Tensor ranks_from_scores(const torch::Tensor& scores, const torch::Tensor& valid) {
  const auto masked = scores.masked_fill(valid.logical_not(), kNegInf);
  const auto order = std::get<1>(masked.sort(/*stable=*/true, /*dim=*/-1, /*descending=*/true));
  const auto rank = order.argsort(/*dim=*/int64_t{-1}, /*descending=*/false);
  const auto n_valid = valid.sum(-1, /*keepdim=*/true).to(rank.scalar_type());
  return torch::where(valid, rank, n_valid.expand_as(rank));
}

double kemeny_agreement(const std::vector<std::vector<double>>& p, const std::vector<int>& order) {
  double sum = 0;
  for (std::size_t i = 0; i < order.size(); ++i)
    for (std::size_t j = i + 1; j < order.size(); ++j) sum += p[static_cast<std::size_t>(order[i])][static_cast<std::size_t>(order[j])];
  return sum;
}

std::vector<int> kemeny_exact(const std::vector<std::vector<double>>& p) {
  const int k = static_cast<int>(p.size());
  if (k > 12) throw InternalError("kemeny_exact: K above 12 is too large for the exact search");
  const std::size_t states = std::size_t{1} << k;
  std::vector<double> best(states, kNegInf);
  std::vector<int> last(states, -1);
  best[0] = 0;
  for (std::size_t s = 0; s < states; ++s) {
    if (best[s] == kNegInf) continue;
    for (int a = 0; a < k; ++a) {
      if (s & (std::size_t{1} << a)) continue;
      const std::size_t next = s | (std::size_t{1} << a);
      double gain = 0;  // a goes above everything not yet placed
      for (int c = 0; c < k; ++c)
        if (c != a && !(next & (std::size_t{1} << c))) gain += p[static_cast<std::size_t>(a)][static_cast<std::size_t>(c)];
      if (best[s] + gain > best[next]) {
        best[next] = best[s] + gain;
        last[next] = a;
      }
    }
  }
  std::vector<int> order;
  for (std::size_t s = states - 1; s != 0; s &= ~(std::size_t{1} << last[s])) order.push_back(last[s]);
  std::reverse(order.begin(), order.end());
  return order;
}

std::vector<int> kemeny_local_search(const std::vector<std::vector<double>>& p, std::vector<int> order) {
  // Local Kemenisation (Dwork et al. 2001): swap adjacent pairs the majority orders
  // the other way until none is left; every swap strictly raises the agreement.
  bool changed = true;
  while (changed) {
    changed = false;
    for (std::size_t i = 0; i + 1 < order.size(); ++i) {
      const auto a = static_cast<std::size_t>(order[i]), b = static_cast<std::size_t>(order[i + 1]);
      if (p[b][a] > p[a][b]) {
        std::swap(order[i], order[i + 1]);
        changed = true;
      }
    }
  }
  return order;
}

torch::Tensor RankAggregator::operator()(const torch::Tensor& scores, const torch::Tensor& valid_in) const {
  require(scores, 3, "scores", "[B, m, K]");
  const auto valid = valid_in.defined() ? valid_in.to(torch::kBool) : torch::ones_like(scores, torch::kBool);
  if (valid.sizes() != scores.sizes()) throw InternalError(fmt::format("valid {} does not match scores {}", shape_of(valid), shape_of(scores)));
  const auto x = scores.to(torch::kFloat64);
  const auto vf = valid.to(torch::kFloat64);
  const auto members_with = vf.sum(1);  // [B, K]
  const auto never = members_with.eq(0);
  torch::Tensor out;
  switch (method_) {
    case Method::kMean: {
      const auto n = vf.sum(-1, true).clamp_min(1);
      const auto mean = (x * vf).sum(-1, true) / n;
      const auto var = (((x - mean) * vf).pow(2)).sum(-1, true) / n;
      const auto sd = var.sqrt();
      const auto z = torch::where(sd > 0, (x - mean) / sd.clamp_min(1e-300), torch::zeros_like(x)) * vf;
      out = z.sum(1) / members_with.clamp_min(1);
      break;
    }
    case Method::kBorda: {
      const auto rank = ranks_from_scores(x, valid).to(torch::kFloat64);
      const auto points = (vf.sum(-1, true) - 1 - rank) * vf;
      out = points.sum(1) / members_with.clamp_min(1);
      break;
    }
    case Method::kRrf: {
      const auto rank = ranks_from_scores(x, valid).to(torch::kFloat64);
      out = (vf / (rrf_k_ + rank + 1)).sum(1);
      break;
    }
    case Method::kKemeny: {
      const auto rank = ranks_from_scores(x, valid);
      // precedence[b, a, c] = members ranking a above c (both present).
      const auto before = rank.unsqueeze(-1).lt(rank.unsqueeze(-2)) & valid.unsqueeze(-1) & valid.unsqueeze(-2);
      const auto precedence = before.to(torch::kFloat64).sum(1).cpu().contiguous();  // CPU: combinatorial search
      const auto borda = RankAggregator(Method::kBorda)(scores, valid).cpu();
      const int64_t b = scores.size(0), k = scores.size(2);
      auto result = torch::empty({b, k}, torch::kFloat64);
      auto pa = precedence.accessor<double, 3>();
      for (int64_t row = 0; row < b; ++row) {
        std::vector<std::vector<double>> p(static_cast<std::size_t>(k), std::vector<double>(static_cast<std::size_t>(k)));
        for (int64_t a = 0; a < k; ++a)
          for (int64_t c = 0; c < k; ++c) p[static_cast<std::size_t>(a)][static_cast<std::size_t>(c)] = pa[row][a][c];
        std::vector<int> order;
        if (k <= 10) {
          order = kemeny_exact(p);
        } else {
          std::vector<int> start(static_cast<std::size_t>(k));
          std::iota(start.begin(), start.end(), 0);
          const auto br = borda[row];
          std::stable_sort(start.begin(), start.end(), [&](int u, int v) { return br[u].item<double>() > br[v].item<double>(); });
          order = kemeny_local_search(p, start);
        }
        for (std::size_t pos = 0; pos < order.size(); ++pos) result[row][order[pos]] = static_cast<double>(k - static_cast<int64_t>(pos));
      }
      out = result.to(scores.device());
      break;
    }
  }
  return out.masked_fill(never, kNegInf).to(scores.scalar_type());
}

PositionCalibration::PositionCalibration(torch::Tensor prior) {
  require(prior, 1, "prior", "[K]");
  if (!(prior > 0).all().item<bool>()) throw BadInput("position calibration: every position's prior must be > 0");
  log_prior_ = (prior.to(torch::kFloat64) / prior.to(torch::kFloat64).sum()).log();
}

torch::Tensor PositionCalibration::operator()(const torch::Tensor& scores) const {
  require(scores, 2, "scores", "[B, K]");
  if (scores.size(1) != log_prior_.size(0))
    throw InternalError(fmt::format("scores have K = {}, the prior has {}", scores.size(1), log_prior_.size(0)));
  return scores - log_prior_.to(scores.device(), scores.scalar_type()).unsqueeze(0);
}

CalibratedReranker::CalibratedReranker(double lambda, int k, double alpha) : lambda_(lambda), k_(k), alpha_(alpha) {
  if (!(lambda >= 0 && lambda <= 1)) throw BadInput(fmt::format("calibrated re-ranking: lambda = {}: expected [0, 1]", lambda));
  if (k < 1) throw BadInput(fmt::format("calibrated re-ranking: k = {}: expected >= 1", k));
}

namespace {

// KL(p || (1 - alpha) q + alpha p) with 0 log 0 = 0; p [B, 1 or K, G], q [B, K, G].
torch::Tensor kl_smoothed(const torch::Tensor& p, const torch::Tensor& q, double alpha) {
  const auto q_tilde = (1 - alpha) * q + alpha * p;
  const auto terms = torch::where(p > 0, p * (p.clamp_min(1e-300) / q_tilde.clamp_min(1e-300)).log(), torch::zeros_like(p));
  return terms.sum(-1);
}

}  // namespace

torch::Tensor CalibratedReranker::operator()(const torch::Tensor& scores, const torch::Tensor& item_categories,
                                             const torch::Tensor& target, const torch::Tensor& tie_key) const {
  require(scores, 2, "scores", "[B, K]");
  require(item_categories, 3, "item_categories", "[B, K, G]");
  require(target, 2, "target", "[B, G]");
  const int64_t b = scores.size(0), k = scores.size(1);
  const auto s = scores.to(torch::kFloat64);
  const auto cats = item_categories.to(torch::kFloat64);
  const auto p = target.to(torch::kFloat64).unsqueeze(1);  // [B, 1, G]
  auto selected = torch::zeros({b, k}, torch::TensorOptions().dtype(torch::kBool).device(scores.device()));
  auto q_sum = torch::zeros({b, cats.size(2)}, cats.options());
  const int64_t steps = std::min<int64_t>(k_, k);
  auto picks = torch::empty({b, steps}, torch::TensorOptions().dtype(torch::kInt64).device(scores.device()));
  const auto rows = torch::arange(b, picks.options());
  const auto p_col = p.squeeze(1).unsqueeze(2);  // [B, G, 1]
  const auto p_flat = p.squeeze(1);              // [B, G]
  for (int64_t t = 0; t < steps; ++t) {
    // With q~0 = (1 - alpha) q_sum / (t + 1) + alpha p (the list so far) and
    // a = (1 - alpha) / (t + 1), adding candidate i makes q~ = q~0 + a cats_i,
    // so KL(p || q~) = const - sum_c p_c log1p(a cats_ic / q~0_c): the
    // objective's argmax is that of (1 - lambda) s_i + lambda D_i with
    // D_i = sum_c p_c log1p(a cats_ic / q~0_c). Three passes over [B, K, G]
    // instead of ten; genres with p_c = 0 contribute nothing (weight 0).
    const double a = (1 - alpha_) / static_cast<double>(t + 1);
    const auto q0 = (1 - alpha_) * q_sum / static_cast<double>(t + 1) + alpha_ * p_flat;
    const auto weight = torch::where(p_flat > 0, a / q0.clamp_min(1e-300), torch::zeros_like(q0));
    const auto gain = torch::bmm((cats * weight.unsqueeze(1)).log1p_(), p_col).squeeze(2);  // D [B, K]
    const auto objective = (1 - lambda_) * s + lambda_ * gain;
    const auto pick = argmax_tie_key(objective.masked_fill(selected, kNegInf), tie_key);
    picks.select(1, t).copy_(pick);
    selected.index_put_({rows, pick}, true);
    q_sum = q_sum + cats.index({rows, pick});
  }
  return picks;
}

torch::Tensor CalibratedReranker::kl(const torch::Tensor& selection, const torch::Tensor& item_categories, const torch::Tensor& target) const {
  const auto cats = item_categories.to(torch::kFloat64);
  const auto chosen = cats.gather(1, selection.unsqueeze(-1).expand({selection.size(0), selection.size(1), cats.size(2)}));
  const auto q = chosen.mean(1, true);
  return kl_smoothed(target.to(torch::kFloat64).unsqueeze(1), q, alpha_).squeeze(1);
}

torch::Tensor argmax_tie_key(const torch::Tensor& values, const torch::Tensor& tie_key) {
  if (!tie_key.defined()) return values.argmax(1);
  const auto best = std::get<0>(values.max(1, /*keepdim=*/true));
  const auto key = tie_key.to(values.device(), torch::kFloat64);
  return key.masked_fill(values != best, std::numeric_limits<double>::infinity()).argmin(1);
}

torch::Tensor counterfactual_mean(const torch::Tensor& scores_by_value) {
  require(scores_by_value, 3, "scores_by_value", "[B, V, K]");
  return scores_by_value.mean(1);
}

torch::Tensor fair_topk(const torch::Tensor& scores, const torch::Tensor& is_protected, const std::vector<int>& table,
                        const torch::Tensor& tie_key) {
  require(scores, 2, "scores", "[B, K]");
  require(is_protected, 2, "is_protected", "[B, K] bool");
  const int64_t b = scores.size(0), k = scores.size(1);
  const int64_t steps = std::min<int64_t>(static_cast<int64_t>(table.size()), k);
  const auto s = scores.to(torch::kFloat64);
  const auto prot = is_protected.to(torch::kBool);
  auto selected = torch::zeros({b, k}, prot.options());
  auto count = torch::zeros({b}, torch::TensorOptions().dtype(torch::kInt64).device(scores.device()));
  auto picks = torch::empty({b, steps}, count.options());
  const auto rows = torch::arange(b, count.options());
  // Ties: protected first, then the smaller tie key (item index), then position.
  const auto base_key = tie_key.defined() ? tie_key.to(s.device(), torch::kFloat64)
                                          : torch::arange(k, s.options()).unsqueeze(0).expand({b, k});
  const auto key = base_key - prot.to(torch::kFloat64) * 1e15;
  for (int64_t t = 0; t < steps; ++t) {
    const auto open = s.masked_fill(selected, kNegInf);
    const auto open_protected = open.masked_fill(prot.logical_not(), kNegInf);
    const auto have_protected = std::get<0>(open_protected.max(1)) > kNegInf;
    const auto need = count < table[static_cast<std::size_t>(t)];
    const auto pick = torch::where(need & have_protected, argmax_tie_key(open_protected, key), argmax_tie_key(open, key));
    picks.select(1, t).copy_(pick);
    selected.index_put_({rows, pick}, true);
    count = count + prot.index({rows, pick}).to(torch::kInt64);
  }
  return picks;
}

}  // namespace recbias
