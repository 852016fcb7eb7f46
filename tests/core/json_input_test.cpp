#include "sim/core/json_input.hpp"

#include <gtest/gtest.h>

#include "tests/core/error_of.hpp"

#include "sim/core/config.hpp"
#include "sim/core/input_error.hpp"

namespace kvsim {
namespace {

bool mentions(const InputError& e, const std::string& text) {
  return std::string(e.what()).find(text) != std::string::npos;
}

std::string nested(std::size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

}  // namespace

TEST(JsonInput, NestingPastTheLimitIsRefusedWithItsPosition) {
  // {"a": followed by 100 levels parses; one more level is refused at the bracket that opens it.
  EXPECT_NO_THROW(parse_json("{\"a\": " + nested(kMaxJsonDepth - 1) + "}", "ok.json"));
  const InputError e =
      error_of([] { parse_json("{\"a\": " + nested(kMaxJsonDepth) + "}", "deep.json"); });
  // The object is level 1, so the bracket opening level 101 is the 100th '[': column 6 + 100.
  EXPECT_EQ(e.file(), "deep.json:1:106");
  EXPECT_TRUE(mentions(e, "nested deeper than 100 levels")) << e.what();
}

TEST(JsonInput, HundredThousandLevelsWhereANumberBelongsIsAnInputErrorNotACrash) {
  // The issue's crash: the error message used to serialise the whole value, recursing 10^5 deep.
  const std::string text = "{\"seed\": " + nested(100000) + "}";
  EXPECT_TRUE(mentions(error_of([&] { ConfigDocument::parse(text, "s.json"); }),
                       "nested deeper"));
}

TEST(JsonInput, BracketsInsideStringsDoNotCountAsNesting) {
  const std::string text = "{\"a\": \"" + std::string(1000, '[') + "\\\"[\"}";
  EXPECT_EQ(parse_json(text, "s.json")["a"].get<std::string>().size(), 1002u);
}

TEST(JsonInput, NumbersBeyondDoubleRangeAreInputErrorsWithTheirPosition) {
  const InputError e = error_of([] { parse_json("{\n  \"seed\": 1e400\n}", "n.json"); });
  EXPECT_EQ(e.file(), "n.json:2:11");  // line 2, "  \"seed\": " is 10 characters
  EXPECT_TRUE(mentions(e, "number out of range")) << e.what();
  EXPECT_TRUE(mentions(error_of([] { parse_json("[-1e400]", "n.json"); }), "out of range"));
}

TEST(JsonInput, ShortDumpCutsWithoutSerialisingEverything) {
  const Json deep = parse_json(nested(kMaxJsonDepth), "d.json");
  const std::string text = short_dump(deep);
  EXPECT_EQ(text.size(), 60u);  // 57 characters and "..."
  EXPECT_EQ(text.substr(57), "...");
  EXPECT_EQ(short_dump(Json::parse(R"({"a":[1,2]})")), R"({"a":[1,2]})");
}

TEST(JsonInput, SetAtPointerNamesWhatExistsWhereThePathStops) {
  Json doc = Json::parse(R"({"prefill": {"context_tokens": 1024, "strategies": [1, 2]}})");
  const InputError key = error_of([&] {
    set_at_pointer(doc, "/prefill/contxt_tokens", 1, "f.json", false);
  });
  EXPECT_EQ(key.pointer(), "/prefill/contxt_tokens");
  EXPECT_TRUE(mentions(key, "/prefill has no key 'contxt_tokens'")) << key.what();
  EXPECT_TRUE(mentions(key, "did you mean 'context_tokens'")) << key.what();
  EXPECT_TRUE(mentions(error_of([&] {
                         set_at_pointer(doc, "/prefill/context_tokens/x", 1, "f.json", false);
                       }),
                       "/prefill/context_tokens is number 1024, which has no 'x' inside"));
  EXPECT_TRUE(mentions(error_of([&] {
                         set_at_pointer(doc, "/prefill/strategies/abc", 1, "f.json", false);
                       }),
                       "valid indices are 0 to 1"));
  EXPECT_TRUE(mentions(error_of([&] { set_at_pointer(doc, "/a~2", 1, "f.json", false); }),
                       "not a JSON pointer"));
}

TEST(JsonInput, AHugeArrayIndexIsRefusedWithoutAllocating) {
  // nlohmann's operator[] would resize the array to 10^11 elements (1.6 TB of json values).
  Json doc = Json::parse(R"({"strategies": [1, 2]})");
  const InputError e = error_of([&] {
    set_at_pointer(doc, "/strategies/99999999999", 3, "f.json", true);
  });
  EXPECT_TRUE(mentions(e, "2-element array at /strategies")) << e.what();
  EXPECT_TRUE(mentions(e, "2 or - appends")) << e.what();
  EXPECT_EQ(doc["strategies"].size(), 2u);
}

TEST(JsonInput, MayCreateAddsAKeyOrAppendsButOnlyAtTheLastStep) {
  Json doc = Json::parse(R"({"a": {"list": [1]}})");
  set_at_pointer(doc, "/a/new", 2, "f.json", true);
  set_at_pointer(doc, "/a/list/1", 3, "f.json", true);
  set_at_pointer(doc, "/a/list/-", 4, "f.json", true);
  EXPECT_EQ(doc, Json::parse(R"({"a": {"new": 2, "list": [1, 3, 4]}})"));
  EXPECT_THROW(set_at_pointer(doc, "/b/c", 1, "f.json", true), InputError);
  EXPECT_THROW(set_at_pointer(doc, "/a/new2", 1, "f.json", false), InputError);
}

TEST(JsonInput, OverrideWithABadPointerIsAnInputErrorNotALibraryMessage) {
  auto doc = ConfigDocument::parse(R"({"prefill": {"strategies": [{"type": "tsp"}]}})", "o.json");
  doc.apply_override("/prefill/strategies/0/type=kvr");
  EXPECT_EQ(doc.json()["prefill"]["strategies"][0]["type"], "kvr");
  const InputError e = error_of([&] { doc.apply_override("/prefill/strategies/x/type=kvr"); });
  EXPECT_EQ(e.file(), "o.json");
  EXPECT_FALSE(mentions(e, "json.exception")) << e.what();
  // A value too deep or out of range for JSON is kept as the string it was typed as.
  doc.apply_override("/prefill/strategies/0/type=1e400");
  EXPECT_EQ(doc.json()["prefill"]["strategies"][0]["type"], "1e400");
  // Bytes that are not UTF-8 would make writing the resolved scenario fail (exit 3) later.
  EXPECT_TRUE(mentions(error_of([&] { doc.apply_override("/prefill/strategies/0/type=\xff"); }),
                       "not valid UTF-8"));
}

}  // namespace kvsim
