// UTF-8, strictly as RFC 3629 defines it: every reader and writer of text that leaves the process
// (safetensors headers, pickled strings, JSON logs, `tempo inspect --json`) checks with this one
// definition, so a string one of them accepts is never refused by another or by Python.
//
// Valid means: each code point in its shortest form (no overlong encodings, so C0, C1 and E0 80..9F,
// F0 80..8F are refused), no UTF-16 surrogates (U+D800..U+DFFF, which Python's strict decoder and
// JSON refuse), nothing above U+10FFFF (no F4 90.. and no lead byte F5..FF), no truncated sequence.
// There is no lenient mode: no caller needs one (a writer that met invalid bytes refuses them or
// escapes them; it never passes them on).
//
// Free of LibTorch; throws nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tempo {

// Length (1 to 4) of the valid UTF-8 sequence that starts at text[at], or 0 when the bytes there
// are not one (including at >= text.size()).
std::size_t utf8_sequence_length(std::string_view text, std::size_t at);

// True when all of `text` is valid UTF-8 (see above); the empty string is.
bool is_valid_utf8(std::string_view text);

// Appends the UTF-8 encoding of `code_point` to `out`.
// requires: code_point <= 0x10FFFF and not a surrogate (0xD800..0xDFFF).
void append_utf8(std::string& out, uint32_t code_point);

}  // namespace tempo
