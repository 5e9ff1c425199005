#include "tempo/storage/s3_text.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "tempo/util/utf8.h"

namespace tempo {
namespace {

bool unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

// The position of the start tag <tag> or <tag ...> at or after `from`, and of the '>' ending it.
std::pair<size_t, size_t> find_start_tag(std::string_view xml, std::string_view tag, size_t from) {
  for (size_t at = xml.find('<', from); at != std::string_view::npos; at = xml.find('<', at + 1)) {
    if (xml.compare(at + 1, tag.size(), tag) != 0) continue;
    const size_t after = at + 1 + tag.size();
    if (after >= xml.size()) break;
    const char next = xml[after];
    if (next != '>' && next != ' ' && next != '/' && next != '\t' && next != '\n' && next != '\r') continue;
    const size_t close = xml.find('>', after);
    if (close == std::string_view::npos) break;
    return {at, close};
  }
  return {std::string_view::npos, std::string_view::npos};
}

std::string xml_unescape(std::string_view text) {
  static constexpr std::pair<std::string_view, char> kNamed[] = {
      {"amp;", '&'}, {"lt;", '<'}, {"gt;", '>'}, {"quot;", '"'}, {"apos;", '\''}};
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '&') {
      out += text[i];
      continue;
    }
    const auto rest = text.substr(i + 1);
    bool done = false;
    for (const auto& [name, c] : kNamed) {
      if (rest.substr(0, name.size()) == name) {
        out += c;
        i += name.size();
        done = true;
        break;
      }
    }
    const auto semicolon = rest.find(';');
    if (!done && rest.size() > 1 && rest[0] == '#' && semicolon != std::string_view::npos) {
      const bool hex = rest[1] == 'x' || rest[1] == 'X';
      const std::string digits(rest.substr(hex ? 2 : 1, semicolon - (hex ? 2 : 1)));
      char* end = nullptr;
      const unsigned long code = std::strtoul(digits.c_str(), &end, hex ? 16 : 10);
      const bool valid = code <= 0x10FFFF && (code < 0xD800 || code > 0xDFFF);
      if (!digits.empty() && end != nullptr && *end == '\0' && valid) {
        append_utf8(out, static_cast<uint32_t>(code));
        i += semicolon + 1;
        done = true;
      }
    }
    if (!done) out += '&';
  }
  return out;
}

}  // namespace

std::string s3_uri_encode(std::string_view text, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (unreserved(c) || (keep_slash && c == '/')) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string s3_query(std::vector<std::pair<std::string, std::string>> pairs) {
  for (auto& [key, value] : pairs) {
    key = s3_uri_encode(key, false);
    value = s3_uri_encode(value, false);
  }
  std::sort(pairs.begin(), pairs.end());
  std::string query;
  for (const auto& [key, value] : pairs) query += (query.empty() ? "" : "&") + key + "=" + value;
  return query;
}

std::vector<std::string_view> xml_elements(std::string_view xml, std::string_view tag) {
  std::vector<std::string_view> found;
  const std::string end_tag = "</" + std::string(tag) + ">";
  size_t from = 0;
  for (;;) {
    const auto [start, close] = find_start_tag(xml, tag, from);
    if (start == std::string_view::npos) break;
    if (xml[close - 1] == '/') {  // <tag/>
      found.emplace_back();
      from = close + 1;
      continue;
    }
    const size_t end = xml.find(end_tag, close + 1);
    if (end == std::string_view::npos) break;
    found.push_back(xml.substr(close + 1, end - close - 1));
    from = end + end_tag.size();
  }
  return found;
}

std::string xml_text(std::string_view xml, std::string_view tag) {
  const auto found = xml_elements(xml, tag);
  return found.empty() ? std::string() : xml_unescape(found.front());
}

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

Md5Digest md5_digest(const void* data, size_t size) {
  Md5Digest digest{};
  unsigned int length = 0;
  EVP_Digest(data, size, digest.data(), &length, EVP_md5(), nullptr);
  return digest;
}

std::string md5_hex(const Md5Digest& digest) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (const unsigned char byte : digest) {
    hex += kHex[byte >> 4];
    hex += kHex[byte & 15];
  }
  return hex;
}

std::string md5_base64(const Md5Digest& digest) {
  unsigned char out[32] = {};
  const int n = EVP_EncodeBlock(out, digest.data(), static_cast<int>(digest.size()));
  return std::string(reinterpret_cast<const char*>(out), static_cast<size_t>(n));
}

bool etag_matches(const std::string& etag, const Md5Digest& digest) {
  const bool plain_md5 = etag.size() == 32 && std::all_of(etag.begin(), etag.end(), [](char c) {
                           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
                         });
  if (!plain_md5) return true;
  std::string lower = etag;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  return lower == md5_hex(digest);
}

int64_t parse_iso8601(const std::string& text) {
  std::tm tm{};
  if (std::sscanf(text.c_str(), "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                  &tm.tm_sec) != 6) {
    return 0;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&tm));
}

}  // namespace tempo
