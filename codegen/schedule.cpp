#include "codegen/schedule.h"

#include <algorithm>
#include <set>

#include "base/error.h"
#include "ir/print.h"

namespace kiln::codegen {

using ir::Node;
using ir::NodeId;
using ir::Op;
using ir::OpKind;

namespace {

bool is_movement(const Node& n) {
  return n.def().kind == OpKind::Movement;
}
bool is_accumulator(const Node& n) {
  const OpKind k = n.def().kind;
  return k == OpKind::MatMul || k == OpKind::Reduce || k == OpKind::Window;
}

/** An op that reads each operand element many times (a product, a convolution). */
bool rereads_operands(const Node& n) {
  return n.op == Op::MatMul || (n.def().window && n.def().window->reread_operands);
}

/** Per-element cost: the op's own (transcendental functions dominate small kernels). */
int own_cost(const Node& n) {
  return n.def().cost;
}

/** Number of elements of `s` relative to `from` (>1 when a broadcast expands; N counts as 64). */
double expansion(const ir::Shape& from, const ir::Shape& to) {
  auto size = [](const ir::Shape& s) {
    double n = 1;
    for (int64_t d : s.dims())
      n *= d == ir::kBatch ? 64.0 : static_cast<double>(d);
    return n;
  };
  return size(to) / size(from);
}

struct Uses {
  std::vector<std::vector<NodeId>> consumers; // distinct consumers
  std::vector<bool> reread_operand, output;
};

Uses find_uses(const ir::Graph& g) {
  Uses u{std::vector<std::vector<NodeId>>(g.size()), std::vector<bool>(g.size(), false),
         std::vector<bool>(g.size(), false)};
  for (NodeId i = 0; i < g.size(); ++i) {
    const Node& n = g.node(i);
    for (NodeId in : n.inputs) {
      auto& c = u.consumers[in];
      if (c.empty() || c.back() != i)
        c.push_back(i);
      if (rereads_operands(n)) {
        // A reshape only renames indices: keep what it reshapes in memory and read it through
        // the reshape, rather than copying it into a buffer of the new shape.
        NodeId x = in;
        while (g.node(x).op == Op::Reshape)
          x = g.node(x).inputs[0];
        u.reread_operand[x] = true;
      }
    }
  }
  for (const ir::Output& o : g.outputs())
    u.output[o.id] = true;
  return u;
}

std::vector<Storage> decide_storage(const ir::Graph& g, const Uses& u) {
  std::vector<Storage> s(g.size(), Storage::Inline);
  std::vector<int> cost(g.size(), 0);
  for (NodeId i = 0; i < g.size(); ++i) {
    const Node& n = g.node(i);
    if (n.def().kind == OpKind::Leaf) {
      s[i] = Storage::Leaf;
      continue;
    }
    cost[i] = own_cost(n);
    for (NodeId in : n.inputs)
      if (s[in] == Storage::Inline)
        cost[i] += cost[in];
    const auto& consumers = u.consumers[i];
    bool root = is_accumulator(n) || u.output[i] || u.reread_operand[i];
    if (!root && consumers.size() > 1) {
      // Pure index remaps of stored data are free to repeat; anything else is computed once.
      const bool remap = is_movement(n) && n.op != Op::Concat && s[n.inputs[0]] != Storage::Inline;
      root = !remap;
    }
    if (!root && consumers.size() == 1) {
      // Do not recompute an expensive expression once per element of a broadcast.
      const Node& c = g.node(consumers[0]);
      root = c.op == Op::Broadcast && cost[i] >= 8 && expansion(n.type.shape, c.type.shape) > 1.0;
    }
    if (root) {
      s[i] = Storage::Root;
      cost[i] = 0;
    }
  }
  return s;
}

/** A root that a root's expression reads, and whether it reads it at its own loop index. */
struct Ref {
  NodeId root;
  bool same_index;
};

void collect_refs(const ir::Graph& g, const std::vector<Storage>& s, NodeId n, bool same,
                  std::vector<Ref>& out) {
  for (NodeId in : g.node(n).inputs) {
    if (s[in] == Storage::Root) {
      out.push_back({in, same});
    } else if (s[in] == Storage::Inline) {
      const bool keeps_index = g.node(in).def().kind == OpKind::Elementwise;
      collect_refs(g, s, in, same && keeps_index, out);
    }
  }
}

/** Leaves (inputs, params) an expression reads, and whether at the root's own index. */
void collect_leaf_reads(const ir::Graph& g, const std::vector<Storage>& s, NodeId n, bool same,
                        std::vector<Ref>& out) {
  for (NodeId in : g.node(n).inputs) {
    const Node& x = g.node(in);
    if (x.op == Op::Input || x.op == Op::Param) {
      out.push_back({in, same});
    } else if (s[in] == Storage::Inline) {
      collect_leaf_reads(g, s, in, same && x.def().kind == OpKind::Elementwise, out);
    }
  }
}

/** What the loop for `root` reads: a pointwise root at its own index, an accumulator elsewhere. */
std::vector<Ref> refs_of(const ir::Graph& g, const std::vector<Storage>& s, NodeId root) {
  std::vector<Ref> out;
  const bool pointwise = !is_accumulator(g.node(root));
  collect_refs(g, s, root, pointwise && g.node(root).def().kind == OpKind::Elementwise, out);
  return out;
}

} // namespace

namespace {
/**
 * Can `out` be stored straight into param `p`'s buffer? Only if every read of p happens in an
 * earlier group, or in out's own group at the same index (its roots are all computed before
 * any is stored), and no output copies p at the end.
 */
bool writes_in_place(const Schedule& sc, NodeId out, NodeId p) {
  const ir::Graph& g = sc.graph;
  if (sc.storage[out] != Storage::Root || sc.slot_of[out] >= 0)
    return false;
  const int group = sc.group_of[out];
  for (NodeId r = 0; r < g.size(); ++r) {
    if (sc.storage[r] != Storage::Root)
      continue;
    std::vector<Ref> reads;
    const bool pointwise = !is_accumulator(g.node(r));
    collect_leaf_reads(g, sc.storage, r, pointwise && g.node(r).def().kind == OpKind::Elementwise,
                       reads);
    for (const Ref& x : reads)
      if (x.root == p && (sc.group_of[r] > group || (sc.group_of[r] == group && !x.same_index)))
        return false;
  }
  for (const auto& [slot, node] : sc.output_copies)
    if (node == p)
      return false;
  return true;
}
} // namespace

Schedule schedule(const ir::Graph& g, const std::vector<Update>& updates) {
  Schedule sc;
  sc.graph = g;
  const Uses u = find_uses(g);
  sc.storage = decide_storage(g, u);
  sc.group_of.assign(g.size(), -1);

  // Roots that read no other root (e.g. an optimizer's per-step scalars, which depend only on
  // the step count and the learning rate) go first, wherever autodiff happened to create them,
  // so that the updates that use them can join the epilogue of their gradient's matmul.
  std::vector<NodeId> order, later;
  for (NodeId i = 0; i < g.size(); ++i)
    if (sc.storage[i] == Storage::Root)
      (refs_of(g, sc.storage, i).empty() ? order : later).push_back(i);
  order.insert(order.end(), later.begin(), later.end());

  for (NodeId i : order) {
    const Node& n = g.node(i);
    if (!is_accumulator(n)) {
      // Join the latest group this root reads from, if it reads that group only at its own
      // index and everything else it reads is finished before that group starts.
      const std::vector<Ref> refs = refs_of(g, sc.storage, i);
      int target = -1;
      for (const Ref& r : refs)
        target = std::max(target, sc.group_of[r.root]);
      bool ok = target >= 0 && sc.groups[static_cast<size_t>(target)].domain == n.type.shape;
      for (const Ref& r : refs) {
        const int gr = sc.group_of[r.root];
        ok = ok && (gr < target || (gr == target && r.same_index));
      }
      if (ok) {
        sc.groups[static_cast<size_t>(target)].roots.push_back(i);
        sc.group_of[i] = target;
        continue;
      }
    }
    const OpKind k = n.def().kind;
    const Group::Kind kind = k == OpKind::MatMul   ? Group::Kind::MatMul
                             : k == OpKind::Reduce ? Group::Kind::Reduce
                             : k == OpKind::Window ? Group::Kind::Window
                                                   : Group::Kind::Pointwise;
    sc.group_of[i] = static_cast<int>(sc.groups.size());
    sc.groups.push_back({kind, n.type.shape, {i}});
  }

  // A root goes to memory when an output, another group, or another index needs it.
  sc.stored.assign(g.size(), false);
  for (const ir::Output& o : g.outputs())
    if (sc.storage[o.id] == Storage::Root)
      sc.stored[o.id] = true;
  for (NodeId i = 0; i < g.size(); ++i) {
    if (sc.storage[i] != Storage::Root)
      continue;
    for (const Ref& r : refs_of(g, sc.storage, i))
      if (sc.group_of[r.root] != sc.group_of[i] || !r.same_index)
        sc.stored[r.root] = true;
  }

  // Slots: inputs, params, outputs, scratch.
  sc.slot_of.assign(g.size(), -1);
  auto add_slot = [&](Slot::Role role, std::string name, NodeId node) {
    sc.slots.push_back({role, std::move(name), node, g.node(node).type});
    return static_cast<int>(sc.slots.size()) - 1;
  };
  for (NodeId i : g.leaves(Op::Input))
    sc.slot_of[i] = add_slot(Slot::Role::Input, g.node(i).name(), i);
  for (NodeId i : g.leaves(Op::Param))
    sc.slot_of[i] = add_slot(Slot::Role::Param, g.node(i).name(), i);
  std::vector<std::pair<const ir::Output*, NodeId>> updated; // output, its param
  for (const Update& u : updates) {
    const auto p = g.find_leaf(Op::Param, u.param);
    if (!p)
      throw Error(str("[schedule] update '", u.output, "' names no param '", u.param, "'"));
    const ir::Output* o = nullptr;
    for (const ir::Output& x : g.outputs())
      if (x.name == u.output)
        o = &x;
    if (!o)
      throw Error(
          str("[schedule] update of param '", u.param, "' names no output '", u.output, "'"));
    updated.emplace_back(o, *p);
  }
  auto update_of = [&](const ir::Output& o) -> std::optional<NodeId> {
    for (const auto& [x, p] : updated)
      if (x == &o)
        return p;
    return std::nullopt;
  };
  std::vector<std::pair<const ir::Output*, NodeId>> deferred;
  for (const ir::Output& o : g.outputs()) {
    if (update_of(o)) {
      deferred.emplace_back(&o, *update_of(o));
      continue;
    }
    const int slot = add_slot(Slot::Role::Output, o.name, o.id);
    if (sc.storage[o.id] == Storage::Root && sc.slot_of[o.id] < 0)
      sc.slot_of[o.id] = slot;
    else
      sc.output_copies.emplace_back(slot, o.id);
  }
  // Updates last: whether one can be written in place depends on the other outputs' copies.
  for (const auto& [o, p] : deferred) {
    if (o->id == p)
      continue; // the param does not change
    Slot& param_slot = sc.slots[static_cast<size_t>(sc.slot_of[p])];
    param_slot.written = true;
    if (writes_in_place(sc, o->id, p)) {
      sc.slot_of[o->id] = sc.slot_of[p];
      continue;
    }
    const int slot = add_slot(Slot::Role::Output, o->name, o->id);
    if (sc.storage[o->id] == Storage::Root && sc.slot_of[o->id] < 0)
      sc.slot_of[o->id] = slot;
    else
      sc.output_copies.emplace_back(slot, o->id);
    sc.copy_back.emplace_back(slot, sc.slot_of[p]);
  }
  for (NodeId i = 0; i < g.size(); ++i)
    if (sc.stored[i] && sc.slot_of[i] < 0)
      sc.slot_of[i] = add_slot(Slot::Role::Scratch, "t" + std::to_string(i), i);
  return sc;
}

std::string Schedule::describe() const {
  static constexpr const char* kKind[] = {"pointwise", "reduce", "matmul", "window"};
  std::string s;
  for (size_t gi = 0; gi < groups.size(); ++gi) {
    const Group& grp = groups[gi];
    s += str("group ", gi, " (", kKind[static_cast<int>(grp.kind)], " over ", grp.domain, "):");
    for (NodeId r : grp.roots) {
      s += str(" %", r, " ", ir::op_name(graph.node(r).op), stored[r] ? "*" : "");
    }
    s += "\n";
  }
  s += "(* = stored to memory)\n";
  return s;
}

size_t slot_named(const Schedule& sc, Slot::Role role, const std::string& name, const char* op,
                  const char* graph) {
  for (size_t i = 0; i < sc.slots.size(); ++i)
    if (sc.slots[i].role == role && sc.slots[i].name == name)
      return i;
  throw Error(str("[", op, "] the ", graph, " has no ",
                  role == Slot::Role::Input ? "input" : "output", " named '", name, "'"));
}

size_t metric_slot(const Schedule& sc, const std::string& name, const char* op, const char* graph) {
  const size_t slot = slot_named(sc, Slot::Role::Output, name, op, graph);
  if (!sc.slots[slot].type.shape.is_scalar())
    throw Error(
        str("[", op, "] metric '", name, "' must be a scalar output, got ", sc.slots[slot].type));
  return slot;
}

} // namespace kiln::codegen
