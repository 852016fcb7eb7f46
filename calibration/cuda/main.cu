// kvsim-microbench: measures the kernels kvsim's calibrated compute model needs, on the GPU it
// runs on, and writes kvsim's measurement JSON (input of `kvsim calibrate --measurements`).
//
//   kvsim-microbench --out measurements.json [--only SECTION,...] [--quick] [--check]
//                    [--repeats 30] [--warmup 5]
//
// Sections: gemm (gemm.cu), attention (eager prefill and paged decode, attention.cu),
// elementwise (elementwise.cu), copy and collective (transfers.cu). Fused prefill attention is
// measured by attention_bench.py through PyTorch's SDPA backends (FlashAttention-2, cuDNN).
#include <cublasLt.h>

#include <cstring>
#include <ctime>
#include <sstream>

#include "bench.hpp"

#ifdef KVSIM_HAVE_NCCL
#include <nccl.h>
#endif

namespace {

const char* const kSections[] = {"gemm", "attention", "elementwise", "copy", "collective"};

int usage(int code) {
  std::fprintf(code == 0 ? stdout : stderr,
               "usage: kvsim-microbench [--out FILE] [--only SECTION,...] [--quick] [--check]\n"
               "                        [--repeats N] [--warmup N]\n"
               "  --out FILE     measurement JSON to write (default measurements.json)\n"
               "  --only LIST    sections to run: gemm, attention, elementwise, copy, collective\n"
               "                 (default: all)\n"
               "  --quick        a few shapes per section (minutes instead of about an hour)\n"
               "  --check        check the decode-attention kernel against a CPU reference, exit\n"
               "  --repeats N    timed repeats per point, median reported (default 30, min 3)\n"
               "  --warmup N     untimed launches before them (default 5)\n");
  return code;
}

bool parse(int argc, char** argv, int& exit_code) {
  auto& o = microbench::options;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--out" && has_value) {
      o.out = argv[++i];
    } else if (a == "--only" && has_value) {
      std::stringstream list(argv[++i]);
      for (std::string s; std::getline(list, s, ',');) {
        if (std::find(std::begin(kSections), std::end(kSections), s) == std::end(kSections)) {
          std::fprintf(stderr, "kvsim-microbench: unknown section '%s'\n", s.c_str());
          exit_code = usage(2);
          return false;
        }
        o.only.push_back(s);
      }
    } else if (a == "--quick") {
      o.quick = true;
    } else if (a == "--check") {
      o.check_only = true;
    } else if (a == "--repeats" && has_value) {
      o.repeats = std::max(3, std::atoi(argv[++i]));
    } else if (a == "--warmup" && has_value) {
      o.warmup = std::max(0, std::atoi(argv[++i]));
    } else {
      exit_code = usage(a == "--help" || a == "-h" ? 0 : 2);
      return false;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace microbench;
  int exit_code = 0;
  if (!parse(argc, argv, exit_code)) return exit_code;
  check(cudaSetDevice(0), "set device");
  check(cudaStreamCreate(&stream), "stream");
  if (options.check_only) return check_decode_attention() ? 0 : 1;

  cudaDeviceProp prop;
  check(cudaGetDeviceProperties(&prop, 0), "properties");
  int driver = 0;
  int runtime = 0;
  cudaDriverGetVersion(&driver);
  cudaRuntimeGetVersion(&runtime);
  int devices = 0;
  check(cudaGetDeviceCount(&devices), "device count");
  int sm_clock = 0;
  int memory_clock = 0;
  cudaDeviceGetAttribute(&sm_clock, cudaDevAttrClockRate, 0);
  cudaDeviceGetAttribute(&memory_clock, cudaDevAttrMemoryClockRate, 0);
#ifdef KVSIM_HAVE_NCCL
  const int nccl = NCCL_VERSION_CODE;
#else
  const int nccl = 0;
#endif

  Writer w(options.out);
  const std::time_t now = std::time(nullptr);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  std::fprintf(w.file(),
               "{\n  \"kind\": \"kvsim-measurements\",\n  \"date\": \"%s\",\n"
               "  \"device\": {\"name\": \"%s\", \"count\": %d, \"sm_count\": %d, "
               "\"compute_capability\": \"%d.%d\", \"memory_bytes\": %zu, \"l2_bytes\": %d, "
               "\"sm_clock_khz\": %d, \"memory_clock_khz\": %d},\n"
               "  \"software\": {\"cuda_driver\": %d, \"cuda_runtime\": %d, \"cublaslt\": %zu, "
               "\"nccl\": %d},\n"
               "  \"points\": [\n",
               date, prop.name, devices, prop.multiProcessorCount, prop.major, prop.minor,
               prop.totalGlobalMem, prop.l2CacheSize, sm_clock, memory_clock,
               driver, runtime, cublasLtGetVersion(), nccl);

  // Three buffers large enough for the biggest GEMM (32k x 29568 outputs, 2 bytes each).
  Buffers buffers;
  buffers.capacity = std::size_t{1} << 30;  // elements: 2 GiB each
  for (void** b : {&buffers.a, &buffers.b, &buffers.c}) {
    check(cudaMalloc(b, buffers.capacity * 2), "buffers");
    check(cudaMemset(*b, 0, buffers.capacity * 2), "memset");
  }
  if (options.runs("gemm")) bench_gemms(w, buffers);
  if (options.runs("attention")) {
    bench_eager_attention(w, buffers);
    bench_decode_attention(w);
  }
  if (options.runs("elementwise")) bench_elementwise(w, buffers);
  if (options.runs("copy")) bench_copies(w, buffers);
  if (options.runs("collective")) bench_collectives(w);
  w.finish();
  return 0;
}
