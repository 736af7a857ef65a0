// Result and Status: how the control plane reports failure.
//
// Every fallible control-plane function returns a [[nodiscard]] Result<T> or
// Status.  An Error carries a short machine-readable tag and a human-readable
// detail.  For OVSDB the tag is the RFC 7047 error string ("syntax error",
// "constraint violation", ...) and the detail is the "details" member; for
// everything else the tag is a short category ("I/O error", "usage") and
// the detail is the one-line message shown to the user.
//
// The data plane never uses these: it counts drops (docs/error-policy.md).
#ifndef SPATE_COMMON_RESULT_H
#define SPATE_COMMON_RESULT_H

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace spate {

class Error {
 public:
  Error(std::string tag, std::string details = {})
      : tag_(std::move(tag)), details_(std::move(details)) {}

  const std::string& tag() const { return tag_; }          // Error category.
  const std::string& details() const { return details_; }  // Human text.

  // "tag: details", or just the tag when there are no details.
  std::string ToString() const {
    return details_.empty() ? tag_ : tag_ + ": " + details_;
  }

 private:
  std::string tag_;      // RFC 7047 error name or short category.
  std::string details_;  // One line, no trailing newline.
};

// A value of type T or an Error.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design.
  Result(Error error) : v_(std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { assert(!ok()); return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// Success or an Error.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT

  static Status Ok() { return Status(); }

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { assert(!ok_); return error_; }

 private:
  Error error_{""};  // Meaningful only when !ok_.
  bool ok_ = true;   // True on success.
};

}  // namespace spate

#endif  // SPATE_COMMON_RESULT_H
