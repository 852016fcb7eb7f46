// Partial result files of --shard runs and their merge: the shards of one run give back every
// item in order; a missing or duplicated shard, a shard of another run, or a file that is not a
// partial result is refused naming the file.
#include <filesystem>
#include <fstream>

#include <unistd.h>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "sim/core/input_error.hpp"
#include "sim/distributed/partial.hpp"

namespace kvsim::distributed {
namespace {

const Job kJob{"sweep", {{"file", "/sweeps/s.json"}, {"set", nlohmann::json::array()}},
               "00000000000000aa"};

// Every item's result of a run of `items`: "r<i>".
std::vector<std::string> all_results(std::size_t items) {
  std::vector<std::string> r;
  for (std::size_t i = 0; i < items; ++i) r.push_back(fmt::format("r{}", i));
  return r;
}

class PartialFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           fmt::format("kvsim-partial-{}-{}", ::testing::UnitTest::GetInstance()->current_test_info()->name(), getpid());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }
  // Shard k/n of a run of `items`, as kvsim sweep --shard writes it, read back.
  Partial shard(std::size_t k, std::size_t n, std::size_t items, const Job& job = kJob) {
    const std::string text = partial_text(job, Shard{k, n}, items, all_results(items));
    return read_partial(write(fmt::format("part-{}-{}-{}.json", k, n, items), text));
  }
  // The message merge_partials throws for `parts`.
  static std::string merge_error(const std::vector<Partial>& parts) {
    try {
      merge_partials(parts);
    } catch (const InputError& e) {
      return e.what();
    }
    return "no error";
  }

  std::filesystem::path dir_;
};

TEST_F(PartialFiles, TheShardsOfARunMergeIntoEveryItemInOrder) {
  const std::vector<Partial> parts{shard(3, 3, 10), shard(1, 3, 10), shard(2, 3, 10)};
  EXPECT_EQ(parts[0].results.size(), 3u);  // items 2, 5, 8
  EXPECT_EQ(parts[0].job.input, kJob.input);
  EXPECT_EQ(merge_partials(parts), all_results(10));
}

TEST_F(PartialFiles, AShardWithNoItemsStillCounts) {
  // 2 items in 3 shards: shard 3/3 holds nothing but must be there.
  EXPECT_EQ(merge_partials({shard(1, 3, 2), shard(2, 3, 2), shard(3, 3, 2)}), all_results(2));
}

TEST_F(PartialFiles, AMissingShardIsNamed) {
  const std::string e = merge_error({shard(1, 4, 10), shard(3, 4, 10)});
  EXPECT_NE(e.find("shards 2/4, 4/4 of the run in"), std::string::npos) << e;
  EXPECT_NE(e.find("are missing"), std::string::npos) << e;
}

TEST_F(PartialFiles, HugeCountsAreRefusedOrNamedWithoutAllocatingForThem) {
  // 10^15 items claimed by a file holding one result: refused before anything is sized by it.
  const std::string huge_items = R"({"kvsim_partial": 1, "command": "sweep", "input": {},
    "input_hash": "aa", "shard": "1/2", "items": 1000000000000000, "results": [[0, "r0"]]})";
  EXPECT_THROW(read_partial(write("huge.json", huge_items)), InputError);
  // Shard 1 of 10^12 (2 items, so it holds item 0): the first ten missing shards are named.
  const std::string e = merge_error({shard(1, 1000000000000, 2)});
  EXPECT_NE(e.find("shards 2/1000000000000, 3/1000000000000"), std::string::npos) << e;
  EXPECT_NE(e.find("11/1000000000000 and 999999999989 more of the run in"), std::string::npos) << e;
}

TEST_F(PartialFiles, AShardGivenTwiceNamesBothFiles) {
  const Partial a = shard(1, 2, 10);
  const Partial b = read_partial(write("copy.json", partial_text(kJob, Shard{1, 2}, 10,
                                                                   all_results(10))));
  const std::string e = merge_error({a, shard(2, 2, 10), b});
  EXPECT_NE(e.find("copy.json: at /shard: shard 1/2 is also in " + a.file), std::string::npos)
      << e;
}

TEST_F(PartialFiles, AShardOfAnotherSweepIsRefused) {
  Job other = kJob;
  other.input_hash = "00000000000000bb";
  const std::string e = merge_error({shard(1, 2, 10), shard(2, 2, 10, other)});
  EXPECT_NE(e.find("at /input_hash: is 00000000000000bb, but"), std::string::npos) << e;
  EXPECT_NE(e.find("shards of different runs"), std::string::npos) << e;
}

TEST_F(PartialFiles, ShardsOfDifferentSplitsOrSizesAreRefused) {
  EXPECT_NE(merge_error({shard(1, 2, 10), shard(2, 3, 10)}).find("at /shard: is 2/3"),
            std::string::npos);
  EXPECT_NE(merge_error({shard(1, 2, 10), shard(2, 2, 11)}).find("at /items: is 11"),
            std::string::npos);
  Job plan = kJob;
  plan.command = "plan";
  EXPECT_NE(merge_error({shard(1, 2, 10), shard(2, 2, 10, plan)}).find("at /command: is plan"),
            std::string::npos);
}

TEST_F(PartialFiles, AShardHoldingTheWrongItemsIsRefused) {
  // Shard 1/2 of 6 items holds 0, 2, 4; this one claims 0, 3, 4.
  const std::string text = R"({"kvsim_partial": 1, "command": "sweep", "input": {},
    "input_hash": "aa", "shard": "1/2", "items": 6,
    "results": [[0, "r0"], [3, "r3"], [4, "r4"]]})";
  const std::string e = merge_error({read_partial(write("wrong.json", text)), shard(2, 2, 6)});
  EXPECT_NE(e.find("wrong.json: at /results/1: is item 3, but shard 1/2 of 6 items holds item 2"),
            std::string::npos)
      << e;
  const std::string short_text = R"({"kvsim_partial": 1, "command": "sweep", "input": {},
    "input_hash": "aa", "shard": "1/2", "items": 6, "results": [[0, "r0"], [2, "r2"]]})";
  try {
    read_partial(write("short.json", short_text));
    ADD_FAILURE() << "read a shard lacking an item";
  } catch (const InputError& error) {
    EXPECT_NE(std::string(error.what()).find(
                  "short.json: at /results: holds 2 results, but shard 1/2 of 6 items has 3"),
              std::string::npos)
        << error.what();
  }
}

TEST_F(PartialFiles, AFileThatIsNotAPartialResultIsRefusedByName) {
  const auto error = [&](const std::string& name, const std::string& text) {
    try {
      read_partial(write(name, text));
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error("sweep.csv", "point,ttft\n").find("sweep.csv:1:"), std::string::npos);
  EXPECT_NE(error("scenario.json", R"({"model": "x"})").find("is not a kvsim partial result"),
            std::string::npos);
  const std::string base = R"("command": "sweep", "input": {}, "input_hash": "aa", "items": 2,
                              "results": [[0, "r0"]])";
  EXPECT_NE(error("v2.json", "{\"kvsim_partial\": 2, \"shard\": \"1/2\", " + base + "}")
                .find("at /kvsim_partial: this kvsim reads partial results of format 1"),
            std::string::npos);
  EXPECT_NE(error("k.json", "{\"kvsim_partial\": 1, \"shard\": \"3/2\", " + base + "}")
                .find("k.json: at /shard: '3/2' is not a shard"),
            std::string::npos);
  EXPECT_NE(error("extra.json", "{\"kvsim_partial\": 1, \"shard\": \"1/2\", \"shrad\": 1, " +
                                    base + "}")
                .find("shrad"),
            std::string::npos);
}

}  // namespace
}  // namespace kvsim::distributed
