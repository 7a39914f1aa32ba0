// Errors as values: every fallible call in lib/ returns Result<T> (or
// Result<void>), never throws across a layer boundary and never aborts.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace lk {

enum class ErrorKind {
  InvalidArgument,   // caller passed something unusable (bad SDP, bad size...)
  Malformed,         // bytes from the network failed to parse
  Unsupported,       // peer or server lacks a feature we need
  NotAuthorized,     // token refused
  NotFound,          // track / participant / channel missing
  Network,           // connect, ICE, DTLS, SCTP failure
  Timeout,
  Closed,            // object already closed
  Cancelled,         // a blocking call was woken by its cancel
  Internal,
};

struct Error {
  ErrorKind kind = ErrorKind::Internal;
  std::string message;  // says what went wrong and, where it can, what to fix
};

inline Error make_error(ErrorKind kind, std::string message) {
  return Error{kind, std::move(message)};
}

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Error error) : v_(std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

inline Result<void> ok() { return {}; }

}  // namespace lk
