// The .bnn container: a 64-byte header, the FlatBuffer graph (schema/bnn.fbs),
// then the data section of 64-byte-aligned constant buffers. Both regions
// carry a CRC-32 so that a damaged file is told apart from an inconsistent one.
//
//   offset 0                 FileHeader
//   graph_offset (64)        FlatBuffer, graph_size bytes
//   data_offset (64-aligned) data section, data_size bytes; file ends here
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace bnn {

constexpr char kFileMagic[8] = {'B', 'N', 'N', 'M', 'O', 'D', 'E', 'L'};
// Major: readers reject other majors. Minor: additions old readers may ignore.
constexpr uint32_t kFormatMajor = 1;
constexpr uint32_t kFormatMinor = 3;  // 1.1: NORMALIZE, input_pixel_format; 1.2: embedder; 1.3: landmarks
constexpr size_t kDataAlign = 64;

struct FileHeader {
  char magic[8];
  uint32_t format_major;
  uint32_t format_minor;
  uint64_t graph_offset;
  uint64_t graph_size;
  uint64_t data_offset;
  uint64_t data_size;
  uint32_t graph_crc32;
  uint32_t data_crc32;
  uint8_t reserved[8];  // 0
};
static_assert(sizeof(FileHeader) == 64, "the header is part of the file format");
static_assert(offsetof(FileHeader, graph_offset) == 16, "the header is part of the file format");
static_assert(offsetof(FileHeader, data_crc32) == 52, "the header is part of the file format");

// CRC-32 (IEEE 802.3, as zlib), continuing from `crc` (0 to start).
uint32_t Crc32(const void* data, size_t size, uint32_t crc = 0);

}  // namespace bnn
