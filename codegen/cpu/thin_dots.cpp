#include "codegen/cpu/thin_dots.h"

#include "base/error.h"
#include "codegen/cpu/row_block_util.h"

namespace kiln::codegen {

std::vector<int64_t> emit_summed_together(CodeWriter& w, ir::DType t,
                                          std::vector<std::string> products,
                                          const std::string& out) {
  KILN_ASSERT(!products.empty() && products.size() <= 4,
              "emit_summed_together takes 1 to 4 products, got ", products.size());
  const int64_t lanes = row_block::lanes(t);
  const std::string vec = row_block::vector_type(t), shuffle = row_block::shuffle_macro(t);
  const size_t count = products.size();
  while ((products.size() & (products.size() - 1)) != 0)
    products.push_back(vec + "{}");
  auto mask = [&](auto&& lane) {
    std::string m;
    for (int64_t l = 0; l < lanes; ++l)
      m += (l ? ", " : "") + std::to_string(lane(l));
    return m;
  };
  int step = 0;
  auto declare = [&](const std::string& expr) {
    const std::string name = out + "_s" + std::to_string(step++);
    w.line("const " + vec + " " + name + " = " + expr + ";");
    return name;
  };
  // Each vector holds `sources` products' partial sums in blocks of `width` lanes. Two vectors
  // become one with blocks half as wide: each block of the pair adds its lower and upper half.
  int64_t sources = 1, width = lanes;
  while (products.size() > 1) {
    std::vector<std::string> next;
    for (size_t i = 0; i < products.size(); i += 2) {
      const std::string &x = products[i], &y = products[i + 1];
      auto half = [&](int64_t upper) {
        return mask([&](int64_t l) {
          const int64_t q = l / (width / 2), in = l % (width / 2);
          const int64_t from_y = q >= sources ? lanes : 0, block = q % sources;
          return from_y + block * width + upper * (width / 2) + in;
        });
      };
      next.push_back(declare(shuffle + "(" + x + ", " + y + ", " + half(0) + ") + " + shuffle +
                             "(" + x + ", " + y + ", " + half(1) + ")"));
    }
    products = std::move(next);
    sources *= 2;
    width /= 2;
  }
  // Within each block, butterflies leave the block's sum in all of its lanes.
  std::string v = products[0];
  for (int64_t b = width / 2; b >= 1; b /= 2)
    v = declare(v + " + " + shuffle + "(" + v + ", " + v + ", " +
                mask([&](int64_t l) { return l ^ b; }) + ")");
  w.line("const " + vec + " " + out + " = " + v + ";");
  std::vector<int64_t> at;
  for (size_t q = 0; q < count; ++q)
    at.push_back(static_cast<int64_t>(q) * width);
  return at;
}

} // namespace kiln::codegen
