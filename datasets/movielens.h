// MovieLens readers (GroupLens; Harper & Konstan 2015, doi:10.1145/2827872).
//
// MovieLens may not be redistributed: recbias never ships it. Point these at
// a folder holding the original files.
#pragma once

#include <string>

#include "datasets/dataset.h"

namespace recbias {

// MovieLens 100K: u.data (user\titem\trating\ttimestamp), u.item (24 '|'
// fields, ISO-8859-1, converted to UTF-8; categories from the 19 genre flags
// named by u.genre), u.user (id|age|gender|occupation|zip; age bucketed into
// the 1M bands), u.genre, and u.occupation (when present, occupations are
// checked against it). Attributes: gender (F, M), age (7 bands), occupation.
// Every malformed row throws BadInput naming file:line, field, value and
// expectation.
Dataset load_movielens_100k(const std::string& folder);

// MovieLens 1M: ratings.dat (UserID::MovieID::Rating::Timestamp), movies.dat
// (MovieID::Title::Genres, ISO-8859-1, genres '|'-separated), users.dat
// (UserID::Gender::Age::Occupation::Zip-code; age codes to bands, occupation
// codes to the README's names).
Dataset load_movielens_1m(const std::string& folder);

}  // namespace recbias
