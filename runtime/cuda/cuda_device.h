#pragma once
// RAII handles on CUDA driver objects: contexts, device memory, streams, events, modules, and
// kernel launches. Every constructor and call goes through CudaDriver::require(), so on a
// machine without a GPU they throw kiln::DeviceError "[cuda] no GPU: <reason> (needed by ...)"
// instead of crashing. Destructors never throw: a driver error while releasing is ignored.

#include "runtime/cuda/cuda_driver.h"

#include <cstddef>
#include <ranges>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

namespace kiln::runtime {

/**
 * Device `device`'s primary context, retained for this object's lifetime. Every object below
 * holds one, so a context can never be torn down under live buffers, streams or modules. The
 * first use of a device also keeps its context for the rest of the process, so kiln does not
 * re-create it (100+ ms) whenever the last object goes away.
 */
class PrimaryContext {
public:
  /** Holds no context (what a default-constructed DeviceBuffer carries); needs no driver. */
  PrimaryContext() = default;
  /**
   * Retains the primary context of `device` (an ordinal) and makes it current on this thread.
   * `user` names what needed it in the "[cuda] no GPU: ..." error.
   */
  explicit PrimaryContext(int device, std::string_view user = "PrimaryContext");
  ~PrimaryContext();
  PrimaryContext(PrimaryContext&& other) noexcept;
  PrimaryContext& operator=(PrimaryContext&& other) noexcept;
  PrimaryContext(const PrimaryContext&) = delete;
  PrimaryContext& operator=(const PrimaryContext&) = delete;

  /** Makes the context current on the calling thread (a thread-local switch: cheap). */
  void make_current() const;
  /** The raw context; null for an empty PrimaryContext. */
  CUcontext get() const { return ctx_; }
  /** The device ordinal; -1 for an empty PrimaryContext. */
  int device() const { return ordinal_; }

private:
  void release() noexcept;
  CUcontext ctx_ = nullptr;
  CUdevice dev_ = 0;
  int ordinal_ = -1;
};

/** Scoped: makes `ctx` current on this thread and restores the previous context on exit. */
class ContextGuard {
public:
  explicit ContextGuard(const PrimaryContext& ctx);
  ~ContextGuard();
  ContextGuard(const ContextGuard&) = delete;
  ContextGuard& operator=(const ContextGuard&) = delete;

private:
  CUcontext previous_ = nullptr;
};

/**
 * A stream that is ordered with the legacy default stream (CU_STREAM_DEFAULT), so the blocking
 * DeviceBuffer copies, which run there, are ordered before and after the kernels launched on it.
 */
class Stream {
public:
  /** Creates a stream on `device`. */
  explicit Stream(int device = 0);
  ~Stream();
  Stream(Stream&& other) noexcept;
  Stream& operator=(Stream&& other) noexcept;

  /** Blocks until all work queued on the stream has finished; throws DeviceError on failure. */
  void synchronize() const;
  /** The raw stream, e.g. for the CUstream overload of launch(). */
  CUstream get() const { return stream_; }
  /** The context the stream belongs to. */
  const PrimaryContext& context() const { return ctx_; }

private:
  void destroy() noexcept;
  PrimaryContext ctx_;
  CUstream stream_ = nullptr;
};

/**
 * Device memory (cuMemAlloc). Default-constructed buffers are empty and need no driver.
 * Copies check the byte range first and throw kiln::ShapeError when it does not fit.
 */
class DeviceBuffer {
public:
  DeviceBuffer() = default;
  /** Allocates `bytes` bytes on `device`. */
  explicit DeviceBuffer(size_t bytes, int device = 0);
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer&& other) noexcept;
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept;

  /** Size in bytes. */
  size_t size() const { return bytes_; }
  /** The device address; 0 for an empty buffer. */
  CUdeviceptr get() const { return ptr_; }
  /** Address of the device pointer, to put into a kernel's argument array. */
  void* arg() { return &ptr_; }

  /**
   * Copies `bytes` bytes from host memory to [offset, offset + bytes) of the buffer, on the
   * legacy default stream. Returns once `host` may be reused; kernels launched afterwards on
   * any kiln Stream see the data.
   */
  void upload_bytes(const void* host, size_t bytes, size_t offset = 0);
  /**
   * Copies [offset, offset + bytes) of the buffer to host memory once the work queued before it
   * on kiln Streams has finished; returns when the data is in `host`.
   */
  void download_bytes(void* host, size_t bytes, size_t offset = 0) const;
  /** Queues an upload on `stream`; `host` must stay valid (and should be pinned) until it ran. */
  void upload_bytes_async(const void* host, size_t bytes, const Stream& stream, size_t offset = 0);
  /** Queues a download on `stream`; read `host` only after stream.synchronize(). */
  void download_bytes_async(void* host, size_t bytes, const Stream& stream,
                            size_t offset = 0) const;

  /** Uploads a contiguous host range (std::vector, std::array, std::span, ...). */
  template <std::ranges::contiguous_range R>
  void upload(const R& host, size_t offset = 0) {
    upload_bytes(std::ranges::data(host),
                 std::ranges::size(host) * sizeof(*std::ranges::data(host)), offset);
  }
  /** Downloads into a contiguous host range of writable elements. */
  template <std::ranges::contiguous_range R>
  void download(R&& host, size_t offset = 0) const {
    static_assert(!std::is_const_v<std::remove_reference_t<decltype(*std::ranges::data(host))>>,
                  "DeviceBuffer::download needs a writable host range");
    download_bytes(std::ranges::data(host),
                   std::ranges::size(host) * sizeof(*std::ranges::data(host)), offset);
  }

private:
  void check_range(const char* what, size_t bytes, size_t offset) const;
  void free() noexcept;
  PrimaryContext ctx_;
  CUdeviceptr ptr_ = 0;
  size_t bytes_ = 0;
};

/** A timing event (needs DriverFeature::Events). */
class Event {
public:
  /** Creates an event on `device`; throws DeviceError when the driver lacks the event calls. */
  explicit Event(int device = 0);
  ~Event();
  Event(Event&& other) noexcept;
  Event& operator=(Event&& other) noexcept;

  /** Records the event on `stream`. */
  void record(const Stream& stream);
  /** Blocks until the recorded work has completed. */
  void synchronize() const;
  /** Milliseconds between two recorded, completed events. */
  static float elapsed_ms(const Event& start, const Event& end);
  /** The raw event. */
  CUevent get() const { return event_; }

private:
  void destroy() noexcept;
  PrimaryContext ctx_;
  CUevent event_ = nullptr;
};

/** A loaded module (cuModuleLoadData); unloaded on destruction. */
class CudaModule {
public:
  /** Loads a CUBIN (ELF) or PTX image, e.g. NvrtcResult::binary. */
  explicit CudaModule(const std::string& image, int device = 0);
  ~CudaModule();
  CudaModule(CudaModule&& other) noexcept;
  CudaModule& operator=(CudaModule&& other) noexcept;

  /** The `extern "C"` kernel `name`; throws DeviceError naming it when the module lacks it. */
  CUfunction function(const std::string& name) const;
  /** The raw module. */
  CUmodule get() const { return module_; }
  /** The context the module was loaded into. */
  const PrimaryContext& context() const { return ctx_; }

private:
  void unload() noexcept;
  PrimaryContext ctx_;
  CUmodule module_ = nullptr;
};

/** Grid or block extents. */
struct Dim3 {
  unsigned x = 1, y = 1, z = 1;
};

/**
 * Launches `fn` on `stream` with `args` (one pointer per kernel parameter, to its value), after
 * making the stream's context current. Checks the launch first, before touching the driver:
 * a null `fn` is a DeviceError; a zero extent or more than 1024 threads per block is a
 * kiln::ShapeError. Dynamic shared memory above 48 KiB is opted into with cuFuncSetAttribute
 * when the driver has it. Does not wait: errors inside the kernel surface at the next
 * synchronising call.
 */
void launch(CUfunction fn, Dim3 grid, Dim3 block, unsigned shared_bytes, const Stream& stream,
            void** args);

/** launch() on a raw stream (nullptr: the legacy default stream); fn's context must be current. */
void launch(CUfunction fn, Dim3 grid, Dim3 block, unsigned shared_bytes, CUstream stream,
            void** args);

} // namespace kiln::runtime
