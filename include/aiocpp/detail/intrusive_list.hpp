#pragma once
// A doubly linked list threaded through its elements: an element derives
// from ListNode<T>, so tracking it never allocates and removing it is O(1).
// The loop keeps its pending tasks and its live transports this way.

namespace aiocpp::detail {

template <class T>
class IntrusiveList;

template <class T>
class ListNode {
 private:
  friend class IntrusiveList<T>;
  T* list_prev_ = nullptr;
  T* list_next_ = nullptr;
};

template <class T>
class IntrusiveList {
 public:
  void push_front(T* item) noexcept {
    ListNode<T>* node = item;
    node->list_prev_ = nullptr;
    node->list_next_ = head_;
    if (head_) as_node(head_)->list_prev_ = item;
    head_ = item;
  }

  // False (and nothing done) when `item` is not in this list.
  bool remove(T* item) noexcept {
    ListNode<T>* node = item;
    if (node->list_prev_) {
      as_node(node->list_prev_)->list_next_ = node->list_next_;
    } else if (head_ == item) {
      head_ = node->list_next_;
    } else {
      return false;
    }
    if (node->list_next_) as_node(node->list_next_)->list_prev_ = node->list_prev_;
    node->list_prev_ = node->list_next_ = nullptr;
    return true;
  }

  T* front() const noexcept { return head_; }
  static T* next(T* item) noexcept { return as_node(item)->list_next_; }

 private:
  static ListNode<T>* as_node(T* item) noexcept { return item; }
  T* head_ = nullptr;
};

}  // namespace aiocpp::detail
