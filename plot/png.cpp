// The one translation unit with stb_image_write's implementation, compressed with zlib. The
// functions are static here, so another library that embeds stb_image_write cannot clash.

#include "plot/canvas.h"

#include "base/error.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

// stb's own deflate is simple and large; zlib's makes files a few times smaller.
unsigned char* zlib_compress(unsigned char* data, int data_len, int* out_len, int quality) {
  uLongf size = compressBound(static_cast<uLong>(data_len));
  auto* out = static_cast<unsigned char*>(std::malloc(size));
  if (out == nullptr)
    return nullptr;
  if (compress2(out, &size, data, static_cast<uLong>(data_len), std::min(quality, 9)) != Z_OK) {
    std::free(out);
    return nullptr;
  }
  *out_len = static_cast<int>(size);
  return out;
}

} // namespace

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#define STBI_WRITE_NO_STDIO
#define STBIW_ZLIB_COMPRESS zlib_compress
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-function"
#include <stb/stb_image_write.h>
#pragma GCC diagnostic pop

namespace kiln::plot {

namespace {

struct FileSink {
  std::FILE* file = nullptr;
  bool failed = false;
};

void write_to_file(void* context, void* data, int size) {
  auto* sink = static_cast<FileSink*>(context);
  if (!sink->failed &&
      std::fwrite(data, 1, static_cast<size_t>(size), sink->file) != static_cast<size_t>(size))
    sink->failed = true;
}

} // namespace

void Canvas::write_png(const std::string& path) const {
  // Our own fopen, so the error can say why the file could not be written.
  FileSink sink{std::fopen(path.c_str(), "wb")};
  if (sink.file == nullptr)
    throw Error(str("[plot] ", path, ": cannot write the PNG: ", std::strerror(errno)));
  const int ok =
      stbi_write_png_to_func(write_to_file, &sink, width_, height_, 3, rgb_.data(), width_ * 3);
  const int err = errno;
  const bool closed = std::fclose(sink.file) == 0;
  if (!ok || sink.failed || !closed)
    throw Error(str("[plot] ", path, ": writing the PNG failed: ", std::strerror(err)));
}

} // namespace kiln::plot
