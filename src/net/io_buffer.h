// A contiguous read buffer whose memory comes from a per-worker pool of fixed-size blocks, so an
// idle connection can hand its memory back and a busy one reuses it without malloc.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

namespace rampart::net {

class BufferPool {
 public:
  BufferPool(std::size_t block_size, std::size_t max_free)
      : block_size_(block_size), max_free_(max_free) {}
  ~BufferPool() {
    for (char* b : free_) delete[] b;
  }
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  std::size_t block_size() const noexcept { return block_size_; }
  char* Take() {
    if (free_.empty()) return new char[block_size_];
    char* b = free_.back();
    free_.pop_back();
    return b;
  }
  void Give(char* b) noexcept {
    if (free_.size() < max_free_)
      free_.push_back(b);
    else
      delete[] b;
  }

 private:
  std::size_t block_size_;
  std::size_t max_free_;
  std::vector<char*> free_;
};

// Readable bytes are [begin, end); Prepare() returns writable space after them. Growing past the
// pool's block size moves the bytes into a larger heap block (callers holding views into the
// buffer must allow for that: see MessageParser's contract).
class IoBuffer {
 public:
  explicit IoBuffer(BufferPool& pool) : pool_(&pool) {}
  ~IoBuffer() { Free(); }
  IoBuffer(const IoBuffer&) = delete;
  IoBuffer& operator=(const IoBuffer&) = delete;

  char* data() noexcept { return mem_ + begin_; }
  const char* data() const noexcept { return mem_ + begin_; }
  std::size_t size() const noexcept { return end_ - begin_; }
  bool empty() const noexcept { return begin_ == end_; }
  std::size_t capacity() const noexcept { return cap_; }

  // At least `min` writable bytes (more when available), growing up to `max_total` in all.
  // Returns an empty span when that would exceed max_total.
  std::span<char> Prepare(std::size_t min, std::size_t max_total) {
    if (mem_ == nullptr) {
      mem_ = pool_->Take();
      cap_ = pool_->block_size();
      pooled_ = true;
    }
    if (cap_ - end_ < min && begin_ > 0) {
      std::memmove(mem_, mem_ + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    if (cap_ - end_ < min) {
      std::size_t want = std::max(cap_ * 2, end_ + min);
      if (want > max_total) want = max_total;
      if (want < end_ + min) return {};
      char* bigger = new char[want];
      std::memcpy(bigger, mem_ + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
      Free();
      mem_ = bigger;
      cap_ = want;
      pooled_ = false;
    }
    return {mem_ + end_, cap_ - end_};
  }
  void Commit(std::size_t n) noexcept { end_ += n; }
  void Consume(std::size_t n) noexcept {
    begin_ += n;
    if (begin_ == end_) begin_ = end_ = 0;
  }
  void Append(const char* p, std::size_t n, std::size_t max_total) {
    auto space = Prepare(n, std::max(max_total, end_ - begin_ + n));
    std::memcpy(space.data(), p, n);
    Commit(n);
  }
  // Gives the memory back when nothing is buffered (an idle connection holds no block).
  void ReleaseIfEmpty() noexcept {
    if (empty()) {
      Free();
      begin_ = end_ = 0;
    }
  }

 private:
  void Free() noexcept {
    if (mem_ == nullptr) return;
    if (pooled_)
      pool_->Give(mem_);
    else
      delete[] mem_;
    mem_ = nullptr;
    cap_ = 0;
  }

  BufferPool* pool_;
  char* mem_ = nullptr;
  std::size_t cap_ = 0;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  bool pooled_ = false;
};

}  // namespace rampart::net
