// Where the S3 store connects and as whom (storage/s3_credentials.h): boto3's and Composer's
// variables and files, in their order, from an environment passed in (no process variable is
// touched), and the message when there are no keys, which names every place looked at and no
// secret.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "support/temp_dir.h"
#include "tempo/errors/error.h"
#include "tempo/storage/s3_credentials.h"

using namespace tempo;
using namespace tempo::testing;

namespace {

EnvironmentLookup environment(std::map<std::string, std::string> variables) {
  return [variables](const std::string& name) -> std::optional<std::string> {
    const auto it = variables.find(name);
    if (it == variables.end()) return std::nullopt;
    return it->second;
  };
}

std::string resolve_error(const ObjectStoreOptions& options, const EnvironmentLookup& lookup) {
  try {
    resolve_s3_settings(options, lookup);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_SUITE("storage") {
  TEST_CASE("S3 settings: the keys, session token, endpoint and region variables, in boto3's order") {
    auto settings = resolve_s3_settings(ObjectStoreOptions(), environment({{"AWS_ACCESS_KEY_ID", "AKID"},
                                                                           {"AWS_SECRET_ACCESS_KEY", "secret"},
                                                                           {"AWS_SESSION_TOKEN", "token"},
                                                                           {"AWS_DEFAULT_REGION", "eu-west-1"}}));
    CHECK(settings.access_key_id == "AKID");
    CHECK(settings.secret_access_key == "secret");
    CHECK(settings.session_token == "token");
    CHECK(settings.region == "eu-west-1");
    CHECK(settings.endpoint == "https://s3.eu-west-1.amazonaws.com");
    CHECK(!settings.custom_endpoint);
    CHECK(settings.credentials_source == "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");

    std::map<std::string, std::string> variables = {{"AWS_ACCESS_KEY_ID", "AKID"},
                                                    {"AWS_SECRET_ACCESS_KEY", "secret"},
                                                    {"AWS_REGION", "us-west-2"},
                                                    {"AWS_DEFAULT_REGION", "eu-west-1"},
                                                    {"AWS_ENDPOINT_URL", "http://aws-endpoint:1"},
                                                    {"AWS_ENDPOINT_URL_S3", "http://s3-endpoint:2"},
                                                    {"S3_ENDPOINT_URL", "http://composer:3/"}};
    settings = resolve_s3_settings(ObjectStoreOptions(), environment(variables));
    CHECK(settings.region == "us-west-2");
    CHECK(settings.endpoint == "http://composer:3");  // Composer's variable first; the '/' dropped
    CHECK(settings.custom_endpoint);
    variables.erase("S3_ENDPOINT_URL");
    CHECK(resolve_s3_settings(ObjectStoreOptions(), environment(variables)).endpoint == "http://s3-endpoint:2");
    variables.erase("AWS_ENDPOINT_URL_S3");
    CHECK(resolve_s3_settings(ObjectStoreOptions(), environment(variables)).endpoint == "http://aws-endpoint:1");
    // Options come before every variable.
    settings = resolve_s3_settings(ObjectStoreOptions().endpoint_url("https://minio.local:9000").region("ap-south-1"),
                                   environment(variables));
    CHECK(settings.endpoint == "https://minio.local:9000");
    CHECK(settings.region == "ap-south-1");
    // An empty variable is unset.
    variables["AWS_REGION"] = "";
    CHECK(resolve_s3_settings(ObjectStoreOptions(), environment(variables)).region == "eu-west-1");
  }

  TEST_CASE("S3 settings: the profile's keys from the shared credentials file, its region from the config file") {
    TempDir home;
    std::filesystem::create_directories(home / ".aws");
    std::ofstream(home / ".aws/credentials") << "# keys\n[default]\naws_access_key_id = DEFAULTID\n"
                                                "aws_secret_access_key = defaultsecret\n\n"
                                                "[dev]\nAWS_ACCESS_KEY_ID=DEVID\naws_secret_access_key=devsecret\n"
                                                "aws_session_token = devtoken\n";
    std::ofstream(home / ".aws/config") << "[default]\nregion = eu-central-1\n[profile dev]\nregion = us-west-1\n"
                                           "s3 =\n  max_concurrent_requests = 20\n";
    auto settings = resolve_s3_settings(ObjectStoreOptions(), environment({{"HOME", home.path()}}));
    CHECK(settings.access_key_id == "DEFAULTID");
    CHECK(settings.secret_access_key == "defaultsecret");
    CHECK(settings.region == "eu-central-1");
    CHECK(settings.credentials_source == "profile 'default' of " + home / ".aws/credentials");

    settings = resolve_s3_settings(ObjectStoreOptions(), environment({{"HOME", home.path()}, {"AWS_PROFILE", "dev"}}));
    CHECK(settings.access_key_id == "DEVID");
    CHECK(settings.session_token == "devtoken");
    CHECK(settings.region == "us-west-1");
    // options.profile before AWS_PROFILE; AWS_REGION before the profile's region.
    settings = resolve_s3_settings(ObjectStoreOptions().profile("default"),
                                   environment({{"HOME", home.path()}, {"AWS_PROFILE", "dev"}, {"AWS_REGION", "x-1"}}));
    CHECK(settings.access_key_id == "DEFAULTID");
    CHECK(settings.region == "x-1");
    // The variables' keys before any file's.
    settings = resolve_s3_settings(ObjectStoreOptions(), environment({{"HOME", home.path()},
                                                                      {"AWS_ACCESS_KEY_ID", "ENVID"},
                                                                      {"AWS_SECRET_ACCESS_KEY", "envsecret"}}));
    CHECK(settings.access_key_id == "ENVID");
    CHECK(settings.region == "eu-central-1");

    // Files named by AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE; keys in the config file count too.
    std::ofstream(home / "other-config") << "[profile ci]\naws_access_key_id = CIID\naws_secret_access_key = cisecret\n"
                                            "region = sa-east-1\n";
    settings = resolve_s3_settings(ObjectStoreOptions().profile("ci"),
                                   environment({{"HOME", home.path()},
                                                {"AWS_SHARED_CREDENTIALS_FILE", home / "nothing"},
                                                {"AWS_CONFIG_FILE", home / "other-config"}}));
    CHECK(settings.access_key_id == "CIID");
    CHECK(settings.region == "sa-east-1");
    CHECK(settings.credentials_source == "profile 'ci' of " + home / "other-config");
  }

  TEST_CASE("S3 settings: no keys, half a pair, or a bad endpoint: errors naming what was looked at, no secret") {
    TempDir home;
    auto message = resolve_error(ObjectStoreOptions(), environment({{"HOME", home.path()}}));
    CAPTURE(message);
    CHECK(message.find("no S3 credentials found") != std::string::npos);
    for (const std::string& named : {std::string("AWS_ACCESS_KEY_ID"), std::string("AWS_SECRET_ACCESS_KEY"),
                                     std::string("AWS_PROFILE"), std::string("AWS_SHARED_CREDENTIALS_FILE"),
                                     std::string("AWS_CONFIG_FILE"), home / ".aws/credentials",
                                     home / ".aws/config", std::string("'default'")}) {
      CHECK(message.find(named) != std::string::npos);
    }
    CHECK(message.find("does not exist") != std::string::npos);

    std::filesystem::create_directories(home / ".aws");
    std::ofstream(home / ".aws/credentials") << "[other]\naws_access_key_id = A\naws_secret_access_key = topsecret\n";
    message = resolve_error(ObjectStoreOptions(), environment({{"HOME", home.path()}, {"AWS_PROFILE", "dev"}}));
    CHECK(message.find("has no keys in section [dev]") != std::string::npos);
    CHECK(message.find("topsecret") == std::string::npos);
    CHECK(message.find("'dev' (AWS_PROFILE)") != std::string::npos);

    message = resolve_error(ObjectStoreOptions(), environment({{"AWS_ACCESS_KEY_ID", "A"}}));
    CHECK(message.find("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not") != std::string::npos);
    message = resolve_error(ObjectStoreOptions(), environment({{"AWS_SECRET_ACCESS_KEY", "topsecret"}}));
    CHECK(message.find("AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not") != std::string::npos);
    CHECK(message.find("topsecret") == std::string::npos);

    const auto keys = environment({{"AWS_ACCESS_KEY_ID", "A"}, {"AWS_SECRET_ACCESS_KEY", "B"},
                                   {"S3_ENDPOINT_URL", "localhost:9000"}});
    message = resolve_error(ObjectStoreOptions(), keys);
    CHECK(message.find("S3_ENDPOINT_URL is \"localhost:9000\"") != std::string::npos);
    CHECK_THROWS_AS(resolve_s3_settings(ObjectStoreOptions().endpoint_url("http://host:1/path"), keys), ConfigError);
  }
}
