// Summary statistics of a dataset, for `recbias datasets describe`.
#pragma once

#include <nlohmann/json.hpp>

#include "core/catalog.h"  // short_head_size
#include "datasets/dataset.h"

namespace recbias {

// Gini coefficient of non-negative values (0 = all equal, -> 1 = one holds
// everything): G = sum_i (2i - n - 1) x_(i) / (n sum x), x ascending, i from 1.
// 0 for an empty input or an all-zero one.
double gini(std::vector<double> values);

// JSON summary: users, items, interactions, density, per-user and per-item
// interaction counts (min/median/mean/max), popularity Gini and short head
// (computed on all interactions), rating histogram, time range, and each
// attribute's value counts. Field names are documented in README.md.
nlohmann::ordered_json describe_dataset(const Dataset& dataset);

}  // namespace recbias
