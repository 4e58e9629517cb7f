#include "runtime/cuda/cuda_device.h"

#include "base/error.h"

#include <mutex>
#include <set>
#include <utility>

namespace kiln::runtime {
namespace {

const CudaDriver& driver() {
  return CudaDriver::get();
}

// For destructors: only reached when a handle exists, so the driver is available and this
// cannot throw.
const CudaApi& api() {
  return driver().require("release");
}

constexpr unsigned kDefaultSharedLimit = 48 * 1024;
constexpr unsigned long long kMaxThreadsPerBlock = 1024;

std::string dims(Dim3 d) {
  return str("(", d.x, ", ", d.y, ", ", d.z, ")");
}

// Creating a primary context costs 100+ ms and destroying one frees everything in it, so once a
// device has been used its context stays for the life of the process (one extra retain, never
// released), even while no kiln object holds it.
void pin_for_process(const CudaApi& a, CUdevice dev, int ordinal) {
  static std::mutex mutex;
  static std::set<int> pinned;
  std::lock_guard<std::mutex> lock(mutex);
  CUcontext ctx = nullptr;
  if (pinned.count(ordinal) == 0 && a.primary_ctx_retain(&ctx, dev) == CUDA_SUCCESS)
    pinned.insert(ordinal);
}

bool is_elf(const std::string& image) {
  return image.size() >= 4 && image.compare(0, 4, "\177ELF") == 0;
}

} // namespace

// ---- PrimaryContext ----------------------------------------------

PrimaryContext::PrimaryContext(int device, std::string_view user) {
  const CudaApi& a = driver().require(user);
  if (device < 0 || device >= driver().device_count())
    throw DeviceError(str("[cuda] device ", device, " does not exist: ", driver().device_count(),
                          " CUDA device(s) found"));
  driver().check(a.device_get(&dev_, device), str("cuDeviceGet(", device, ")"));
  driver().check(a.primary_ctx_retain(&ctx_, dev_), "cuDevicePrimaryCtxRetain");
  ordinal_ = device;
  pin_for_process(a, dev_, device);
  try {
    make_current();
  } catch (...) {
    release();
    throw;
  }
}

PrimaryContext::~PrimaryContext() {
  release();
}

PrimaryContext::PrimaryContext(PrimaryContext&& other) noexcept
    : ctx_(std::exchange(other.ctx_, nullptr)), dev_(other.dev_),
      ordinal_(std::exchange(other.ordinal_, -1)) {}

PrimaryContext& PrimaryContext::operator=(PrimaryContext&& other) noexcept {
  if (this != &other) {
    release();
    ctx_ = std::exchange(other.ctx_, nullptr);
    dev_ = other.dev_;
    ordinal_ = std::exchange(other.ordinal_, -1);
  }
  return *this;
}

void PrimaryContext::release() noexcept {
  if (ctx_ == nullptr)
    return;
  api().primary_ctx_release(dev_);
  ctx_ = nullptr;
  ordinal_ = -1;
}

void PrimaryContext::make_current() const {
  KILN_ASSERT(ctx_ != nullptr, "make_current on an empty PrimaryContext");
  driver().check(api().ctx_set_current(ctx_), "cuCtxSetCurrent");
}

ContextGuard::ContextGuard(const PrimaryContext& ctx) {
  driver().check(driver().require("ContextGuard").ctx_get_current(&previous_), "cuCtxGetCurrent");
  ctx.make_current();
}

ContextGuard::~ContextGuard() {
  api().ctx_set_current(previous_);
}

// ---- Stream ------------------------------------------------------

Stream::Stream(int device) : ctx_(device, "Stream") {
  // Blocking (not CU_STREAM_NON_BLOCKING): DeviceBuffer's synchronous copies run on the legacy
  // default stream, and a pageable cuMemcpyHtoD may return before its DMA has landed. Only a
  // stream that synchronises with the legacy one orders the next kernel after that copy.
  driver().check(api().stream_create(&stream_, CU_STREAM_DEFAULT), "cuStreamCreate");
}

Stream::~Stream() {
  destroy();
}

Stream::Stream(Stream&& other) noexcept
    : ctx_(std::move(other.ctx_)), stream_(std::exchange(other.stream_, nullptr)) {}

Stream& Stream::operator=(Stream&& other) noexcept {
  if (this != &other) {
    destroy();
    ctx_ = std::move(other.ctx_);
    stream_ = std::exchange(other.stream_, nullptr);
  }
  return *this;
}

void Stream::destroy() noexcept {
  if (stream_ == nullptr)
    return;
  api().ctx_set_current(ctx_.get());
  api().stream_destroy(stream_);
  stream_ = nullptr;
}

void Stream::synchronize() const {
  driver().check(driver().require("Stream::synchronize").stream_synchronize(stream_),
                 "cuStreamSynchronize");
}

// ---- DeviceBuffer ------------------------------------------------

DeviceBuffer::DeviceBuffer(size_t bytes, int device)
    : ctx_(device, str("DeviceBuffer(", bytes, " bytes)")) {
  // cuMemAlloc rejects 0 bytes; an empty buffer simply owns no memory.
  if (bytes > 0)
    driver().check(api().mem_alloc(&ptr_, bytes), str("cuMemAlloc(", bytes, " bytes)"));
  bytes_ = bytes;
}

DeviceBuffer::~DeviceBuffer() {
  free();
}

DeviceBuffer::DeviceBuffer(DeviceBuffer&& other) noexcept
    : ctx_(std::move(other.ctx_)), ptr_(std::exchange(other.ptr_, 0)),
      bytes_(std::exchange(other.bytes_, 0)) {}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& other) noexcept {
  if (this != &other) {
    free();
    ctx_ = std::move(other.ctx_);
    ptr_ = std::exchange(other.ptr_, 0);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

void DeviceBuffer::free() noexcept {
  if (ptr_ != 0) {
    // cuMemFree needs the owning context current; a thread may have switched away from it.
    api().ctx_set_current(ctx_.get());
    api().mem_free(ptr_);
  }
  ptr_ = 0;
  bytes_ = 0;
}

void DeviceBuffer::check_range(const char* what, size_t bytes, size_t offset) const {
  if (offset > bytes_ || bytes > bytes_ - offset)
    throw ShapeError(str("[cuda] DeviceBuffer::", what, ": ", bytes, " bytes at offset ", offset,
                         " do not fit in a buffer of ", bytes_, " bytes"));
}

void DeviceBuffer::upload_bytes(const void* host, size_t bytes, size_t offset) {
  check_range("upload", bytes, offset);
  if (bytes == 0)
    return;
  ctx_.make_current();
  if (CUresult r = api().memcpy_htod(ptr_ + offset, host, bytes); r != CUDA_SUCCESS)
    driver().check(r, str("cuMemcpyHtoD(", bytes, " bytes)"));
}

void DeviceBuffer::download_bytes(void* host, size_t bytes, size_t offset) const {
  check_range("download", bytes, offset);
  if (bytes == 0)
    return;
  ctx_.make_current();
  if (CUresult r = api().memcpy_dtoh(host, ptr_ + offset, bytes); r != CUDA_SUCCESS)
    driver().check(r, str("cuMemcpyDtoH(", bytes, " bytes)"));
}

void DeviceBuffer::upload_bytes_async(const void* host, size_t bytes, const Stream& stream,
                                      size_t offset) {
  check_range("upload_async", bytes, offset);
  if (bytes == 0)
    return;
  if (!driver().supports(DriverFeature::AsyncCopy))
    return upload_bytes(host, bytes, offset); // the same result, only synchronous
  ctx_.make_current();
  if (CUresult r = api().memcpy_htod_async(ptr_ + offset, host, bytes, stream.get());
      r != CUDA_SUCCESS)
    driver().check(r, str("cuMemcpyHtoDAsync(", bytes, " bytes)"));
}

void DeviceBuffer::download_bytes_async(void* host, size_t bytes, const Stream& stream,
                                        size_t offset) const {
  check_range("download_async", bytes, offset);
  if (bytes == 0)
    return;
  if (!driver().supports(DriverFeature::AsyncCopy)) {
    stream.synchronize(); // queued kernels must finish before a synchronous copy reads
    return download_bytes(host, bytes, offset);
  }
  ctx_.make_current();
  if (CUresult r = api().memcpy_dtoh_async(host, ptr_ + offset, bytes, stream.get());
      r != CUDA_SUCCESS)
    driver().check(r, str("cuMemcpyDtoHAsync(", bytes, " bytes)"));
}

// ---- Event -------------------------------------------------------

Event::Event(int device) : ctx_(device, "Event") {
  if (!driver().supports(DriverFeature::Events))
    throw DeviceError("[cuda] Event: this driver lacks the event calls (cuEventCreate, "
                      "cuEventRecord, cuEventElapsedTime, cuEventDestroy_v2)");
  driver().check(api().event_create(&event_, CU_EVENT_DEFAULT), "cuEventCreate");
}

Event::~Event() {
  destroy();
}

Event::Event(Event&& other) noexcept
    : ctx_(std::move(other.ctx_)), event_(std::exchange(other.event_, nullptr)) {}

Event& Event::operator=(Event&& other) noexcept {
  if (this != &other) {
    destroy();
    ctx_ = std::move(other.ctx_);
    event_ = std::exchange(other.event_, nullptr);
  }
  return *this;
}

void Event::destroy() noexcept {
  if (event_ == nullptr)
    return;
  api().ctx_set_current(ctx_.get());
  api().event_destroy(event_);
  event_ = nullptr;
}

void Event::record(const Stream& stream) {
  driver().check(api().event_record(event_, stream.get()), "cuEventRecord");
}

void Event::synchronize() const {
  driver().check(api().event_synchronize(event_), "cuEventSynchronize");
}

float Event::elapsed_ms(const Event& start, const Event& end) {
  float ms = 0.0f;
  driver().check(api().event_elapsed_time(&ms, start.event_, end.event_), "cuEventElapsedTime");
  return ms;
}

// ---- CudaModule --------------------------------------------------

CudaModule::CudaModule(const std::string& image, int device) : ctx_(device, "CudaModule") {
  const char* kind = is_elf(image) ? "CUBIN" : "PTX";
  if (image.empty())
    throw DeviceError("[cuda] CudaModule: the image is empty (expected CUBIN or PTX)");
  // std::string keeps a NUL after the data, which PTX text needs.
  driver().check(api().module_load_data(&module_, image.c_str()),
                 str("cuModuleLoadData(", kind, ", ", image.size(), " bytes)"));
}

CudaModule::~CudaModule() {
  unload();
}

CudaModule::CudaModule(CudaModule&& other) noexcept
    : ctx_(std::move(other.ctx_)), module_(std::exchange(other.module_, nullptr)) {}

CudaModule& CudaModule::operator=(CudaModule&& other) noexcept {
  if (this != &other) {
    unload();
    ctx_ = std::move(other.ctx_);
    module_ = std::exchange(other.module_, nullptr);
  }
  return *this;
}

void CudaModule::unload() noexcept {
  if (module_ == nullptr)
    return;
  api().ctx_set_current(ctx_.get());
  api().module_unload(module_);
  module_ = nullptr;
}

CUfunction CudaModule::function(const std::string& name) const {
  CUfunction fn = nullptr;
  driver().check(
      driver().require("CudaModule::function").module_get_function(&fn, module_, name.c_str()),
      str("cuModuleGetFunction(\"", name, "\")"));
  return fn;
}

// ---- launch ------------------------------------------------------

namespace {

void validate_launch(CUfunction fn, Dim3 grid, Dim3 block) {
  if (fn == nullptr)
    throw DeviceError("[cuda] launch: no kernel (the CUfunction is null)");
  for (auto [what, d] : {std::pair{"grid", grid}, std::pair{"block", block}})
    if (d.x == 0 || d.y == 0 || d.z == 0)
      throw ShapeError(str("[cuda] launch: ", what, " ", dims(d), " has a zero extent"));
  const unsigned long long threads = 1ull * block.x * block.y * block.z;
  if (threads > kMaxThreadsPerBlock)
    throw ShapeError(str("[cuda] launch: block ", dims(block), " has ", threads,
                         " threads; a block holds at most ", kMaxThreadsPerBlock));
}

} // namespace

void launch(CUfunction fn, Dim3 grid, Dim3 block, unsigned shared_bytes, CUstream stream,
            void** args) {
  validate_launch(fn, grid, block);
  const CudaApi& a = driver().require("launch");
  if (shared_bytes > kDefaultSharedLimit && driver().supports(DriverFeature::FuncAttributes)) {
    CUresult r = a.func_set_attribute(fn, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                                      static_cast<int>(shared_bytes));
    if (r != CUDA_SUCCESS)
      driver().check(r,
                     str("cuFuncSetAttribute(MAX_DYNAMIC_SHARED_SIZE_BYTES, ", shared_bytes, ")"));
  }
  // The message is built only on failure: launches sit on the hot path of every training step.
  CUresult r = a.launch_kernel(fn, grid.x, grid.y, grid.z, block.x, block.y, block.z, shared_bytes,
                               stream, args, nullptr);
  if (r != CUDA_SUCCESS)
    driver().check(r, str("cuLaunchKernel(grid ", dims(grid), ", block ", dims(block), ", ",
                          shared_bytes, " shared bytes)"));
}

void launch(CUfunction fn, Dim3 grid, Dim3 block, unsigned shared_bytes, const Stream& stream,
            void** args) {
  validate_launch(fn, grid, block);
  driver().require("launch");
  stream.context().make_current();
  launch(fn, grid, block, shared_bytes, stream.get(), args);
}

} // namespace kiln::runtime
