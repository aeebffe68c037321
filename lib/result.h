// Errors are values (STYLE.md): Result<T> holds either a T or an Errno.
// No exceptions in the kernel; TRY() propagates an error to the caller.
#pragma once

#include <new>
#include <type_traits>
#include <utility>

#include "lib/errno.h"

namespace k {

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(const T& v) : ok_(true) { new (&storage_) T(v); }
  Result(T&& v) : ok_(true) { new (&storage_) T(std::move(v)); }
  Result(Errno e) : ok_(false), err_(e) {}
  Result(const Result& o) : ok_(o.ok_), err_(o.err_) {
    if (ok_) new (&storage_) T(o.value());
  }
  Result& operator=(const Result&) = delete;
  ~Result() {
    if (ok_) value().~T();
  }

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  Errno error() const { return ok_ ? Errno::kOk : err_; }
  T& value() { return *std::launder(reinterpret_cast<T*>(&storage_)); }
  const T& value() const { return *std::launder(reinterpret_cast<const T*>(&storage_)); }
  T& operator*() { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T value_or(T fallback) const { return ok_ ? value() : fallback; }

 private:
  bool ok_;
  Errno err_ = Errno::kOk;
  alignas(T) unsigned char storage_[sizeof(T)];
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Errno e) : err_(e) {}
  bool ok() const { return err_ == Errno::kOk; }
  explicit operator bool() const { return ok(); }
  Errno error() const { return err_; }
  // Lets TRY() work on Result<void> too (the value is empty).
  struct Empty {};
  Empty value() const { return {}; }

 private:
  Errno err_ = Errno::kOk;
};

}  // namespace k

// Evaluates expr (a Result); returns its error from the enclosing function
// if it failed, otherwise yields the value.
#define TRY(expr)                            \
  ({                                         \
    auto _try_r = (expr);                    \
    if (!_try_r.ok()) return _try_r.error(); \
    std::move(_try_r.value());               \
  })
