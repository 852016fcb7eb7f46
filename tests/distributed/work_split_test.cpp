// map_items in one process: results in item order whatever the threads, a shard's items only,
// and the error of the lowest failing item, as a sweep reported it before.
#include <stdexcept>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <tbb/global_control.h>

#include "sim/core/input_error.hpp"
#include "sim/distributed/work_split.hpp"

namespace kvsim::distributed {
namespace {

std::string square(std::size_t i) { return fmt::format("{}", i * i); }

TEST(WorkSplit, AloneEveryItemComesBackInIndexOrder) {
  std::vector<std::string> one_thread;
  {
    const tbb::global_control limit(tbb::global_control::max_allowed_parallelism, 1);
    one_thread = map_items(50, square);
  }
  const std::vector<std::string> all_threads = map_items(50, square);
  ASSERT_EQ(all_threads.size(), 50u);
  for (std::size_t i = 0; i < 50; ++i) EXPECT_EQ(all_threads[i], square(i));
  EXPECT_EQ(one_thread, all_threads);
}

TEST(WorkSplit, AShardEvaluatesOnlyItsItemsAndLeavesTheRestEmpty) {
  Workers workers;
  workers.set_shard(Shard{2, 3});
  std::vector<int> calls(8, 0);
  const std::vector<std::string> r = map_items(8, [&](std::size_t i) {
    ++calls[i];  // each item runs once, on one thread
    return square(i);
  });
  // Shard 2/3 of 8 items: 1, 4, 7.
  EXPECT_EQ(r, (std::vector<std::string>{"", "1", "", "", "16", "", "", "49"}));
  EXPECT_EQ(calls, (std::vector<int>{0, 1, 0, 0, 1, 0, 0, 1}));
  EXPECT_EQ(run_items(8), (std::vector<std::size_t>{1, 4, 7}));
}

TEST(WorkSplit, TheWorkersInstalledLastAreTheOnesUsedUntilTheyEnd) {
  EXPECT_EQ(Workers::current(), nullptr);
  {
    Workers outer;
    outer.set_shard(Shard{1, 2});
    {
      Workers inner;  // no shard
      EXPECT_EQ(Workers::current(), &inner);
      EXPECT_EQ(run_items(3).size(), 3u);
    }
    EXPECT_EQ(Workers::current(), &outer);
    EXPECT_EQ(run_items(3), (std::vector<std::size_t>{0, 2}));
  }
  EXPECT_EQ(Workers::current(), nullptr);
}

TEST(WorkSplit, TheLowestFailingItemsErrorIsThrownAfterAllFinish) {
  std::atomic<int> evaluated{0};
  try {
    map_items(40, [&](std::size_t i) -> std::string {
      ++evaluated;
      if (i == 31) throw std::runtime_error("thirty-one");
      if (i == 17) throw InputError("sweep.json", "/axes/0", "seventeen");
      return square(i);
    });
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), "sweep.json: at /axes/0: seventeen");
  }
  EXPECT_EQ(evaluated.load(), 40);
}

TEST(WorkSplit, AloneThereIsOneWorkerAndItIsRoot) {
  const Workers workers;
  EXPECT_EQ(workers.size(), 1u);
  EXPECT_EQ(workers.rank(), 0u);
  EXPECT_TRUE(workers.root());
  EXPECT_FALSE(workers.mpi());
  EXPECT_EQ(workers.gather("mine"), (std::vector<std::string>{"mine"}));
}

}  // namespace
}  // namespace kvsim::distributed
