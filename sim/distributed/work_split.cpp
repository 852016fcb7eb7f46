#include "sim/distributed/work_split.hpp"

#include <atomic>
#include <exception>
#include <filesystem>
#include <mutex>
#include <optional>
#include <stdexcept>

#include <nlohmann/json.hpp>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include "sim/core/input_error.hpp"

namespace kvsim::distributed {
namespace {

Workers* installed = nullptr;

// One process's items evaluated on its threads: a result or the exception, per item.
struct LocalRun {
  std::vector<std::size_t> items;
  std::vector<std::string> results;
  std::vector<std::exception_ptr> errors;
};

LocalRun evaluate_locally(std::vector<std::size_t> items, const Evaluate& evaluate,
                          const ProgressReport& progress) {
  LocalRun run{std::move(items), {}, {}};
  run.results.resize(run.items.size());
  run.errors.resize(run.items.size());
  std::atomic<std::size_t> done{0};
  std::mutex report;
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, run.items.size(), 1),
                    [&](const tbb::blocked_range<std::size_t>& r) {
                      for (std::size_t j = r.begin(); j != r.end(); ++j) {
                        try {
                          run.results[j] = evaluate(run.items[j]);
                        } catch (...) {
                          run.errors[j] = std::current_exception();
                        }
                        const std::size_t finished = ++done;
                        if (progress) {
                          const std::lock_guard lock(report);
                          progress(finished, run.items.size());
                        }
                      }
                    });
  return run;
}

// An item's outcome as it travels to rank 0: [index, "ok", result], [index, "input", file,
// pointer, message] or [index, "error", message].
nlohmann::json encode(std::size_t item, const std::string& result, const std::exception_ptr& e) {
  if (!e) return {item, "ok", result};
  try {
    std::rethrow_exception(e);
  } catch (const InputError& error) {
    return {item, "input", error.file(), error.pointer(), error.message()};
  } catch (const std::filesystem::filesystem_error& error) {
    // main() reports these as bad input naming the path; so does InputError(path, "", ...).
    return {item, "input", error.path1().string(), "", error.code().message()};
  } catch (const std::exception& error) {
    return {item, "error", error.what()};
  } catch (...) {
    return {item, "error", "unknown error"};
  }
}

[[noreturn]] void throw_decoded(const nlohmann::json& entry) {
  if (entry[1] == "input") {
    throw InputError(entry[2].get<std::string>(), entry[3].get<std::string>(),
                     entry[4].get<std::string>());
  }
  throw std::runtime_error(entry[2].get<std::string>());
}

// Rank 0's part of an MPI run: its own outcomes, every other rank's, the lowest failing item's
// error thrown after all arrived.
std::vector<std::string> gather_results(const Workers& workers, std::size_t count,
                                        const LocalRun& local) {
  nlohmann::json mine = nlohmann::json::array();
  for (std::size_t j = 0; j < local.items.size(); ++j) {
    mine.push_back(encode(local.items[j], local.results[j], local.errors[j]));
  }
  // Invalid UTF-8 (in a message naming a file, say) is replaced rather than thrown on.
  const std::vector<std::string> all =
      workers.gather(mine.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  if (!workers.root()) return {};
  std::vector<std::string> results(count);
  std::optional<nlohmann::json> first_error;
  for (std::size_t rank = 0; rank < all.size(); ++rank) {
    for (nlohmann::json& entry : nlohmann::json::parse(all[rank])) {
      const auto item = entry[0].get<std::size_t>();
      if (entry[1] == "ok") {
        results[item] = entry[2].get<std::string>();
      } else if (!first_error || item < (*first_error)[0].get<std::size_t>()) {
        first_error = std::move(entry);
      }
    }
  }
  if (first_error) {
    // Rank 0's own exception keeps its type; another rank's is rebuilt from its message.
    const auto item = (*first_error)[0].get<std::size_t>();
    for (std::size_t j = 0; j < local.items.size(); ++j) {
      if (local.items[j] == item) std::rethrow_exception(local.errors[j]);
    }
    throw_decoded(*first_error);
  }
  return results;
}

}  // namespace

Workers::Workers(int& argc, char**& argv) : launch_(transport::start(argc, argv)) {
  previous_ = installed;
  installed = this;
}

Workers::Workers() : previous_(installed) { installed = this; }

Workers::~Workers() {
  installed = previous_;
  if (launch_.started && finished_) transport::finish();
}

Workers* Workers::current() { return installed; }

std::vector<std::string> Workers::gather(const std::string& mine) const {
  return transport::gather(mine, launch_);
}

std::vector<std::size_t> run_items(std::size_t count) {
  const Workers* workers = Workers::current();
  if (workers != nullptr && workers->shard()) return items_of(count, *workers->shard());
  return items_of(count, 0, 1);
}

std::vector<std::string> map_items(std::size_t count, const Evaluate& evaluate) {
  return map_items(count, evaluate, ProgressReport{});
}

std::vector<std::string> map_items(std::size_t count, const Evaluate& evaluate,
                                   const ProgressReport& progress) {
  const Workers* workers = Workers::current();
  std::vector<std::size_t> items = run_items(count);
  if (workers != nullptr && workers->mpi()) {
    items = share_of(items, workers->rank(), workers->size());
    const LocalRun local =
        evaluate_locally(std::move(items), evaluate, workers->root() ? progress : ProgressReport{});
    return gather_results(*workers, count, local);
  }
  LocalRun local = evaluate_locally(std::move(items), evaluate, progress);
  for (const std::exception_ptr& e : local.errors) {
    if (e) std::rethrow_exception(e);  // the lowest failing item: items are ascending
  }
  std::vector<std::string> results(count);
  for (std::size_t j = 0; j < local.items.size(); ++j) {
    results[local.items[j]] = std::move(local.results[j]);
  }
  return results;
}

}  // namespace kvsim::distributed
