// Time and Timestamp in cereal archives (JSON, XML, binary), for programs that keep their own
// records with cereal. tempo itself does not use cereal (its checkpoints are torch.save files), so
// only this header includes it: a program that includes it links cereal, nothing else does.
//
// Ensures: a Time is written as {"unit": "tok", "value": 1000000} (unit first, so the reader knows
// whether the value is an integer count or a dur fraction); a Timestamp as Composer's field names.
// Throws: loading goes through Time's and Timestamp's validating constructors, so a damaged archive
// throws tempo::TimeError instead of yielding a Time or Timestamp that breaks their invariants.
#pragma once

#include <cstdint>
#include <string>

#include <cereal/cereal.hpp>
#include <cereal/types/string.hpp>

#include "tempo/time/time_quantity.h"
#include "tempo/time/timestamp.h"

namespace tempo {

template <class Archive>
void save(Archive& ar, const Time& t) {
  const std::string unit = to_string(t.unit());
  ar(cereal::make_nvp("unit", unit));
  if (t.is_duration()) {
    ar(cereal::make_nvp("value", t.fraction()));
  } else {
    ar(cereal::make_nvp("value", t.count()));
  }
}

template <class Archive>
void load(Archive& ar, Time& t) {
  std::string unit;
  ar(cereal::make_nvp("unit", unit));
  const TimeUnit u = parse_time_unit(unit);
  if (u == TimeUnit::DURATION) {
    double f = 0;
    ar(cereal::make_nvp("value", f));
    t = Time::from_duration(f);
  } else {
    int64_t n = 0;
    ar(cereal::make_nvp("value", n));
    t = Time(n, u);
  }
}

template <class Archive>
void serialize(Archive& ar, TimestampFields& f) {
  ar(cereal::make_nvp("iteration", f.iteration), cereal::make_nvp("epoch", f.epoch),
     cereal::make_nvp("batch", f.batch), cereal::make_nvp("sample", f.sample), cereal::make_nvp("token", f.token),
     cereal::make_nvp("epoch_in_iteration", f.epoch_in_iteration),
     cereal::make_nvp("token_in_iteration", f.token_in_iteration),
     cereal::make_nvp("batch_in_epoch", f.batch_in_epoch), cereal::make_nvp("sample_in_epoch", f.sample_in_epoch),
     cereal::make_nvp("token_in_epoch", f.token_in_epoch), cereal::make_nvp("total_wct", f.total_wct),
     cereal::make_nvp("iteration_wct", f.iteration_wct), cereal::make_nvp("epoch_wct", f.epoch_wct),
     cereal::make_nvp("batch_wct", f.batch_wct));
}

template <class Archive>
void save(Archive& ar, const Timestamp& ts) {
  TimestampFields f = ts.fields();  // serialize() is one function for both directions, so not const
  serialize(ar, f);
}

template <class Archive>
void load(Archive& ar, Timestamp& ts) {
  TimestampFields f;
  serialize(ar, f);
  ts = Timestamp(f);
}

}  // namespace tempo
