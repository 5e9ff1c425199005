// Doubles as text that reads back as exactly the same double: the shortest such decimal
// (round-trip, as Python's repr and JavaScript choose it; fmt's "{}" computes it). Used wherever a
// double is written for a program to read again: JSON logs, `tempo inspect` output.
// Free of LibTorch; throws nothing.
#pragma once

#include <string>

namespace tempo {

// The shortest decimal text d such that strtod(d) == value, fixed notation for exponents -4 to
// 15, scientific ("1e-05", "1e+16") outside. Integral values have no point ("2", "-0");
// non-finite values are "nan", "inf", "-inf".
std::string format_double(double value);

// As Python's repr(float) writes `value`: format_double, with ".0" added to integral values
// ("2.0", "-0.0", but "1e+16").
std::string format_double_python(double value);

}  // namespace tempo
