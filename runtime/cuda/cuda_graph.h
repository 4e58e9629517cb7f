#pragma once
// CUDA graphs: a sequence of launches and async copies captured once and replayed with one driver
// call. A training step is a handful of small kernels, so replaying them as one graph removes
// most of the per-launch CPU overhead.

#include "runtime/cuda/cuda_device.h"

#include <functional>

namespace kiln::runtime {

/** An instantiated CUDA graph (needs DriverFeature::Graphs). */
class CudaGraph {
public:
  /**
   * Runs `work`, which queues launches and async copies on `stream`, under stream capture and
   * instantiates what it queued; nothing executes during capture. Throws DeviceError when the
   * driver lacks the graph calls or capture fails; if `work` throws, the capture is abandoned
   * and the exception passes through.
   */
  static CudaGraph capture(const Stream& stream, const std::function<void()>& work);

  ~CudaGraph();
  CudaGraph(CudaGraph&& other) noexcept;
  CudaGraph& operator=(CudaGraph&& other) noexcept;

  /** Queues one replay of the captured work on `stream`. */
  void launch(const Stream& stream) const;

private:
  CudaGraph(PrimaryContext ctx, CUgraphExec exec);
  void destroy() noexcept;
  PrimaryContext ctx_;
  CUgraphExec exec_ = nullptr;
};

} // namespace kiln::runtime
