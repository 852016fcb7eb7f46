#pragma once
// A double-ended queue in one circular buffer that grows (doubling) and never shrinks, so a
// queue that has reached its working size allocates nothing more. std::deque frees and
// allocates a block every few hundred elements as its contents move along, which in the serving
// loop (waiting requests, batches queued at a stage, a closed-loop client's held requests) is an
// allocation per few hundred requests for as long as the run lasts.
//
// Who uses it: sim/serving (ReplicaState::waiting, a replica stage's queue, ClientLimit). T must
// be default-constructible and copyable; elements are copied, never destroyed before the queue.

#include <cstddef>
#include <vector>

namespace kvsim::serving {

template <class T>
class RingQueue {
 public:
  bool empty() const { return size_ == 0; }
  std::size_t size() const { return size_; }
  const T& front() const { return buffer_[head_]; }
  T& front() { return buffer_[head_]; }
  /// The element `i` places from the front.
  const T& operator[](std::size_t i) const { return buffer_[wrap(head_ + i)]; }

  void push_back(const T& v) {
    if (size_ == buffer_.size()) grow();
    buffer_[wrap(head_ + size_)] = v;
    ++size_;
  }
  void push_front(const T& v) {
    if (size_ == buffer_.size()) grow();
    head_ = wrap(head_ + buffer_.size() - 1);
    buffer_[head_] = v;
    ++size_;
  }
  void pop_front() {
    head_ = wrap(head_ + 1);
    --size_;
  }

 private:
  // The capacity is zero or a power of two, so wrapping is a mask.
  std::size_t wrap(std::size_t i) const { return i & (buffer_.size() - 1); }
  void grow() {
    std::vector<T> bigger(buffer_.empty() ? 16 : 2 * buffer_.size());
    for (std::size_t i = 0; i < size_; ++i) bigger[i] = (*this)[i];
    buffer_.swap(bigger);
    head_ = 0;
  }

  std::vector<T> buffer_;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

}  // namespace kvsim::serving
