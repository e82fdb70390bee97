#pragma once
// Intrusive reference counting for the loop's shared objects (handles,
// futures, tasks): one allocation per object, and the count is atomic
// because executors and call_soon_threadsafe hand references across threads.

#include <atomic>
#include <cstdint>
#include <utility>

namespace aiocpp::detail {

class RefCounted {
 public:
  RefCounted() noexcept = default;
  RefCounted(const RefCounted&) = delete;
  RefCounted& operator=(const RefCounted&) = delete;

  void add_ref() const noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release() const noexcept {
    // The sole owner needs no atomic read-modify-write: nobody else holds a
    // reference that could add another.
    if (refs_.load(std::memory_order_acquire) == 1 ||
        refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      const_cast<RefCounted*>(this)->destroy_self();
    }
  }
  std::uint32_t use_count() const noexcept { return refs_.load(std::memory_order_relaxed); }
  // For an object nobody else can see yet: start with `n` references.
  void set_initial_refs(std::uint32_t n) noexcept { refs_.store(n, std::memory_order_relaxed); }

 protected:
  virtual ~RefCounted() = default;
  // Called when the last reference goes; the default deletes the object.
  virtual void destroy_self() noexcept { delete this; }

 private:
  mutable std::atomic<std::uint32_t> refs_{0};
};

template <class T>
class Ref {
 public:
  Ref() noexcept = default;
  Ref(std::nullptr_t) noexcept {}
  explicit Ref(T* p) noexcept : p_(p) {
    if (p_) p_->add_ref();
  }
  // Takes over a reference the caller already counted.
  static Ref adopt(T* p) noexcept {
    Ref r;
    r.p_ = p;
    return r;
  }
  Ref(const Ref& o) noexcept : p_(o.p_) {
    if (p_) p_->add_ref();
  }
  template <class U>
  Ref(const Ref<U>& o) noexcept : p_(o.get()) {
    if (p_) p_->add_ref();
  }
  Ref(Ref&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  Ref& operator=(Ref o) noexcept {
    std::swap(p_, o.p_);
    return *this;
  }
  ~Ref() {
    if (p_) p_->release();
  }

  T* get() const noexcept { return p_; }
  T* operator->() const noexcept { return p_; }
  T& operator*() const noexcept { return *p_; }
  explicit operator bool() const noexcept { return p_ != nullptr; }
  T* detach() noexcept { return std::exchange(p_, nullptr); }
  void reset() noexcept { Ref().swap_with(*this); }
  friend bool operator==(const Ref& a, const Ref& b) noexcept { return a.p_ == b.p_; }

 private:
  void swap_with(Ref& o) noexcept { std::swap(p_, o.p_); }
  T* p_ = nullptr;
};

}  // namespace aiocpp::detail
