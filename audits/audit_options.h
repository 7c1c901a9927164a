// What an audit run measures and how. Plain struct; the CLI binds flags to it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "audits/tvd_inversion.h"  // TvdInterval
#include "core/permutations.h"  // PermutationDesign
#include "datasets/dataset.h"

namespace recbias {

// Every registered audit's name, in report order (audit.h: audit_registry()).
std::vector<std::string> all_audit_names();
// The audits that run when none are named: every one but the opt-in ones (history).
std::vector<std::string> default_audit_names();

struct AuditOptions {
  std::vector<std::string> audits = default_audit_names();  // default: every audit but the opt-in ones
  int permutations = 0;                  // P per request; 0 = K (default); cyclic spreads P shifts evenly
  PermutationDesign design = PermutationDesign::kCyclic;  // default cyclic
  std::uint64_t seed = 0;                // permutations and bootstrap weights; default 0
  int bootstrap_replicates = 200;        // Poisson bootstrap replicates; default 200
  double confidence = 0.95;              // interval level; default 0.95
  double alpha = 0.05;                   // test level after correction; default 0.05
  std::string correction = "holm";      // holm | bh, across every test in one report
  // position: the TVD interval, kInversion (default) or kMoment (README,
  // "TVD, E0 and the corrected estimate"; audits/tvd_inversion.h).
  TvdInterval tvd_interval = TvdInterval::kInversion;
  std::vector<AttributeSet> attributes;  // fairness: the sensitive attributes and their values
  bool intersections = false;            // fairness: also state pairs of attributes
  bool fairllm_compat = false;           // fairness: FaiRLLM's published SERP* instead of the normalised one
  std::string fairness_test_metric = "serp";  // jaccard | serp | prag | rbo: tested against the noise floor
  double short_head_share = 0.8;         // popularity: the short head makes up this share of training interactions
  // history: the last W history items the probe reorders; set it to at most
  // the history an adapter shows (openai: max_history), so every variant
  // shows the model the same items. Default 10.
  int history_window = 10;
  // Findings: an effect is raised only when it is significant AND at least
  // this large; significant but smaller ones are listed as "detected but
  // negligible". Defaults (README, "Findings"): position TVD 0.02; fairness
  // 0.05 (mean drop in similarity below the noise floor, and SNSR above its
  // E0); utility gap 0.05 of NDCG above its E0. --practical NAME=VALUE.
  std::map<std::string, double> practical = {{"position.tvd", 0.02}, {"fairness.similarity", 0.05}, {"fairness.utility_gap", 0.05}};
  std::size_t chunk_bases = 256;         // base requests per batch sent to the adapter (memory stays flat)
  // --probe open: candidate-free requests (RankRequest::open); the model
  // names items of the whole catalog. Only the audits that do not read
  // presented candidates run: fairness, grounding, accuracy, open.
  bool open = false;
};

}  // namespace recbias
