#include "audits/list_similarity.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "core/errors.h"
#include "core/stats.h"
#include "core/text.h"

namespace recbias {
namespace {

// The audits compare lists of base-candidate indices (0..K-1), so ids are
// small: a fixed bitset on the stack replaces hash sets (no allocation;
// bench/list_similarity_bench.cc measures the difference). Other ids take
// the general path.
constexpr int kSmallIds = 512;

struct SmallSet {
  std::array<std::uint64_t, kSmallIds / 64> words{};
  // Adds `id`; false when it was already there.
  bool insert(int id) {
    auto& w = words[static_cast<std::size_t>(id) >> 6];
    const std::uint64_t bit = std::uint64_t{1} << (id & 63);
    const bool fresh = (w & bit) == 0;
    w |= bit;
    return fresh;
  }
  bool contains(int id) const { return (words[static_cast<std::size_t>(id) >> 6] >> (id & 63)) & 1U; }
};

bool small_ids(std::span<const int> list) {
  return std::all_of(list.begin(), list.end(), [](int id) { return static_cast<unsigned>(id) < static_cast<unsigned>(kSmallIds); });
}

double serp_sum_to_value(double sum, std::size_t x_size, std::size_t y_size, bool fairllm_compat) {
  if (fairllm_compat) {
    if (y_size == 0) return 0.0;
    const double ly = static_cast<double>(y_size);
    return sum * 0.5 / ((ly + 1) * ly);
  }
  const double n = static_cast<double>(std::max(x_size, y_size));
  if (n == 0) return 1.0;
  return sum / (n * (n + 1) / 2);
}

// RBO_ext (eq. 32) over small ids; nullopt when a list repeats an id (the
// general path then reports it).
std::optional<double> rbo_small(std::span<const int> s, std::span<const int> l, double p) {
  if (s.size() > l.size()) std::swap(s, l);
  if (l.empty()) return 1.0;
  if (s.empty()) return 0.0;
  SmallSet seen_s, seen_l;
  const std::size_t s_len = s.size(), l_len = l.size();
  double overlap = 0, sum = 0, tail = 0, x_s = 0, p_d = 1;
  for (std::size_t d = 1; d <= l_len; ++d) {
    p_d *= p;
    const int from_l = l[d - 1];
    if (d <= s_len) {
      const int from_s = s[d - 1];
      if (from_s == from_l) overlap += 1;
      else overlap += static_cast<double>(seen_l.contains(from_s)) + static_cast<double>(seen_s.contains(from_l));
      if (!seen_s.insert(from_s)) return std::nullopt;
    } else if (seen_s.contains(from_l)) {
      overlap += 1;
    }
    if (!seen_l.insert(from_l)) return std::nullopt;
    if (d == s_len) x_s = overlap;
    sum += overlap / static_cast<double>(d) * p_d;
    if (d > s_len) {
      const double dd = static_cast<double>(d), ss = static_cast<double>(s_len);
      tail += x_s * (dd - ss) / (ss * dd) * p_d;
    }
  }
  const double ll = static_cast<double>(l_len), ss = static_cast<double>(s_len);
  return (1 - p) / p * (sum + tail) + ((overlap - x_s) / ll + x_s / ss) * p_d;
}

}  // namespace

double jaccard(std::span<const int> a, std::span<const int> b) {
  if (small_ids(a) && small_ids(b)) {
    SmallSet sa, sb;
    for (int v : a) sa.insert(v);
    for (int v : b) sb.insert(v);
    int both = 0, either = 0;
    for (std::size_t w = 0; w < sa.words.size(); ++w) {
      both += std::popcount(sa.words[w] & sb.words[w]);
      either += std::popcount(sa.words[w] | sb.words[w]);
    }
    return either == 0 ? 1.0 : static_cast<double>(both) / either;
  }
  std::unordered_set<int> sa(a.begin(), a.end()), sb(b.begin(), b.end());
  if (sa.empty() && sb.empty()) return 1.0;
  std::size_t both = 0;
  for (int v : sa) both += sb.count(v);
  return static_cast<double>(both) / static_cast<double>(sa.size() + sb.size() - both);
}

double serp_star(std::span<const int> x, std::span<const int> y, bool fairllm_compat) {
  const double k = static_cast<double>(x.size());
  const double n = static_cast<double>(std::max(x.size(), y.size()));
  // compat: FaiRLLM's len(x) - i + 1 (0-based i), counted once per equal
  // (x_i, y_j) pair as calc_serp_ms does; normalised: n - i, once per x_i in y.
  auto weight = [&](std::size_t i) { return fairllm_compat ? k - static_cast<double>(i) + 1 : n - static_cast<double>(i); };
  double sum = 0;
  if (small_ids(y) && small_ids(x)) {
    SmallSet in_y;
    bool repeats = false;
    for (int v : y) repeats = !in_y.insert(v) || repeats;
    if (!repeats || !fairllm_compat) {
      for (std::size_t i = 0; i < x.size(); ++i)
        if (in_y.contains(x[i])) sum += weight(i);
      return serp_sum_to_value(sum, x.size(), y.size(), fairllm_compat);
    }
  }
  std::unordered_map<int, int> count_in_y;
  for (int v : y) ++count_in_y[v];
  for (std::size_t i = 0; i < x.size(); ++i) {
    auto it = count_in_y.find(x[i]);
    if (it != count_in_y.end()) sum += weight(i) * (fairllm_compat ? it->second : 1);
  }
  return serp_sum_to_value(sum, x.size(), y.size(), fairllm_compat);
}

double prag_star(std::span<const int> x, std::span<const int> y) {
  if (x.empty() || y.empty()) return 0.0;
  if (x.size() == 1) return std::equal(x.begin(), x.end(), y.begin(), y.end()) ? 1.0 : 0.0;
  double kept = 0;
  const double pairs = static_cast<double>(x.size()) * static_cast<double>(x.size() - 1) / 2;
  if (small_ids(x) && small_ids(y)) {
    SmallSet in_y;
    std::array<std::int32_t, kSmallIds> rank_in_y;  // valid where in_y
    for (std::size_t k = 0; k < y.size(); ++k) {
      in_y.insert(y[k]);
      rank_in_y[static_cast<std::size_t>(y[k])] = static_cast<std::int32_t>(k);  // last occurrence, as calc_prag
    }
    std::array<std::int32_t, kSmallIds> rank_of_x;  // per position of x: rank in y, or INT32_MAX when absent
    const std::size_t n = std::min<std::size_t>(x.size(), kSmallIds);
    if (n == x.size()) {
      for (std::size_t i = 0; i < n; ++i)
        rank_of_x[i] = in_y.contains(x[i]) ? rank_in_y[static_cast<std::size_t>(x[i])] : INT32_MAX;
      std::int64_t count = 0;
      for (std::size_t i = 0; i < n; ++i) {
        const std::int32_t ri = rank_of_x[i];
        if (ri == INT32_MAX) continue;  // x_i missing from y: no pair starting at it is kept
        for (std::size_t j = i + 1; j < n; ++j) count += rank_of_x[j] > ri;  // x_j missing (MAX) or ranked after x_i
      }
      return static_cast<double>(count) / pairs;
    }
  }
  std::unordered_map<int, std::size_t> rank_in_y;
  for (std::size_t k = 0; k < y.size(); ++k) rank_in_y[y[k]] = k;  // last occurrence, as calc_prag
  for (std::size_t i = 0; i < x.size(); ++i) {
    auto a = rank_in_y.find(x[i]);
    if (a == rank_in_y.end()) continue;
    for (std::size_t j = i + 1; j < x.size(); ++j) {
      auto b = rank_in_y.find(x[j]);
      if (b == rank_in_y.end() || a->second < b->second) kept += 1;
    }
  }
  return kept / pairs;
}

double rbo(std::span<const int> a, std::span<const int> b) {
  if (small_ids(a) && small_ids(b))
    if (auto r = rbo_small(a, b, 0.9)) return *r;
  return rbo_ext(a, b, 0.9);
}

double topk_kendall_tau(std::span<const int> a, std::span<const int> b, int n) {
  // Few ids (the audits' K candidates): integer ranks on the stack, the same
  // counts as kendall_tau_b over them, so the same value to the last bit.
  constexpr int kStackIds = 128;
  if (n >= 0 && n <= kStackIds) {
    std::array<std::int32_t, kStackIds> ra, rb;
    std::fill_n(ra.begin(), n, static_cast<std::int32_t>(a.size()));
    std::fill_n(rb.begin(), n, static_cast<std::int32_t>(b.size()));
    for (std::size_t i = 0; i < a.size(); ++i) ra[static_cast<std::size_t>(a[i])] = static_cast<std::int32_t>(i);
    for (std::size_t i = 0; i < b.size(); ++i) rb[static_cast<std::size_t>(b[i])] = static_cast<std::int32_t>(i);
    std::int32_t concordant_minus_discordant = 0, tied_a = 0, tied_b = 0;
    for (int i = 0; i < n; ++i) {
      const std::int32_t ai = ra[static_cast<std::size_t>(i)], bi = rb[static_cast<std::size_t>(i)];
      for (int j = i + 1; j < n; ++j) {
        const std::int32_t da = ai - ra[static_cast<std::size_t>(j)], db = bi - rb[static_cast<std::size_t>(j)];
        tied_a += da == 0;
        tied_b += db == 0;
        concordant_minus_discordant += ((da > 0) - (da < 0)) * ((db > 0) - (db < 0));
      }
    }
    return kendall_tau_b_from_counts(static_cast<std::size_t>(n), concordant_minus_discordant, tied_a, tied_b);
  }
  std::vector<double> ra(static_cast<std::size_t>(n), static_cast<double>(a.size())),
      rb(static_cast<std::size_t>(n), static_cast<double>(b.size()));
  for (std::size_t i = 0; i < a.size(); ++i) ra[static_cast<std::size_t>(a[i])] = static_cast<double>(i);
  for (std::size_t i = 0; i < b.size(); ++i) rb[static_cast<std::size_t>(b[i])] = static_cast<double>(i);
  return kendall_tau_b(ra, rb);
}

double mean_pairwise_topk_tau(const std::vector<std::vector<int>>& lists, int k) {
  RECBIAS_CHECK(lists.size() >= 2, "mean_pairwise_topk_tau needs two lists or more");
  if (k < 2) return std::nan("");
  // Per length class: over its lists, the sum of sign(rank a - rank b) and
  // the count of nonzero signs, for each pair of ids a < b (row by row,
  // branch-free so the loop vectorises). sum_{lists r<s} s_r s_s within a
  // class is ((sum_r s_r)^2 - sum_r s_r^2) / 2; across two classes it is
  // the product of their sums.
  struct LengthClass {
    std::size_t length;  // distinct ids listed (a repeated id counts once: its last rank)
    std::vector<int> sign_sum, nonzero;
  };
  const std::size_t n_pairs = static_cast<std::size_t>(k) * static_cast<std::size_t>(k - 1) / 2;
  std::vector<LengthClass> classes;
  std::vector<int> rank(static_cast<std::size_t>(k));
  for (const auto& list : lists) {
    const int unlisted = static_cast<int>(list.size());
    std::fill(rank.begin(), rank.end(), unlisted);
    std::size_t l = 0;
    for (std::size_t i = 0; i < list.size(); ++i) {
      auto& r = rank[static_cast<std::size_t>(list[i])];
      l += r == unlisted;
      r = static_cast<int>(i);
    }
    auto c = std::find_if(classes.begin(), classes.end(), [&](const LengthClass& x) { return x.length == l; });
    if (c == classes.end()) c = classes.insert(classes.end(), {l, std::vector<int>(n_pairs, 0), std::vector<int>(n_pairs, 0)});
    std::size_t pair = 0;
    for (int a = 0; a < k; ++a) {
      const int ra = rank[static_cast<std::size_t>(a)];
      for (int b = a + 1; b < k; ++b, ++pair) {
        const int d = ra - rank[static_cast<std::size_t>(b)];
        c->sign_sum[pair] += (d > 0) - (d < 0);
        c->nonzero[pair] += d != 0;
      }
    }
  }
  // tau-b's denominator for lists of l and l' distinct ids: sqrt((n0 - t_l)(n0 - t_l')),
  // t_l = C(k - l, 2) the pairs of ids both missing from a list of l ids.
  const double n0 = static_cast<double>(k) * (k - 1) / 2.0;
  auto untied = [&](std::size_t l) {
    const double missing = static_cast<double>(k) - static_cast<double>(l);
    return n0 - missing * (missing - 1) / 2.0;
  };
  for (const auto& c : classes)
    if (untied(c.length) <= 0) return std::nan("");
  const double pairs_of_lists = static_cast<double>(lists.size()) * (static_cast<double>(lists.size()) - 1) / 2.0;
  double total = 0;
  for (std::size_t x = 0; x < classes.size(); ++x) {
    double within = 0;
    for (std::size_t i = 0; i < n_pairs; ++i)
      within += (static_cast<double>(classes[x].sign_sum[i]) * classes[x].sign_sum[i] - classes[x].nonzero[i]) / 2.0;
    total += within / untied(classes[x].length);
    for (std::size_t y = x + 1; y < classes.size(); ++y) {
      double across = 0;
      for (std::size_t i = 0; i < n_pairs; ++i) across += static_cast<double>(classes[x].sign_sum[i]) * classes[y].sign_sum[i];
      total += across / std::sqrt(untied(classes[x].length) * untied(classes[y].length));
    }
  }
  return total / pairs_of_lists;
}

std::vector<std::string> fairllm_titles(std::string_view answer) {
  std::string text;
  for (char c : utf8_lower(answer))
    if (c != '\'' && c != '\n') text.push_back(c);
  auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  // re.split(r"\d+\. ", text)[1:]: a separator is a digit run followed by ". ".
  std::vector<std::string_view> pieces;
  const std::string_view t = text;
  std::size_t piece_start = 0;
  bool first = true;
  for (std::size_t i = 0; i < t.size();) {
    if (!is_digit(t[i])) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < t.size() && is_digit(t[j])) ++j;
    if (j + 1 < t.size() && t[j] == '.' && t[j + 1] == ' ') {
      if (!first) pieces.push_back(t.substr(piece_start, i - piece_start));
      first = false;
      piece_start = j + 2;
      i = j + 2;
    } else {
      i = j;
    }
  }
  if (!first) pieces.push_back(t.substr(piece_start));
  auto strip_spaces = [](std::string_view s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    return std::string(s);
  };
  std::vector<std::string> out;
  for (auto piece : pieces) {
    if (const auto dash = piece.find('-'); dash != std::string_view::npos) piece = piece.substr(0, dash);
    std::string title;
    const auto q1 = piece.find('"');
    const auto q2 = q1 == std::string_view::npos ? q1 : piece.find('"', q1 + 1);
    if (q2 != std::string_view::npos) {
      title = strip_spaces(piece.substr(q1 + 1, q2 - q1 - 1));
    } else {
      std::string unquoted;
      for (char c : piece)
        if (c != '"') unquoted.push_back(c);
      title = strip_spaces(unquoted);
    }
    // simplified_list: drop every "(...)" (leftmost first, not nested), then every space.
    std::string simple;
    for (std::size_t i = 0; i < title.size();) {
      if (title[i] == '(') {
        const auto close = title.find(')', i + 1);
        if (close != std::string::npos) {
          i = close + 1;
          continue;
        }
      }
      if (title[i] != ' ') simple.push_back(title[i]);
      ++i;
    }
    out.push_back(std::move(simple));
  }
  return out;
}

}  // namespace recbias
