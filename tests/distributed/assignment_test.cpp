// The static assignment of items to workers that MPI ranks and --shard runs share: every item
// exactly once, interleaved, the same on every call; shards named K/N from 1.
#include <gtest/gtest.h>

#include "sim/core/input_error.hpp"
#include "sim/distributed/assignment.hpp"

namespace kvsim::distributed {
namespace {

TEST(Assignment, EveryItemGoesToExactlyOneWorker) {
  for (std::size_t count : {0u, 1u, 7u, 144u}) {
    for (std::size_t workers : {1u, 2u, 3u, 8u, 200u}) {
      std::vector<int> seen(count, 0);
      for (std::size_t w = 0; w < workers; ++w) {
        for (const std::size_t i : items_of(count, w, workers)) ++seen.at(i);
      }
      for (std::size_t i = 0; i < count; ++i) EXPECT_EQ(seen[i], 1) << i << " of " << count;
    }
  }
}

TEST(Assignment, ItemsAreDealtInterleavedAndAscending) {
  // 10 items over 3 workers: i mod 3.
  EXPECT_EQ(items_of(10, 0, 3), (std::vector<std::size_t>{0, 3, 6, 9}));
  EXPECT_EQ(items_of(10, 1, 3), (std::vector<std::size_t>{1, 4, 7}));
  EXPECT_EQ(items_of(10, 2, 3), (std::vector<std::size_t>{2, 5, 8}));
  EXPECT_TRUE(items_of(2, 2, 3).empty());  // more workers than items: some get none
}

TEST(Assignment, ShardKOfNHoldsItemsFromKMinusOneInStepsOfN) {
  EXPECT_EQ(items_of(7, Shard{1, 2}), (std::vector<std::size_t>{0, 2, 4, 6}));
  EXPECT_EQ(items_of(7, Shard{2, 2}), (std::vector<std::size_t>{1, 3, 5}));
  EXPECT_EQ(items_of(3, Shard{1, 1}), (std::vector<std::size_t>{0, 1, 2}));
}

TEST(Assignment, AShardSpreadOverRanksStillCoversItsItemsOnce) {
  // Shard 2/3 of 20 items is {1, 4, 7, 10, 13, 16, 19}; over 2 ranks: every other one.
  const std::vector<std::size_t> shard = items_of(20, Shard{2, 3});
  EXPECT_EQ(share_of(shard, 0, 2), (std::vector<std::size_t>{1, 7, 13, 19}));
  EXPECT_EQ(share_of(shard, 1, 2), (std::vector<std::size_t>{4, 10, 16}));
}

TEST(Assignment, ShardsParseFromKSlashN) {
  EXPECT_EQ(parse_shard("1/4", "--shard"), (Shard{1, 4}));
  EXPECT_EQ(parse_shard("4/4", "--shard"), (Shard{4, 4}));
  EXPECT_EQ(parse_shard("12/100", "--shard").text(), "12/100");
}

TEST(Assignment, BadShardsAreRefusedSayingWhatIsValid) {
  for (const char* bad : {"", "1", "1/", "/2", "a/b", "1/2/3", "-1/2", "1 /2", "+1/2"}) {
    try {
      parse_shard(bad, "--shard");
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("write K/N"), std::string::npos) << e.what();
    }
  }
  for (const char* bad : {"0/2", "3/2", "1/0", "0/0"}) {
    try {
      parse_shard(bad, "--shard");
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("1 <= K <= N"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace kvsim::distributed
