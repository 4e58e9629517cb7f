#include "runtime/cuda/nccl.h"

#include <dlfcn.h>

#include <cstdlib>
#include <initializer_list>
#include <type_traits>

#include "base/error.h"

namespace kiln::runtime {

namespace {

/** An error's text without its "[nccl] " prefix, which throw_if_any_rank_failed adds again. */
std::string without_prefix(const Error& e) {
  const std::string_view w = e.what(), prefix = "[nccl] ";
  return std::string(w.starts_with(prefix) ? w.substr(prefix.size()) : w);
}

constexpr const char* kInstall =
    "install NCCL 2.11 or newer (apt install libnccl2, or the nvidia-nccl-cu12/-cu13 wheel) or "
    "set KILN_NCCL_LIBRARY to its libnccl.so.2";

/** The library, or why it cannot be used; resolved once per process. */
struct Loaded {
  NcclApi api;
  std::string error;
};

Loaded load() {
  Loaded l;
  const char* env = std::getenv("KILN_NCCL_LIBRARY");
  const std::string lib = env != nullptr && env[0] != '\0' ? env : kNcclLibraryName;
  void* h = dlopen(lib.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (h == nullptr) {
    const char* why = dlerror();
    l.error = str("[nccl] cannot open ", lib, " (", why ? why : "dlopen failed", "); ", kInstall);
    return l;
  }
  std::string missing;
  auto find = [&](auto& slot, const char* name) {
    slot = reinterpret_cast<std::remove_reference_t<decltype(slot)>>(dlsym(h, name));
    if (slot == nullptr)
      missing += str(missing.empty() ? "" : ", ", name);
  };
  NcclApi& a = l.api;
  find(a.get_version, "ncclGetVersion");
  find(a.get_error_string, "ncclGetErrorString");
  find(a.get_unique_id, "ncclGetUniqueId");
  find(a.comm_init_rank, "ncclCommInitRank");
  find(a.comm_destroy, "ncclCommDestroy");
  find(a.all_reduce, "ncclAllReduce");
  find(a.broadcast, "ncclBroadcast");
  find(a.red_op_create_pre_mul_sum, "ncclRedOpCreatePreMulSum");
  find(a.red_op_destroy, "ncclRedOpDestroy");
  if (!missing.empty()) {
    l.error = str("[nccl] ", lib, " lacks ", missing, " (NCCL too old?); ", kInstall);
    dlclose(h);
    l.api = {};
  }
  return l;
}

const Loaded& loaded() {
  static const Loaded l = load(); // never closed: communicators may outlive main
  return l;
}

} // namespace

const NcclApi& nccl() {
  const Loaded& l = loaded();
  if (!l.error.empty())
    throw DeviceError(l.error);
  return l.api;
}

void nccl_check(ncclResult_t result, std::string_view call) {
  if (result == ncclSuccess)
    return;
  const char* text = nccl().get_error_string(result);
  throw DeviceError(str("[nccl] ", call, " failed: ", text ? text : "unknown error", " (",
                        static_cast<int>(result), ")"));
}

NcclComm::NcclComm(Communicator& host, int device) : ctx_(device, "NCCL") {
  // Every rank learns whether every rank has NCCL before any of them waits in ncclCommInitRank.
  std::string error;
  try {
    nccl();
  } catch (const Error& e) {
    error = without_prefix(e);
  }
  throw_if_any_rank_failed(host, "nccl", error);
  const NcclApi& a = nccl();
  ncclUniqueId id{};
  error.clear();
  if (host.rank() == 0) {
    try {
      nccl_check(a.get_unique_id(&id), "ncclGetUniqueId");
    } catch (const Error& e) {
      error = without_prefix(e);
    }
  }
  throw_if_any_rank_failed(host, "nccl", error);
  host.broadcast(&id, sizeof id, 0);
  // NCCL takes the device from the calling thread's current context.
  ContextGuard guard(ctx_);
  nccl_check(
      a.comm_init_rank(&comm_, host.size(), id, host.rank()),
      str("ncclCommInitRank(rank ", host.rank(), " of ", host.size(), ", device ", device, ")"));
}

NcclComm::~NcclComm() {
  if (comm_ != nullptr)
    nccl().comm_destroy(comm_);
}

void NcclComm::allreduce_scaled(CUdeviceptr data, size_t n, float scale, CUstream stream) {
  const NcclApi& a = nccl();
  ContextGuard guard(ctx_);
  // A pre-multiplied sum weights each rank's mean by its share of the batch in the same pass.
  ncclRedOp_t op{};
  nccl_check(a.red_op_create_pre_mul_sum(&op, &scale, ncclFloat32, ncclScalarHostImmediate, comm_),
             "ncclRedOpCreatePreMulSum");
  void* p = reinterpret_cast<void*>(data);
  const ncclResult_t r = a.all_reduce(p, p, n, ncclFloat32, op, comm_, stream);
  a.red_op_destroy(op, comm_);
  nccl_check(r, "ncclAllReduce");
}

void NcclComm::broadcast(CUdeviceptr data, size_t bytes, int root, CUstream stream) {
  ContextGuard guard(ctx_);
  void* p = reinterpret_cast<void*>(data);
  nccl_check(nccl().broadcast(p, p, bytes, ncclUint8, root, comm_, stream), "ncclBroadcast");
}

} // namespace kiln::runtime
