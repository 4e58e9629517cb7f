#include "frontend/nn_image.h"

#include <atomic>
#include <sstream>

#include "base/error.h"

namespace kiln::nn {

namespace {

/** A fresh prefix so that layers used outside a Sequential do not share names. */
std::string unique_prefix() {
  static std::atomic<int> counter{0};
  return "conv" + std::to_string(counter++) + ".";
}

/** PyTorch's spelling of a pair: "(3, 3)", or "2" where it was given as one number. */
std::string tuple(const std::array<int64_t, 2>& a, bool as_int = false) {
  if (as_int && a[0] == a[1])
    return std::to_string(a[0]);
  return str("(", a[0], ", ", a[1], ")");
}

int64_t positive(const char* layer, const char* what, int64_t v) {
  if (v < 1)
    throw ShapeError(str("[", layer, "] ", what, " must be >= 1, got ", v));
  return v;
}

std::array<int64_t, 2> stride_or_kernel(const Pool2dOptions& o) {
  return o.stride[0] == 0 && o.stride[1] == 0 ? o.kernel : o.stride;
}

ir::Val lower_unflatten(const std::vector<ir::Val>& in, const std::vector<int64_t>& args) {
  const ir::Val& x = in.at(0);
  const int64_t r = x.rank(), dim = args[0] < 0 ? args[0] + r : args[0];
  const std::vector<int64_t> sizes(args.begin() + 1, args.end());
  if (dim < 0 || dim >= r)
    throw ShapeError(str("[Unflatten] dim ", args[0], " is out of range for ", x.type()));
  int64_t count = 1;
  for (int64_t s : sizes)
    count *= s;
  const ir::Shape s = x.shape();
  if (count != s[static_cast<int>(dim)])
    throw ShapeError(str("[Unflatten] sizes ", ir::Shape(sizes), " hold ", count,
                         " elements, but dim ", args[0], " of ", x.type(), " has ",
                         ir::dim_str(s[static_cast<int>(dim)])));
  std::vector<int64_t> dims;
  for (int64_t d = 0; d < r; ++d) {
    if (d == dim)
      dims.insert(dims.end(), sizes.begin(), sizes.end());
    else
      dims.push_back(s[static_cast<int>(d)]);
  }
  return ir::reshape(x, ir::Shape(std::move(dims)));
}

} // namespace

Conv2d::Conv2d(int64_t in, int64_t out, std::array<int64_t, 2> k, Conv2dOptions o, bool bias)
    : weight({positive("Conv2d", "out_channels", out),
              positive("Conv2d", "in_channels", in) / positive("Conv2d", "groups", o.groups),
              positive("Conv2d", "kernel_size", k[0]), positive("Conv2d", "kernel_size", k[1])}),
      bias({out}), has_bias(bias), options(o) {
  if (in % o.groups != 0 || out % o.groups != 0)
    throw ShapeError(str("[Conv2d] groups (", o.groups, ") must divide in_channels (", in,
                         ") and out_channels (", out, ")"));
  const int64_t fan_in = in / o.groups * k[0] * k[1];
  weight.init(Init::fan_in_uniform(fan_in));
  this->bias.init(Init::fan_in_uniform(fan_in));
  set_prefix(unique_prefix());
}

Conv2d::Conv2d(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding, bool bias)
    : Conv2d(in, out, {kernel, kernel},
             Conv2dOptions{.stride = {stride, stride}, .padding = {padding, padding}}, bias) {}

Expr Conv2d::forward(const Expr& x) const {
  const Expr y = conv2d(x, weight, options);
  if (!has_bias)
    return y;
  // The bias of filter o adds to every pixel of channel o: [O] as [O, 1, 1], broadcast.
  return y + reshape(bias, {weight.dims()[0], 1, 1});
}

std::vector<Param<>> Conv2d::parameters() const {
  if (has_bias)
    return {weight, bias};
  return {weight};
}

void Conv2d::set_prefix(const std::string& prefix) {
  weight.named(prefix + "weight");
  bias.named(prefix + "bias");
}

std::string Conv2d::describe() const {
  const std::vector<int64_t>& w = weight.dims();
  std::string s = str("Conv2d(", w[1] * options.groups, ", ", w[0],
                      ", kernel_size=", tuple({w[2], w[3]}), ", stride=", tuple(options.stride));
  if (options.padding != std::array<int64_t, 2>{0, 0})
    s += ", padding=" + tuple(options.padding);
  if (options.dilation != std::array<int64_t, 2>{1, 1})
    s += ", dilation=" + tuple(options.dilation);
  if (options.groups != 1)
    s += str(", groups=", options.groups);
  if (!has_bias)
    s += ", bias=False";
  return s + ")";
}

MaxPool2d::MaxPool2d(int64_t kernel, int64_t stride, int64_t padding, int64_t dilation)
    : MaxPool2d(Pool2dOptions{.kernel = {kernel, kernel},
                              .stride = {stride, stride},
                              .padding = {padding, padding},
                              .dilation = {dilation, dilation}}) {}

MaxPool2d::MaxPool2d(Pool2dOptions o) : options(o) {
  positive("MaxPool2d", "kernel_size", std::min(o.kernel[0], o.kernel[1]));
}

Expr MaxPool2d::forward(const Expr& x) const {
  return max_pool2d(x, options);
}

std::string MaxPool2d::describe() const {
  return str("MaxPool2d(kernel_size=", tuple(options.kernel, true),
             ", stride=", tuple(stride_or_kernel(options), true),
             ", padding=", tuple(options.padding, true),
             ", dilation=", tuple(options.dilation, true), ", ceil_mode=False)");
}

AvgPool2d::AvgPool2d(int64_t kernel, int64_t stride, int64_t padding)
    : AvgPool2d(Pool2dOptions{
          .kernel = {kernel, kernel}, .stride = {stride, stride}, .padding = {padding, padding}}) {}

AvgPool2d::AvgPool2d(Pool2dOptions o) : options(o) {
  positive("AvgPool2d", "kernel_size", std::min(o.kernel[0], o.kernel[1]));
}

Expr AvgPool2d::forward(const Expr& x) const {
  return avg_pool2d(x, options);
}

std::string AvgPool2d::describe() const {
  return str("AvgPool2d(kernel_size=", tuple(options.kernel, true),
             ", stride=", tuple(stride_or_kernel(options), true),
             ", padding=", tuple(options.padding, true), ")");
}

Flatten::Flatten(int64_t start_dim, int64_t end_dim) : start_(start_dim), end_(end_dim) {}

Expr Flatten::forward(const Expr& x) const {
  return flatten(x, start_, end_);
}

std::string Flatten::describe() const {
  return str("Flatten(start_dim=", start_, ", end_dim=", end_, ")");
}

Unflatten::Unflatten(int64_t dim, std::vector<int64_t> sizes)
    : dim_(dim), sizes_(std::move(sizes)) {
  if (sizes_.empty())
    throw ShapeError("[Unflatten] needs at least one size");
  for (int64_t s : sizes_)
    positive("Unflatten", "sizes", s);
}

Expr Unflatten::forward(const Expr& x) const {
  std::vector<int64_t> args{dim_};
  args.insert(args.end(), sizes_.begin(), sizes_.end());
  return make_apply(kiln::detail::FnTag{lower_unflatten, std::move(args)}, x);
}

std::string Unflatten::describe() const {
  std::string s = str("Unflatten(dim=", dim_, ", unflattened_size=(");
  for (size_t i = 0; i < sizes_.size(); ++i)
    s += (i ? ", " : "") + std::to_string(sizes_[i]);
  return s + (sizes_.size() == 1 ? ",))" : "))");
}

namespace {
int64_t next_seed() {
  static std::atomic<int64_t> counter{0};
  return counter++;
}
} // namespace

Dropout::Dropout(double p) : Dropout(p, next_seed()) {}

Dropout::Dropout(double p, int64_t seed) : p(p), seed(seed) {
  if (!(p >= 0.0 && p < 1.0))
    throw ShapeError(str("[Dropout] the drop probability p must be in [0, 1), got ", p));
}

Expr Dropout::forward(const Expr& x) const {
  return dropout(x, p, seed);
}

std::string Dropout::describe() const {
  std::ostringstream os;
  os << "Dropout(p=" << p << ", inplace=False)";
  return os.str();
}

} // namespace kiln::nn
