#include "tempo/data/csv_table.h"

#include <fmt/format.h>

#include <fstream>
#include <iterator>
#include <set>

#include "tempo/errors/error.h"

namespace tempo {

int64_t CsvTable::column(const std::string& name) const {
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] == name) return static_cast<int64_t>(i);
  }
  return -1;
}

CsvTable read_csv(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(path + ": cannot open the CSV file for reading");
  std::string text(std::istreambuf_iterator<char>(in), {});
  if (in.bad()) throw DataError(path + ": cannot read the CSV file");
  return parse_csv(text, path);
}

CsvTable parse_csv(const std::string& text, const std::string& path) {
  CsvTable table;
  table.path = path;
  size_t i = text.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;
  const size_t n = text.size();
  int64_t line = 1;
  bool have_header = false;

  auto add_record = [&](CsvRecord record) {
    if (!have_header) {
      std::set<std::string> seen;
      for (size_t c = 0; c < record.cells.size(); ++c) {
        const auto& name = record.cells[c];
        if (name.empty()) {
          throw DataError(fmt::format("{}:{}: column {} of the header has no name", path, record.lines[c], c + 1));
        }
        if (!seen.insert(name).second) {
          throw DataError(fmt::format("{}:{}: column {} of the header repeats the name '{}'", path, record.lines[c],
                                      c + 1, name));
        }
      }
      table.header = std::move(record.cells);
      have_header = true;
      return;
    }
    if (record.cells.size() != table.header.size()) {
      throw DataError(fmt::format("{}:{}: {} fields, but the header has {} columns", path, record.lines.front(),
                                  record.cells.size(), table.header.size()));
    }
    table.records.push_back(std::move(record));
  };

  while (i < n) {
    // A blank line (LF or CRLF) holds no record.
    if (text[i] == '\n' || (text[i] == '\r' && i + 1 < n && text[i + 1] == '\n')) {
      i += text[i] == '\r' ? 2 : 1;
      ++line;
      continue;
    }
    CsvRecord record;
    bool end_of_record = false;
    while (!end_of_record) {
      std::string cell;
      const int64_t cell_line = line;
      if (i < n && text[i] == '"') {
        ++i;
        bool closed = false;
        while (i < n) {
          const char ch = text[i++];
          if (ch == '"') {
            if (i < n && text[i] == '"') {
              cell += '"';
              ++i;
            } else {
              closed = true;
              break;
            }
          } else {
            if (ch == '\n') ++line;
            cell += ch;
          }
        }
        if (!closed) {
          throw DataError(fmt::format("{}:{}: column {}: the quoted field is never closed", path, cell_line,
                                      record.cells.size() + 1));
        }
        if (i < n && text[i] != ',' && text[i] != '\n' && !(text[i] == '\r' && i + 1 < n && text[i + 1] == '\n')) {
          throw DataError(fmt::format("{}:{}: column {}: text after the closing quote of a quoted field (a quote "
                                      "inside a field is written \"\")",
                                      path, line, record.cells.size() + 1));
        }
      } else {
        while (i < n && text[i] != ',' && text[i] != '\n' && !(text[i] == '\r' && i + 1 < n && text[i + 1] == '\n')) {
          if (text[i] == '"') {
            throw DataError(fmt::format("{}:{}: column {}: a quote inside an unquoted field (quote the whole field "
                                        "and write the quote as \"\")",
                                        path, line, record.cells.size() + 1));
          }
          cell += text[i++];
        }
      }
      record.cells.push_back(std::move(cell));
      record.lines.push_back(cell_line);
      if (i >= n) {
        end_of_record = true;
      } else if (text[i] == ',') {
        ++i;
      } else {
        i += text[i] == '\r' ? 2 : 1;
        ++line;
        end_of_record = true;
      }
    }
    add_record(std::move(record));
  }
  if (!have_header) throw DataError(path + ": the CSV file is empty; expected a header row naming the columns");
  return table;
}

}  // namespace tempo
