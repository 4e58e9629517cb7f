#pragma once
// What every backend's loop-nest emitter shares: a CodeWriter, the ExprEmitter over it, and
// how a group's roots are computed, bound for the epilogue and stored at one index. The CPU
// (codegen/cpu) and CUDA (codegen/cuda) emitters derive from it and add their own loops.

#include <string>

#include "codegen/c_like.h"
#include "codegen/code_writer.h"
#include "codegen/schedule.h"

namespace kiln::codegen {

class GroupEmitter {
public:
  GroupEmitter(const Schedule& sc, Target target)
      : sc_(sc), g_(sc.graph), e_(sc, w_, std::move(target)) {}
  GroupEmitter(const GroupEmitter&) = delete;
  GroupEmitter& operator=(const GroupEmitter&) = delete;

  CodeWriter& w() { return w_; }
  ExprEmitter& e() { return e_; }
  const Schedule& schedule() const { return sc_; }

  /** Writes root `n` at `idx` to its buffer when it is stored. */
  void store(ir::NodeId n, const Index& idx, const std::string& v);
  /**
   * Computes the group's roots from `first` on at `idx`, then stores them: every read in this
   * iteration happens before any write, so a root may overwrite a param it reads (in place).
   */
  void roots_at(const Group& grp, size_t first, const Index& idx);
  /**
   * `value` of the group's first root `r` at `idx`: bound for the epilogue, stored if it is
   * stored, then the group's other roots.
   */
  void finish_root(const Group& grp, ir::NodeId r, const Index& idx, const std::string& value);
  /** "// <domain>: <op> %<id>* ..." for a group (* = stored). */
  std::string title(const Group& grp) const;

protected:
  const Schedule& sc_;
  const ir::Graph& g_;
  CodeWriter w_;
  ExprEmitter e_;
};

} // namespace kiln::codegen
