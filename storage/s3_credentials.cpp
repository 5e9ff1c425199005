#include "tempo/storage/s3_credentials.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <map>
#include <vector>

#include "tempo/errors/error.h"
#include "tempo/util/regular_file.h"

namespace tempo {
namespace {

using IniSection = std::map<std::string, std::string>;

std::string trim(const std::string& text) {
  const auto begin = text.find_first_not_of(" \t\r");
  if (begin == std::string::npos) return "";
  const auto end = text.find_last_not_of(" \t\r");
  return text.substr(begin, end - begin + 1);
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

// One file of the AWS CLI's INI dialect (as configparser reads it): "[section]" lines,
// "key = value" lines (keys case-insensitive), '#' and ';' comment lines. Lines indented under a
// key (nested s3 settings) are skipped: none of them is read here.
struct IniFile {
  std::string path;
  bool found = false;
  std::map<std::string, IniSection> sections;

  const IniSection* section(const std::string& name) const {
    const auto it = sections.find(name);
    return it == sections.end() ? nullptr : &it->second;
  }
};

IniFile read_ini(const std::string& path) {
  IniFile file;
  file.path = path;
  std::string text, why;
  if (path.empty() || !read_regular_file(path, 1 << 20, "an AWS configuration file", text, why)) return file;
  file.found = true;
  IniSection* current = nullptr;
  size_t begin = 0;
  while (begin < text.size()) {
    const auto end = std::min(text.find('\n', begin), text.size());
    const std::string raw = text.substr(begin, end - begin);
    begin = end + 1;
    const std::string line = trim(raw);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      current = &file.sections[trim(line.substr(1, line.size() - 2))];
      continue;
    }
    const auto equals = line.find('=');
    if (current == nullptr || equals == std::string::npos || raw[0] == ' ' || raw[0] == '\t') continue;
    (*current)[lower(trim(line.substr(0, equals)))] = trim(line.substr(equals + 1));
  }
  return file;
}

std::string value_of(const IniSection* section, const std::string& key) {
  if (section == nullptr) return "";
  const auto it = section->find(key);
  return it == section->end() ? "" : it->second;
}

// The config file names a profile "[profile NAME]", except the default one, "[default]".
const IniSection* config_profile(const IniFile& config, const std::string& profile) {
  if (const auto* section = config.section("profile " + profile)) return section;
  return profile == "default" ? config.section("default") : nullptr;
}

// "scheme://host[:port]" with a trailing '/' dropped; ConfigError naming `source` otherwise.
std::string checked_endpoint(std::string endpoint, const std::string& source) {
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  const auto scheme_end = endpoint.find("://");
  const std::string scheme = scheme_end == std::string::npos ? "" : lower(endpoint.substr(0, scheme_end));
  if ((scheme != "http" && scheme != "https") || endpoint.size() == scheme_end + 3 ||
      endpoint.find('/', scheme_end + 3) != std::string::npos) {
    throw ConfigError(fmt::format("{} is \"{}\": expected an S3 endpoint such as http://127.0.0.1:9000 or "
                                  "https://s3.us-east-1.amazonaws.com (scheme, host and port only)",
                                  source, endpoint));
  }
  return endpoint;
}

}  // namespace

EnvironmentLookup process_environment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

S3Settings resolve_s3_settings(const ObjectStoreOptions& options, const EnvironmentLookup& environment) {
  // An empty variable counts as unset, as an empty option does.
  const auto variable = [&](const std::string& name) {
    const auto value = environment(name);
    return value ? *value : std::string();
  };
  const auto first_set = [&](std::initializer_list<const char*> names, std::string* found_name) {
    for (const char* name : names) {
      auto value = variable(name);
      if (!value.empty()) {
        if (found_name) *found_name = name;
        return value;
      }
    }
    return std::string();
  };

  const std::string home = variable("HOME");
  const auto aws_file = [&](const char* name, const char* file) {
    const auto path = variable(name);
    return !path.empty() ? path : home.empty() ? "" : home + "/.aws/" + file;
  };
  const std::string profile = !options.profile().empty() ? options.profile()
                              : !variable("AWS_PROFILE").empty() ? variable("AWS_PROFILE")
                                                                  : std::string("default");
  const IniFile credentials = read_ini(aws_file("AWS_SHARED_CREDENTIALS_FILE", "credentials"));
  const IniFile config = read_ini(aws_file("AWS_CONFIG_FILE", "config"));
  const IniSection* config_section = config_profile(config, profile);

  S3Settings settings;
  settings.region = options.region();
  if (settings.region.empty()) settings.region = first_set({"AWS_REGION", "AWS_DEFAULT_REGION"}, nullptr);
  if (settings.region.empty()) settings.region = value_of(config_section, "region");
  if (settings.region.empty()) settings.region = "us-east-1";

  std::string endpoint_source = "object_store.endpoint_url";
  std::string endpoint = options.endpoint_url();
  if (endpoint.empty()) {
    endpoint = first_set({"S3_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"}, &endpoint_source);
  }
  settings.custom_endpoint = !endpoint.empty();
  settings.endpoint = settings.custom_endpoint ? checked_endpoint(endpoint, endpoint_source)
                                               : "https://s3." + settings.region + ".amazonaws.com";

  const std::string key_id = variable("AWS_ACCESS_KEY_ID");
  const std::string secret = variable("AWS_SECRET_ACCESS_KEY");
  if (!key_id.empty() || !secret.empty()) {
    if (key_id.empty() || secret.empty()) {
      throw StorageError(fmt::format("S3 credentials: {} is set but {} is not; set both (or neither, to use the "
                                     "shared credentials file)",
                                     key_id.empty() ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID",
                                     key_id.empty() ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY"));
    }
    settings.access_key_id = key_id;
    settings.secret_access_key = secret;
    settings.session_token = variable("AWS_SESSION_TOKEN");
    settings.credentials_source = "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY";
    return settings;
  }

  // The profile's keys: the credentials file first, then the config file (where boto3 also reads them).
  const std::vector<std::pair<const IniFile*, const IniSection*>> places = {
      {&credentials, credentials.section(profile)}, {&config, config_section}};
  for (const auto& [file, section] : places) {
    const auto id = value_of(section, "aws_access_key_id");
    const auto key = value_of(section, "aws_secret_access_key");
    if (id.empty() && key.empty()) continue;
    if (id.empty() || key.empty()) {
      throw StorageError(fmt::format("S3 credentials: profile '{}' of {} has {} but not {}", profile, file->path,
                                     id.empty() ? "aws_secret_access_key" : "aws_access_key_id",
                                     id.empty() ? "aws_access_key_id" : "aws_secret_access_key"));
    }
    settings.access_key_id = id;
    settings.secret_access_key = key;
    settings.session_token = value_of(section, "aws_session_token");
    settings.credentials_source = fmt::format("profile '{}' of {}", profile, file->path);
    return settings;
  }

  const auto describe = [&](const IniFile& file, const char* variable_name, const std::string& section) {
    if (file.path.empty()) return fmt::format("no {} (and HOME is not set)", variable_name);
    return fmt::format("{} ({}) {}", file.path, variable_name,
                       !file.found ? "does not exist or cannot be read"
                                   : fmt::format("has no keys in section [{}]", section));
  };
  const char* profile_source = !options.profile().empty()           ? "object_store.profile"
                               : !variable("AWS_PROFILE").empty() ? "AWS_PROFILE"
                                                                  : "the default, as AWS_PROFILE is not set";
  throw StorageError(fmt::format(
      "no S3 credentials found: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set; the profile is '{}' ({}); "
      "the shared credentials file {}; the config file {}",
      profile, profile_source,
      describe(credentials, "AWS_SHARED_CREDENTIALS_FILE", profile),
      describe(config, "AWS_CONFIG_FILE", profile == "default" ? "default" : "profile " + profile)));
}

}  // namespace tempo
