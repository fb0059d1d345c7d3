// Where the runtime's own tables come from: the C heap, or a caller's buffer
// used front to back (bnn_model_load_static, bnn_interpreter_options.memory).
// Heap-free builds (BNN_NO_HEAP, the Cortex-M ones) have only the second,
// so that the whole runtime links without malloc.
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if !defined(BNN_NO_HEAP)
#include <stdlib.h>
#endif

namespace bnn {

// The alignment of every table (OpDesc's parameters need 16).
constexpr size_t kTableAlign = 16;

class Allocator {
 public:
  static Allocator Heap() { return Allocator(nullptr, 0); }
  static Allocator Region(void* base, size_t bytes) { return Allocator(static_cast<uint8_t*>(base), bytes); }

  bool is_region() const { return base_ != nullptr; }
  size_t capacity() const { return size_; }
  // Region bytes in use now, and the most the region would have needed so
  // far (requests that did not fit included): what an error asks the caller for.
  size_t used() const { return used_; }
  size_t needed() const { return needed_; }

  // `bytes` zeroed bytes at a multiple of `align` (a power of two up to 64),
  // or nullptr: the heap is exhausted (or absent), or the region is too small.
  void* Alloc(size_t bytes, size_t align = kTableAlign) {
    if (!base_) {
      // Heap blocks also count as if they were carved from a region at a
      // 16-byte aligned address (worst-case padding for wider alignment),
      // so needed() tells a heap user what a region must have.
      used_ += (align > kTableAlign ? align - kTableAlign : 0) + (bytes + kTableAlign - 1) / kTableAlign * kTableAlign;
      if (used_ > needed_) needed_ = used_;
      return HeapAlloc(bytes, align);
    }
    const uintptr_t start = reinterpret_cast<uintptr_t>(base_);
    const size_t offset = static_cast<size_t>((start + used_ + align - 1) / align * align - start);
    const size_t end = offset + bytes;
    if (end < offset) return nullptr;  // overflow
    if (end > needed_) needed_ = end;
    if (overflowed_ || end > size_) {
      overflowed_ = true;  // later requests only count
      used_ = end;
      return nullptr;
    }
    used_ = end;
    memset(base_ + offset, 0, bytes);
    return base_ + offset;
  }

  // Heap blocks go back to the heap; region bytes (and the heap's count)
  // come back with Release.
  void Free(void* p) {
    if (!base_) HeapFree(p);
  }
  size_t Mark() const { return used_; }
  void Release(size_t mark) {
    used_ = mark;
    overflowed_ = base_ && used_ > size_;
  }

 private:
  Allocator(uint8_t* base, size_t size) : base_(base), size_(size) {}

  static void* HeapAlloc(size_t bytes, size_t align) {
#if defined(BNN_NO_HEAP)
    (void)bytes;
    (void)align;
    return nullptr;
#else
    if (bytes == 0) bytes = 1;
    const size_t rounded = (bytes + align - 1) / align * align;
    void* p = nullptr;
    if (align <= alignof(max_align_t)) {
      p = malloc(rounded);
    } else if (posix_memalign(&p, align, rounded) != 0) {
      p = nullptr;
    }
    if (p) memset(p, 0, rounded);
    return p;
#endif
  }
  static void HeapFree(void* p) {
#if defined(BNN_NO_HEAP)
    (void)p;
#else
    free(p);
#endif
  }

  uint8_t* base_;
  size_t size_;
  size_t used_ = 0;
  size_t needed_ = 0;
  bool overflowed_ = false;
};

}  // namespace bnn
