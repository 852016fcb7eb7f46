#pragma once
// A callable of at most kCapacity bytes stored inline: what the event queue runs.
//
// Callbacks in kvsim are small by design (they capture `this` and an id), so the queue never
// allocates for them. The wrapped callable must be trivially copyable (a lambda capturing
// pointers and integers is); anything larger or owning is rejected at compile time, which keeps
// the hot path free of destructors and heap traffic.

#include <cstddef>
#include <cstring>
#include <new>
#include <type_traits>
#include <utility>

namespace kvsim {

class InlineCallback {
 public:
  static constexpr std::size_t kCapacity = 24;  // bytes: `this` plus two 64-bit ids

  InlineCallback() = default;

  template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, InlineCallback>>>
  InlineCallback(F&& f) {  // NOLINT(google-explicit-constructor): lambdas convert implicitly
    using Fn = std::decay_t<F>;
    static_assert(sizeof(Fn) <= kCapacity, "event callbacks must capture at most 24 bytes");
    static_assert(std::is_trivially_copyable_v<Fn>,
                  "event callbacks must be trivially copyable (capture pointers and ids)");
    static_assert(alignof(Fn) <= alignof(void*), "captures are pointers and integers");
    ::new (static_cast<void*>(storage_)) Fn(std::forward<F>(f));
    invoke_ = [](const unsigned char* s) {
      (*std::launder(reinterpret_cast<Fn*>(const_cast<unsigned char*>(s))))();
    };
  }

  void operator()() const { invoke_(storage_); }
  explicit operator bool() const { return invoke_ != nullptr; }

 private:
  alignas(void*) unsigned char storage_[kCapacity]{};
  void (*invoke_)(const unsigned char*) = nullptr;
};

}  // namespace kvsim
