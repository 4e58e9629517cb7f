// The IR text parser (ir::parse_graph) on arbitrary text: a graph whose listing parses back to
// the same listing, or a kiln::Error.

#include "fuzz_support.h"
#include "ir/print.h"

#include "base/error.h"

#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string listing;
  try {
    listing = kiln::ir::to_text(kiln::ir::parse_graph(text));
  } catch (const kiln::Error&) {
    return 0;
  }
  // What to_text writes, parse_graph reads back to the same graph.
  try {
    if (kiln::ir::to_text(kiln::ir::parse_graph(listing)) != listing)
      kiln::fuzz::violated("to_text(parse_graph(listing)) differs from the listing");
  } catch (const kiln::Error& e) {
    std::fprintf(stderr, "%s\n%s\n", listing.c_str(), e.what());
    kiln::fuzz::violated("a listing written by to_text does not parse");
  }
  return 0;
}
