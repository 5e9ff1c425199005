// PNG encoding of a Canvas: the 8-byte signature, IHDR (8-bit RGB, no interlace), one IDAT
// holding the zlib-compressed rows (each behind filter byte 0, "none"), and IEND; every chunk's
// CRC-32 is zlib's. The result is the whole file's bytes. Throws PlotError if zlib fails (out
// of memory).
#pragma once

#include <string>

#include "tempo/plot/canvas.h"

namespace tempo::plot {

std::string encode_png(const Canvas& canvas);

}  // namespace tempo::plot
