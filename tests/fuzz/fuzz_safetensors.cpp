// The safetensors reader (io/safetensors.h) on arbitrary bytes: it either returns tensors whose
// every byte count, view and element count agree, or throws kiln::Error naming the file. Any
// other exception, a crash or a sanitizer report is a finding.

#include "fuzz_support.h"
#include "io/safetensors.h"

namespace {

template <kiln::HostElement T>
void touch(const kiln::HostTensor& t) {
  const auto v = t.view<T>();
  if (static_cast<int64_t>(v.size()) != t.numel())
    kiln::fuzz::violated("view size differs from numel");
  [[maybe_unused]] volatile T sink{};
  for (const T& x : v)
    sink = x;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const kiln::fuzz::MemoryFile file(data, size);
  try {
    const kiln::Safetensors s = kiln::load_safetensors(file.path());
    for (const auto& [name, t] : s.tensors) {
      switch (t.dtype) {
      case kiln::ir::DType::F32:
        touch<float>(t);
        break;
      case kiln::ir::DType::F64:
        touch<double>(t);
        break;
      case kiln::ir::DType::I32:
        touch<int32_t>(t);
        break;
      case kiln::ir::DType::I64:
        touch<int64_t>(t);
        break;
      }
    }
  } catch (const kiln::Error&) {
  }
  return 0;
}
