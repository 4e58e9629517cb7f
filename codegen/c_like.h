#pragma once
// The backend-neutral half of rendering: C expressions for the nodes of a schedule, evaluated at
// an index given as C expressions, with inline nodes expanded in place and every value named
// once per loop iteration. CPU and CUDA renderers drive it with their own loops.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "codegen/code_writer.h"
#include "codegen/schedule.h"

namespace kiln::codegen {

/** An index into a value: one C expression per dim. */
using Index = std::vector<std::string>;

/** Spelling differences between C-like targets. */
struct Target {
  /** Prefix of every generated temporary declaration ("const float t3 = ..."). */
  std::string const_qualifier = "const ";
  /** C type of the index variables. */
  std::string index_type = "long long";
};

/** C type for a dtype. */
std::string c_type_of(ir::DType t);
/** C literal of `v` as a `t` ("0.5f", "-__builtin_inff()", "3"). */
std::string c_literal(double v, ir::DType t);
/** The dim as C: "N" for the batch dim. */
std::string c_dim(int64_t d);
/** Product of dims as C, folding static factors ("(N*14)", "42"). */
std::string c_numel(const std::vector<int64_t>& dims);
/** Row-major linear offset of `idx` in an array of `shape`. */
std::string c_offset(const ir::Shape& shape, const Index& idx);

/** `pattern` (an OpDef's C spelling) with {0}, {1}, ... replaced by `args` and {T} by `type`. */
std::string fill_pattern(std::string_view pattern, const std::vector<std::string>& args,
                         const std::string& type);
/**
 * An elementwise node's C expression from its OpDef::render: fill_pattern, plus {I} replaced by
 * `offset` (the element's row-major offset in the output) and {=name} by attribute `name`.
 */
std::string render_elementwise(const ir::Node& n, const std::vector<std::string>& args,
                               const std::string& offset);

// The C of reduction node `n`, from its op's ir::ReduceRule: every backend renders reductions
// with these, so a new reduction needs no renderer change.
/** The accumulator's starting value. */
std::string reduce_identity(const ir::Node& n);
/** The statement folding the value `v` into the accumulator `acc`. */
std::string reduce_combine(const ir::Node& n, const std::string& acc, const std::string& v);
/** The result from the accumulator and the reduced element count `count` (a C expression). */
std::string reduce_finalize(const ir::Node& n, const std::string& acc, const std::string& count);
/** The result over `count` copies of the value `c`, with no loop. */
std::string reduce_of_splat(const ir::Node& n, const std::string& c, const std::string& count);
/** A lambda `(T a, T b) -> T` folding two partial results (block-wide reductions). */
std::string reduce_combiner(const ir::Node& n);

/** Renders expressions of one schedule into a CodeWriter. */
class ExprEmitter {
public:
  ExprEmitter(const Schedule& sc, CodeWriter& w, Target target = {});

  /** C name of the pointer holding slot `s` ("b3"). */
  static std::string slot_name(int s) { return "b" + std::to_string(s); }

  /**
   * The value of `n` at `idx`, as a C expression (a temporary's name, a load or a literal).
   * Emits the statements it needs. Roots read their buffer, or the value computed in this
   * iteration when one was bound with bind().
   */
  std::string value(ir::NodeId n, const Index& idx);
  /** Computes root `n` at `idx` from its operands (for the group that owns it). */
  std::string compute(ir::NodeId n, const Index& idx);
  /**
   * Computes window node `n` (ir/window.h) at `idx` through its op's WindowRule: emits its loops
   * and returns the C expression of the value.
   */
  std::string window(ir::NodeId n, const Index& idx);
  /** Declares that `n` at `idx` is the C expression `expr` in the current scope. */
  void bind(ir::NodeId n, const Index& idx, const std::string& expr);
  /** The element of stored or leaf node `n` at `idx` in its buffer ("b3[i*14 + j]"). */
  std::string element(ir::NodeId n, const Index& idx) const;
  /**
   * Rows of slot `s` (a batch-shaped buffer) lie `pitch` elements apart instead of a row's size:
   * a row array padded to whole vectors (codegen/cpu/row_block.h).
   */
  void set_row_pitch(int s, int64_t pitch) { pitch_[s] = pitch; }
  /**
   * Row i of slot `s` (a batch-shaped buffer) is read and written at row `offset` + i: rows
   * numbered within a block of rows that starts at `offset` (a C expression).
   */
  void set_row_offset(int s, std::string offset) { offset_[s] = std::move(offset); }
  /**
   * Divisions by one value for every element (a scalar, or a scalar broadcast; e.g. Adam's
   * bias correction) become multiplications by its reciprocal, which the loop computes once:
   * a vector division costs several multiplications. Results move by an ulp at most.
   */
  void set_reciprocal_divisors(bool on) { reciprocals_ = on; }

  /** Opens a scope: values named inside are forgotten at pop_scope() (loop bodies, branches). */
  void push_scope() { memo_.emplace_back(); }
  void pop_scope() { memo_.pop_back(); }

  /** A fresh C identifier starting with `stem`. */
  std::string fresh(const std::string& stem);

  const Schedule& schedule() const { return sc_; }
  CodeWriter& writer() { return w_; }

private:
  std::string key(ir::NodeId n, const Index& idx) const;
  std::string load(ir::NodeId n, const Index& idx);
  std::string emit_op(ir::NodeId n, const Index& idx);
  std::string emit_concat(ir::NodeId n, const Index& idx);
  std::string declare(ir::NodeId n, const std::string& expr);
  /** Whether `n` has the same value at every index (a scalar or a broadcast scalar). */
  bool same_everywhere(ir::NodeId n) const;

  const Schedule& sc_;
  const ir::Graph& g_;
  CodeWriter& w_;
  Target target_;
  std::vector<std::map<std::string, std::string>> memo_;
  std::map<std::string, int> names_;
  std::map<int, int64_t> pitch_;
  std::map<int, std::string> offset_;
  bool reciprocals_ = false;
};

} // namespace kiln::codegen
