// The Python module `kvsim`: kvsim.run, serve, sweep and search, a thin layer over the
// functions the command line calls (tools/api). Each takes a scenario (or sweep) as a dict or
// a path, with the command line's --set overrides and --strict, and returns plain dicts and
// lists: the JSON the command writes, and under "tables" its CSV files as columns (a dict of
// lists: pandas.DataFrame(result["tables"]["requests"])). Bad input raises kvsim.InputError
// (a ValueError) with .file, .pointer (the JSON pointer) and .message. The GIL is released
// while kvsim computes; results are the command line's, byte for byte in their numbers.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <optional>

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "sim/core/input_error.hpp"
#include "sim/report/prefill_report.hpp"
#include "sim/report/serving_trace.hpp"
#include "tools/api/api.hpp"
#include "tools/api/overrides.hpp"

namespace py = pybind11;

namespace kvsim::python {
namespace {

// JSON between Python and kvsim through the json module: exact for everything a scenario or a
// result holds (numbers, strings, lists, dicts, null); NaN and infinity are refused.
Json to_json(const py::handle& value) {
  const py::object text =
      py::module_::import("json").attr("dumps")(value, py::arg("allow_nan") = false);
  return Json::parse(text.cast<std::string>());
}

template <class J>
py::object to_python(const J& value) {
  return py::module_::import("json").attr("loads")(value.dump());
}

// A command's CSV files as columns, in their column order (ordered_json keeps it).
using Tables = std::vector<std::pair<std::string, nlohmann::ordered_json>>;

// A scenario or sweep: a dict (relative paths in it from the working directory) or a path.
ConfigDocument document(const py::handle& input, const std::vector<std::string>& overrides) {
  if (py::isinstance<py::dict>(input)) {
    ConfigDocument doc(to_json(input), "<dict>", std::filesystem::current_path().string());
    api::apply_overrides(doc, overrides);  // as --set: a field the format allows may be added
    return doc;
  }
  const std::string path = py::module_::import("os").attr("fspath")(input).cast<std::string>();
  return api::read_document(path, overrides);
}

py::object with_tables(const Json& result, const Tables& tables) {
  py::object out = to_python(result);
  if (tables.empty()) return out;
  py::dict columns;
  for (const auto& [name, table] : tables) columns[py::str(name)] = to_python(table);
  out["tables"] = columns;
  return out;
}

py::object run(const py::handle& scenario, const std::vector<std::string>& set, bool strict,
               bool explain_costs) {
  ConfigDocument doc = document(scenario, set);
  py::gil_scoped_release unlocked;
  const api::RunOutcome x =
      api::run(doc, {.strict = strict, .trace = false, .explain_costs = explain_costs});
  const std::string breakdown = report::to_csv(x.passes, x.scenario.warnings);
  Tables tables{{"breakdown", api::columns(parse_csv(breakdown, "breakdown.csv"))}};
  if (!x.strategies.empty()) {
    tables.emplace_back("prefill", api::columns(parse_csv(
                                       report::prefill_csv(x.strategies, x.scenario.warnings),
                                       "prefill.csv")));
  }
  py::gil_scoped_acquire locked;
  return with_tables(x.results, tables);
}

// The file of serve(trace=PATH): streamed into a temporary beside it while the simulation
// runs, renamed into place by commit(); removed instead on any error, so a failed run leaves no
// half-written trace.
class TraceFile {
 public:
  explicit TraceFile(std::string path)
      : path_(std::move(path)),
        temporary_((std::filesystem::path(path_).parent_path() /
                    ("." + std::filesystem::path(path_).filename().string() + ".tmp"))
                       .string()),
        file_(std::fopen(temporary_.c_str(), "wb")) {
    if (file_ == nullptr) throw InputError(path_, "", "cannot write the trace file here");
  }
  TraceFile(const TraceFile&) = delete;
  TraceFile& operator=(const TraceFile&) = delete;
  ~TraceFile() {
    if (file_ != nullptr) std::fclose(file_);
    if (!committed_) std::remove(temporary_.c_str());
  }
  std::FILE* stream() const { return file_; }
  void commit() {
    const bool closed = std::fclose(file_) == 0;
    file_ = nullptr;
    if (!closed || std::rename(temporary_.c_str(), path_.c_str()) != 0) {
      throw InputError(path_, "", "cannot write the trace file");
    }
    committed_ = true;
  }

 private:
  std::string path_;
  std::string temporary_;
  std::FILE* file_;
  bool committed_ = false;
};

// An error of a --trace-* bound (a window out of range, a trace past its limit), named as this
// module's keyword argument (trace_window, trace_limit) rather than the command's option.
InputError as_keyword(const InputError& e) {
  if (!e.file().starts_with("--trace")) return e;
  std::string name = e.file().substr(2);
  std::replace(name.begin(), name.end(), '-', '_');
  return InputError(name, e.pointer(), e.message());
}

// What serve() collects while the simulation runs: the CSVs asked for, and the trace.
struct ServeStreams {
  bool requests = false;
  bool timeline = false;
  double timeline_interval = 1.0;
  std::optional<std::string> trace_path;
  api::TraceOptions trace_options;
  std::string requests_csv = api::kRequestsHeader;
  std::string timeline_csv = api::kTimelineHeader;
  std::optional<TraceFile> trace_file;
  std::optional<report::ServingTrace> trace;

  // Called once the scenario is checked, before the simulation (api::ObserversFor).
  serving::ServingObservers observers(const serving::Workload& workload) {
    if (!(timeline_interval >= 1e-6 && timeline_interval <= serving::kMaxArrivalSeconds)) {
      throw InputError("timeline_interval", "",
                       "must be from 1e-06 to " +
                           std::to_string(serving::kMaxArrivalSeconds) + " seconds");
    }
    serving::ServingObservers o;
    if (requests) o.request = [this](const serving::RequestRecord& q) {
      requests_csv += api::request_row(q);
    };
    if (timeline || trace_path) o.timeline_interval = from_seconds(timeline_interval);
    if (timeline) o.timeline = [this](const serving::TimelineSample& t) {
      timeline_csv += api::timeline_row(t);
    };
    if (!trace_path) return o;
    const report::ServingTraceBounds bounds = api::trace_bounds(trace_options);
    trace_file.emplace(*trace_path);
    trace.emplace(trace_file->stream(), bounds, workload.total());
    return trace->attach(std::move(o));
  }
};

py::object serve(const py::handle& scenario, const std::vector<std::string>& set, bool strict,
                 bool requests, bool timeline, double timeline_interval, bool save_detailed,
                 const std::optional<py::object>& trace, const std::string& trace_window,
                 std::uint64_t trace_requests, const std::string& trace_limit) {
  ConfigDocument doc = document(scenario, set);
  ServeStreams streams;
  streams.requests = requests;
  streams.timeline = timeline;
  streams.timeline_interval = timeline_interval;
  streams.trace_options = {
      .window = trace_window, .requests = trace_requests, .limit = trace_limit};
  if (trace) {
    streams.trace_path = py::module_::import("os").attr("fspath")(*trace).cast<std::string>();
  }
  py::gil_scoped_release unlocked;
  const auto simulate = [&] {
    const auto observers = [&](const Scenario&, const serving::Workload& w) {
      return streams.observers(w);
    };
    api::ServeOutcome x =
        api::serve(doc, {.strict = strict, .save_detailed = save_detailed}, observers);
    if (streams.trace) {
      (void)streams.trace->finish(x.scenario.name, x.summary["warnings"]);
      streams.trace_file->commit();
    }
    return x;
  };
  std::optional<api::ServeOutcome> outcome;
  try {
    outcome.emplace(simulate());
  } catch (const InputError& e) {
    throw as_keyword(e);
  }
  const api::ServeOutcome& x = *outcome;
  Tables tables;
  if (requests) {
    tables.emplace_back("requests", api::columns(parse_csv(streams.requests_csv, "requests.csv")));
  }
  if (timeline) {
    tables.emplace_back("timeline", api::columns(parse_csv(streams.timeline_csv, "timeline.csv")));
  }
  py::gil_scoped_acquire locked;
  return with_tables(x.summary, tables);
}

py::object sweep(const py::handle& spec, const std::vector<std::string>& set, bool strict) {
  ConfigDocument doc = document(spec, set);
  py::gil_scoped_release unlocked;
  const api::SweepOutcome x = api::sweep(sweep::load_sweep(doc), strict, [](std::size_t) {});
  const Tables tables{{"sweep", api::columns(x.table)}};
  py::gil_scoped_acquire locked;
  return with_tables(x.summary, tables);
}

py::object search(const py::handle& scenario, const std::vector<std::string>& set, bool strict,
                  const py::dict& options, bool landscape, std::int64_t landscape_limit) {
  ConfigDocument doc = document(scenario, set);
  // The search options as a sweep's or predictor's "search" object: checked the same way.
  const ConfigDocument search_doc(to_json(options), "search options");
  const ConfigNode node = search_doc.root();
  api::SearchRequest request{.strict = strict,
                             .search = prefill::SearchOptions::from_config(node),
                             .landscape = landscape,
                             .landscape_limit = landscape_limit};
  node.finish();
  py::gil_scoped_release unlocked;
  const api::SearchOutcome x = api::search(doc, request);
  Tables tables{{"search_trace", api::columns(parse_csv(
                                     api::evaluations_csv(x.search.evaluations, x.processes),
                                     "search_trace.csv"))}};
  if (landscape) {
    tables.emplace_back("landscape", api::columns(parse_csv(
                                         api::evaluations_csv(x.landscape, x.processes),
                                         "landscape.csv")));
  }
  py::gil_scoped_acquire locked;
  return with_tables(x.json, tables);
}

// kvsim.InputError, raised with the file, pointer and message of kvsim's InputError.
PyObject* input_error_type = nullptr;

void translate(std::exception_ptr p) {
  try {
    if (p) std::rethrow_exception(p);
  } catch (const InputError& e) {
    py::object error = py::reinterpret_borrow<py::object>(input_error_type)(e.what());
    error.attr("file") = e.file();
    error.attr("pointer") = e.pointer();
    error.attr("message") = e.message();
    PyErr_SetObject(input_error_type, error.ptr());
  } catch (const std::filesystem::filesystem_error& e) {
    PyErr_SetString(PyExc_OSError, (e.path1().string() + ": " + e.code().message()).c_str());
  }
}

}  // namespace
}  // namespace kvsim::python

PYBIND11_MODULE(kvsim, m) {
  using namespace kvsim::python;
  m.doc() = "kvsim: time to first token, time per output token, throughput and memory of LLM "
            "inference on GPU clusters (the kvsim command line's run, serve, sweep, search)";
  m.attr("__version__") = "0.1.0";
  input_error_type = PyErr_NewExceptionWithDoc(
      "kvsim.InputError",
      "Bad input: .file, .pointer (the JSON pointer of the offending value) and .message (what "
      "would be valid), as the command line reports it with exit code 2.",
      PyExc_ValueError, nullptr);
  m.attr("InputError") = py::reinterpret_borrow<py::object>(input_error_type);
  py::register_exception_translator(&translate);
  using Sets = std::vector<std::string>;
  m.def("run", &run, "kvsim run: the scenario's prefill and decode sections; results.json as a "
                     "dict, tables 'breakdown' and 'prefill' as columns",
        py::arg("scenario"), py::kw_only(), py::arg("set") = Sets{}, py::arg("strict") = false,
        py::arg("explain_costs") = false);
  m.def("serve", &serve, "kvsim serve: the scenario's serving section; summary.json as a dict, "
                         "with requests=True table 'requests', with timeline=True 'timeline'; "
                         "save_detailed=True: vllm_bench's per-request arrays; trace=PATH: a "
                         "Perfetto trace (serve --trace), bounded by trace_window='START:END' "
                         "(seconds), trace_requests=N and trace_limit='1GiB'",
        py::arg("scenario"), py::kw_only(), py::arg("set") = Sets{}, py::arg("strict") = false,
        py::arg("requests") = false, py::arg("timeline") = false,
        py::arg("timeline_interval") = 1.0, py::arg("save_detailed") = false,
        py::arg("trace") = py::none(), py::arg("trace_window") = "",
        py::arg("trace_requests") = 0, py::arg("trace_limit") = "1GiB");
  m.def("sweep", &sweep, "kvsim sweep: every point; summary.json as a dict, table 'sweep' "
                         "(sweep.csv) as columns",
        py::arg("sweep"), py::kw_only(), py::arg("set") = Sets{}, py::arg("strict") = false);
  m.def("search", &search, "kvsim search (KVR-S): search.json as a dict, table 'search_trace' "
                           "(and 'landscape' with landscape=True); options: granularity, "
                           "coarse_candidates, starts",
        py::arg("scenario"), py::kw_only(), py::arg("set") = Sets{}, py::arg("strict") = false,
        py::arg("options") = py::dict(), py::arg("landscape") = false,
        py::arg("landscape_limit") = 200000);
}
