#include "sim/core/config.hpp"

#include <gtest/gtest.h>

#include "tests/core/error_of.hpp"

namespace kvsim {
TEST(Config, ReadsTypedFieldsAndTracksPointers) {
  const auto doc = ConfigDocument::parse(R"({"a": {"n": 3, "bw": "300GB/s", "t": "5us"}})",
                                         "x.json");
  const ConfigNode a = doc.root().at("a");
  EXPECT_EQ(a.count("n"), 3);
  EXPECT_DOUBLE_EQ(a.at("bw").as_bandwidth(), 300e9);
  EXPECT_EQ(a.at("t").as_duration(), Duration(5000));
  EXPECT_EQ(a.at("t").pointer(), "/a/t");
  a.finish();
}

TEST(Config, SyntaxErrorsNameLineAndColumn) {
  const InputError e = error_of([] { ConfigDocument::parse("{\n  \"a\": 1,\n  \"b\": }", "s.json"); });
  EXPECT_EQ(e.file(), "s.json:3:8");
  EXPECT_NE(e.message().find("syntax error"), std::string::npos);
}

TEST(Config, UnknownKeysAreErrorsWithDidYouMean) {
  const auto doc = ConfigDocument::parse(R"({"context_tokens": 1, "contxt_tokens": 2})", "k.json");
  const ConfigNode root = doc.root();
  root.count("context_tokens");
  const InputError e = error_of([&] { root.finish(); });
  EXPECT_EQ(e.pointer(), "/contxt_tokens");
  EXPECT_NE(e.message().find("did you mean 'context_tokens'"), std::string::npos) << e.what();
}

TEST(Config, WrongTypeRangeAndOneOfErrorsNameTheValue) {
  const auto doc = ConfigDocument::parse(R"({"n": "x", "r": 2.5, "k": "relya", "c": 0})", "t.json");
  const ConfigNode root = doc.root();
  EXPECT_NE(error_of([&] { root.count("n"); }).message().find("expected an integer"),
            std::string::npos);
  EXPECT_NE(error_of([&] { root.number("r", 0, 1); }).message().find("must be in [0, 1]"),
            std::string::npos);
  EXPECT_NE(error_of([&] { root.one_of("k", {"relay", "direct"}); })
                .message()
                .find("did you mean 'relay'"),
            std::string::npos);
  EXPECT_EQ(error_of([&] { root.count("c"); }).pointer(), "/c");
}

TEST(Config, MissingRequiredKey) {
  const auto doc = ConfigDocument::parse(R"({"a": {}})", "m.json");
  const InputError e = error_of([&] { doc.root().at("a").count("gpus"); });
  EXPECT_EQ(e.pointer(), "/a");
  EXPECT_NE(e.message().find("missing required key 'gpus'"), std::string::npos);
}

TEST(Config, OverridesReplaceExistingValuesOnly) {
  auto doc = ConfigDocument::parse(R"({"prefill": {"context_tokens": 1024, "kind": "tsp"}})",
                                   "o.json");
  doc.apply_override("/prefill/context_tokens=4096");
  doc.apply_override("/prefill/kind=kvr");  // a bare word is a string
  EXPECT_EQ(doc.json()["prefill"]["context_tokens"], 4096);
  EXPECT_EQ(doc.json()["prefill"]["kind"], "kvr");
  const InputError e = error_of([&] { doc.apply_override("/prefill/contxt=1"); });
  EXPECT_EQ(e.pointer(), "/prefill/contxt");
  EXPECT_THROW(doc.apply_override("prefill=1"), InputError);
}

TEST(Config, BareNumberWhereAUnitIsRequired) {
  const auto doc = ConfigDocument::parse(R"({"bw": 300})", "u.json");
  const InputError e = error_of([&] { doc.root().at("bw").as_bandwidth(); });
  EXPECT_NE(e.message().find("\"300GB/s\""), std::string::npos) << e.what();
}

}  // namespace kvsim
