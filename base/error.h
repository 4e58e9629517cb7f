#pragma once
// kiln's error types. User mistakes throw a subclass of kiln::Error whose message starts with the
// op, API or file in brackets and says what was expected and what was received. Broken
// internal invariants throw kiln::InternalError (a kiln bug, not the user's).

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace kiln {

/** Base of every error kiln throws on purpose. */
class Error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/** Operand shapes or dtypes that an op does not accept. */
class ShapeError : public Error {
public:
  using Error::Error;
};

/** A file or an in-memory data set that cannot be read: names the file, line and problem. */
class DataError : public Error {
public:
  using Error::Error;
};

/** Training cannot go on (a NaN or Inf in the loss, a diverged optimizer). */
class TrainingError : public Error {
public:
  using Error::Error;
};

/** Generated source failed to compile. Carries the compiler log and where the source was dumped. */
class CompileError : public Error {
public:
  CompileError(const std::string& what, std::string log, std::string source_path)
      : Error(what), log_(std::move(log)), source_path_(std::move(source_path)) {}
  const std::string& log() const { return log_; }
  const std::string& source_path() const { return source_path_; }

private:
  std::string log_;
  std::string source_path_;
};

/** A device (GPU, driver) that was asked for is not there or failed. */
class DeviceError : public Error {
public:
  using Error::Error;
};

/** A broken invariant inside kiln: always a bug in kiln. */
class InternalError : public Error {
public:
  explicit InternalError(const std::string& what) : Error("internal error: " + what) {}
};

/** Concatenates anything printable with operator<< into a string. */
template <class... Args>
std::string str(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

} // namespace kiln

/** Throws kiln::InternalError when an internal invariant does not hold. */
#define KILN_ASSERT(cond, ...)                                                                     \
  do {                                                                                             \
    if (!(cond))                                                                                   \
      throw ::kiln::InternalError(                                                                 \
          ::kiln::str(__FILE__, ":", __LINE__, ": ", #cond, " ", ##__VA_ARGS__));                  \
  } while (0)
