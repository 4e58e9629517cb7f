// Rng's state round trip: a generator restored from its text draws exactly what the original
// goes on to draw (the ProblemTrainer's checkpoints rely on it to resample as an uninterrupted
// run would).

#include <catch2/catch.hpp>

#include "base/rng.h"

using kiln::Rng;

TEST_CASE("Rng::state_text round-trips the whole state, the normal's spare included") {
  Rng a(1234, 7);
  for (int i = 0; i < 5; ++i)
    a.uniform();
  a.normal(); // leaves a spare value behind
  const std::optional<Rng> b = Rng::from_state_text(a.state_text());
  REQUIRE(b.has_value());
  Rng c = *b;
  CHECK(c.normal() == a.normal()); // the spare
  for (int i = 0; i < 100; ++i) {
    CHECK(c.next_u32() == a.next_u32());
    CHECK(c.normal() == a.normal());
  }
  CHECK(c.state_text() == a.state_text());
}

TEST_CASE("Rng::from_state_text refuses text it did not write") {
  const std::string good = Rng(3).state_text();
  CHECK(Rng::from_state_text(good).has_value());
  CHECK_FALSE(Rng::from_state_text("").has_value());
  CHECK_FALSE(Rng::from_state_text("pcg64 " + good.substr(6)).has_value());
  CHECK_FALSE(Rng::from_state_text(good + " ").has_value());
  CHECK_FALSE(Rng::from_state_text(good.substr(0, good.size() - 1) + "g").has_value());
  // An even increment is not a PCG stream.
  std::string even = good;
  even[6 + 17 + 15] = '0';
  CHECK_FALSE(Rng::from_state_text(even).has_value());
}
