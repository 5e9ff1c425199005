// The text S3 requests are written in and its answers come back in: URI encoding of keys and
// query strings (as SigV4 wants them, since libcurl 7.88 signs the query exactly as given), the
// few fields tempo reads from S3's XML answers, MD5 digests for Content-MD5 and ETag checks, and
// S3's dates. Private to storage/; throws nothing.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tempo {

// AWS's URI encoding: every byte but A-Z a-z 0-9 - . _ ~ as %XX (upper-case hex); '/' is kept
// when `keep_slash` (object keys in a path), encoded otherwise (query values).
std::string s3_uri_encode(std::string_view text, bool keep_slash);

// A canonical SigV4 query string: "k=v" pairs, each side encoded, sorted by key, joined by '&';
// an empty value keeps its '=' ("uploads="). Empty for no pairs.
std::string s3_query(std::vector<std::pair<std::string, std::string>> pairs);

// The bodies of the elements <tag>...</tag> (or <tag attr="...">...</tag>) in `xml`, in order,
// as raw XML; a self-closing <tag/> gives "". S3's answers nest no element in one of the same
// name, which is all this needs.
std::vector<std::string_view> xml_elements(std::string_view xml, std::string_view tag);
// The text of the first <tag> in `xml` with entities decoded (&amp; &lt; &gt; &quot; &apos;
// &#N; &#xN;), or "" when there is none.
std::string xml_text(std::string_view xml, std::string_view tag);
// `text` with & < > " ' as entities, for a value put in an XML body.
std::string xml_escape(std::string_view text);

using Md5Digest = std::array<unsigned char, 16>;
// MD5 of `size` bytes (OpenSSL's EVP).
Md5Digest md5_digest(const void* data, size_t size);
std::string md5_hex(const Md5Digest& digest);     // lower-case, as S3's ETags have it
std::string md5_base64(const Md5Digest& digest);  // as Content-MD5 has it

// Whether `etag` (quotes removed) is the MD5 of the bytes sent: true when it is, false when it is
// a plain 32-hex-digit MD5 of other bytes. An ETag of another form (a multipart "<hex>-<parts>",
// an encrypted object's) checks nothing and counts as a match.
bool etag_matches(const std::string& etag, const Md5Digest& digest);

// Seconds since the epoch of an ISO 8601 time as ListObjectsV2 writes it
// ("2026-01-31T12:00:00.000Z"); 0 when it does not parse.
int64_t parse_iso8601(const std::string& text);

}  // namespace tempo
