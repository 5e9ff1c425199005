// Reads a CSV file (RFC 4180) into its header and its records of text cells, remembering the
// line each cell starts on so a dataset can name the cell at fault. Fields are separated by ',';
// a field in double quotes may hold ',', line breaks and "" (one quote); lines end in LF or CRLF;
// blank lines (anywhere, typically at the end) are skipped; a UTF-8 byte order mark is ignored.
// The first record is the header.
// Throws DataError "<path>:<line>: ..." for a file that cannot be read, an empty file, a quote
// that is never closed, text after a closing quote, a quote inside an unquoted field, an empty or
// repeated column name, and a record whose number of fields differs from the header's.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tempo {

struct CsvRecord {
  std::vector<std::string> cells;
  std::vector<int64_t> lines;  // the 1-based line of the file where each cell starts
};

struct CsvTable {
  std::string path;
  std::vector<std::string> header;
  std::vector<CsvRecord> records;

  // The index of column `name`, or -1.
  int64_t column(const std::string& name) const;
};

CsvTable read_csv(const std::string& path);
// The same from text held in memory; `path` names it in messages.
CsvTable parse_csv(const std::string& text, const std::string& path);

}  // namespace tempo
