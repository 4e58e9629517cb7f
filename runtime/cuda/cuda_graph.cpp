#include "runtime/cuda/cuda_graph.h"

#include "base/error.h"

#include <utility>

namespace kiln::runtime {
namespace {

const CudaDriver& driver() {
  return CudaDriver::get();
}

const CudaApi& graph_api(const char* what) {
  const CudaApi& a = driver().require(what);
  if (!driver().supports(DriverFeature::Graphs))
    throw DeviceError("[cuda] CudaGraph: this driver lacks the CUDA graph calls "
                      "(cuStreamBeginCapture_v2, cuStreamEndCapture, cuGraphInstantiateWithFlags, "
                      "cuGraphLaunch, cuGraphExecDestroy, cuGraphDestroy)");
  return a;
}

} // namespace

CudaGraph CudaGraph::capture(const Stream& stream, const std::function<void()>& work) {
  const CudaApi& a = graph_api("CudaGraph::capture");
  PrimaryContext ctx(stream.context().device(), "CudaGraph");
  // Thread-local mode: other threads may keep making unsafe calls (cuMemAlloc) while we capture.
  driver().check(a.stream_begin_capture(stream.get(), CU_STREAM_CAPTURE_MODE_THREAD_LOCAL),
                 "cuStreamBeginCapture");
  CUgraph graph = nullptr;
  try {
    work();
  } catch (...) {
    if (a.stream_end_capture(stream.get(), &graph) == CUDA_SUCCESS && graph != nullptr)
      a.graph_destroy(graph);
    throw;
  }
  driver().check(a.stream_end_capture(stream.get(), &graph), "cuStreamEndCapture");
  CUgraphExec exec = nullptr;
  const CUresult r = a.graph_instantiate(&exec, graph, 0);
  a.graph_destroy(graph); // the executable graph is independent of its template
  driver().check(r, "cuGraphInstantiate");
  return CudaGraph(std::move(ctx), exec);
}

CudaGraph::CudaGraph(PrimaryContext ctx, CUgraphExec exec) : ctx_(std::move(ctx)), exec_(exec) {}

CudaGraph::~CudaGraph() {
  destroy();
}

CudaGraph::CudaGraph(CudaGraph&& other) noexcept
    : ctx_(std::move(other.ctx_)), exec_(std::exchange(other.exec_, nullptr)) {}

CudaGraph& CudaGraph::operator=(CudaGraph&& other) noexcept {
  if (this != &other) {
    destroy();
    ctx_ = std::move(other.ctx_);
    exec_ = std::exchange(other.exec_, nullptr);
  }
  return *this;
}

void CudaGraph::destroy() noexcept {
  if (exec_ == nullptr)
    return;
  driver().require("release").graph_exec_destroy(exec_);
  exec_ = nullptr;
}

void CudaGraph::launch(const Stream& stream) const {
  const CudaApi& a = graph_api("CudaGraph::launch");
  stream.context().make_current();
  driver().check(a.graph_launch(exec_, stream.get()), "cuGraphLaunch");
}

} // namespace kiln::runtime
