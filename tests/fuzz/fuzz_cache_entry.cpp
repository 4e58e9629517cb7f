// Kernel cache entries (runtime/kernel_cache.h) of arbitrary bytes: load() returns a payload only
// for a whole, well-formed entry of its key, and never crashes, hangs or allocates what the
// header claims. A payload it returns is stored again and must load back the same.

#include "fuzz_support.h"
#include "runtime/kernel_cache.h"

#include <fcntl.h>

#include <filesystem>

namespace {

const std::string& key() {
  static const std::string k =
      kiln::runtime::make_cache_key("int f() { return 1; }", "-O2", "clang 14", "x86-64");
  return k;
}

kiln::runtime::KernelCache& cache() {
  static kiln::runtime::KernelCache* c = [] {
    char dir[] = "/tmp/kiln-fuzz-cache-XXXXXX"; // mkdtemp: mode 0700, this user's
    if (::mkdtemp(dir) == nullptr) {
      std::perror("mkdtemp");
      std::abort();
    }
    return new kiln::runtime::KernelCache(dir);
  }();
  return *c;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  kiln::runtime::KernelCache& c = cache();
  const std::string entry = c.entry_path(key()).string();
  const int fd = ::open(entry.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || ::write(fd, data, size) != static_cast<ssize_t>(size)) {
    std::perror(entry.c_str());
    std::abort();
  }
  ::close(fd);
  const std::optional<std::string> payload = c.load(key());
  if (payload) {
    if (payload->size() >= size)
      kiln::fuzz::violated("a payload as long as the whole entry");
    c.store(key(), *payload);
    if (c.load(key()) != payload)
      kiln::fuzz::violated("a stored payload does not load back");
  }
  return 0;
}
