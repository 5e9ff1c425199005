// Pickles that attack the reader's stack and time rather than its parser, built opcode by opcode
// (protocol 2), and a Python-style checkpoint file holding one. Shared by the serialization tests
// and the cli tests (tempo inspect, tempo export), which include it as
// "serialization/hostile_pickles.h".
#pragma once

#include <cstdint>
#include <fstream>
#include <string>

#include "tempo/serialization/zip_writer.h"

namespace tempo::testing {

inline const std::string kPickleStart = std::string("\x80\x02", 2);

// A 4-byte little-endian index, for LONG_BINPUT ('r') and LONG_BINGET ('j').
inline std::string le32(uint32_t v) {
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i) out[static_cast<size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xFF);
  return out;
}

// None inside `levels` tuples, (((None,),),): TUPLE1 over and over, two bytes a level.
inline std::string nested_tuples(size_t levels) {
  return kPickleStart + "N" + std::string(levels, '\x85') + ".";
}

// The same around collections.OrderedDict, a global: the reader keeps tuples holding a global
// apart from the values it returns until something consumes them.
inline std::string nested_tuples_around_a_global(size_t levels) {
  return kPickleStart + "ccollections\nOrderedDict\n" + std::string(levels, '\x85') + ".";
}

// [[[...]]], `levels` lists: all made first, then each APPENDed into the one below it.
inline std::string nested_lists(size_t levels) {
  return kPickleStart + std::string(levels, ']') + std::string(levels - 1, 'a') + ".";
}

// {0: {0: {...}}}, `levels` dicts: a dict and a key a level, then each SETITEM into the one below.
inline std::string nested_dicts(size_t levels) {
  std::string p = kPickleStart + "}";
  for (size_t i = 1; i < levels; ++i) p += std::string("K\x00}", 3);
  return p + std::string(levels - 1, 's') + ".";
}

// [list, tuple, list, tuple, ...] alternating, `levels` containers deep: each tuple is made around
// the list above it once that list holds its own tuple.
inline std::string nested_lists_and_tuples(size_t levels) {
  std::string p = kPickleStart;
  const size_t lists = (levels + 1) / 2;
  p += std::string(lists, ']');
  // Innermost first: the top list goes into a tuple, which goes into the list below it.
  for (size_t i = 1; i < lists; ++i) p += "\x85" "a";
  return p + ".";
}

// A chain of `levels` lists linked only after all were made and memoized (each still empty when
// its parent receives it, so no depth shows while they are linked): the depth appears at the
// end. All of them hang off one list R, the pickle's result.
inline std::string lists_chained_through_the_memo(uint32_t levels) {
  std::string p = kPickleStart + "]";
  for (uint32_t i = 0; i < levels; ++i) p += "]r" + le32(i) + "a";
  for (uint32_t i = 0; i + 1 < levels; ++i) p += "j" + le32(i) + "j" + le32(i + 1) + "aa";
  return p + ".";
}

// The memo bomb: level 0 is an empty list, level k a list of `width` references to level k-1
// (BINPUT/BINGET), every level appended to one outer list. `levels` levels of `width` expand to
// width^levels values; the pickle is a few hundred bytes.
inline std::string memo_bomb(int levels = 30, int width = 10) {
  std::string p = kPickleStart + "]" + "]q" + std::string(1, '\0') + "a";
  for (int k = 1; k <= levels; ++k) {
    p += "](";
    for (int i = 0; i < width; ++i) p += "h" + std::string(1, static_cast<char>(k - 1));
    p += "eq" + std::string(1, static_cast<char>(k)) + "a";
  }
  return p + ".";
}

// A tuple of `width` items one of which is a global (so the reader keeps it as its own tuple
// item), memoized, then fetched `copies` times: a reader that copies such a tuple for every
// BINGET does width * copies work. The stack is left unbalanced, so the pickle fails at STOP.
inline std::string copied_global_tuple(size_t width, size_t copies) {
  std::string p = kPickleStart + "(ccollections\nOrderedDict\n" + std::string(width - 1, 'N') + "tq" +
                  std::string(1, '\0');
  for (size_t i = 0; i < copies; ++i) p += std::string("h\0", 2);
  return p + ".";
}

// A checkpoint file as Python's torch.save lays it out (archive/data.pkl, archive/version, no
// tensors) whose data.pkl is `pickle`.
inline void write_pickle_checkpoint(const std::string& path, const std::string& pickle) {
  std::ofstream out(path, std::ios::binary);
  ZipWriter zip([&](const void* data, size_t size) { out.write(static_cast<const char*>(data), size); });
  zip.write_record("data.pkl", pickle.data(), pickle.size());
  zip.finish();
}

}  // namespace tempo::testing
