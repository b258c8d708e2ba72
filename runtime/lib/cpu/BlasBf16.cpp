//===- BlasBf16.cpp - the bf16 GEMM entry generated code calls ------------===//
//
// Products whose operands the precision policy rounds to bf16 (C += A B
// with bf16 A and B, f32 C) have two kernels with the same result class,
// the f32 sum of exact products (a product of two bf16 numbers is exact in
// f32), summed in different orders:
//
// - "onednn": oneDNN's bf16 matmul, on the CPU's matrix units (AMX) or its
//   bf16 dot products (AVX512-BF16). Chosen where oneDNN runs AMX.
// - "widen": each operand widened to f32 (exact: bf16 is f32's upper half)
//   and multiplied by mstream_sgemm. Chosen elsewhere: without AMX, bf16
//   buys no arithmetic. On an Intel Xeon (Emerald Rapids, AMX hidden by
//   the hypervisor) one core's peak was 200 GFLOP/s with f32 FMAs against
//   101 with AVX512-BF16's vdpbf16ps, and oneDNN 2.6.3's bf16 matmul ran
//   at 95-113 GFLOP/s where its f32 one ran at 153-223 (2026-12-07,
//   docs/precision.md).
//
// MSTREAM_BF16_GEMM=onednn|widen overrides the choice.
//
//===----------------------------------------------------------------------===//

#include "mstream/Runtime/Blas.h"
#include "mstream/Runtime/GemmCounters.h"
#include "mstream/Runtime/Parallel.h"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#ifdef MSTREAM_HAVE_ONEDNN
#include <map>
#include <mutex>
#include <omp.h>
#include <oneapi/dnnl/dnnl.hpp>
#include <tuple>
#endif

namespace {

/// One operand of a batched call, `rows` x `cols` as stored.
struct Stored {
  const uint16_t *data;
  int64_t rows, cols, ld, stride;
};

struct Widening {
  Stored from;
  int64_t entries;
  float *to; // packed: ld = cols, entry i at i * rows * cols
};

void widenRows(void *context, int64_t begin, int64_t end) {
  const Widening &w = *static_cast<const Widening *>(context);
  for (int64_t r = begin; r < end; ++r) {
    int64_t entry = r / w.from.rows, row = r % w.from.rows;
    const uint16_t *src =
        w.from.data + entry * w.from.stride + row * w.from.ld;
    float *dst = w.to + r * w.from.cols;
    for (int64_t c = 0; c < w.from.cols; ++c) {
      uint32_t bits = uint32_t(src[c]) << 16;
      std::memcpy(dst + c, &bits, sizeof bits);
    }
  }
}

/// The operand as packed f32 entries (one when every entry is the same).
std::vector<float> widen(Stored from, int64_t batch) {
  int64_t entries = from.stride == 0 ? 1 : batch;
  std::vector<float> out(entries * from.rows * from.cols);
  Widening w{from, entries, out.data()};
  if (mstream::rt::inParallelTask() || out.size() < (size_t(1) << 16))
    widenRows(&w, 0, entries * from.rows);
  else
    mstream_parallel_for(0, entries * from.rows, widenRows, &w);
  return out;
}

struct Call {
  int64_t batch, transA, transB, m, n, k;
  Stored a, b;
  float *c;
  int64_t ldc, strideC, accumulate;
};

void multiplyWidened(const Call &g) {
  std::vector<float> a = widen(g.a, g.batch), b = widen(g.b, g.batch);
  auto address = [](const std::vector<float> &v) {
    return reinterpret_cast<int64_t>(v.data());
  };
  auto stride = [](const Stored &s) {
    return s.stride == 0 ? 0 : s.rows * s.cols;
  };
  mstream_sgemm(g.batch, g.transA, g.transB, g.m, g.n, g.k, address(a),
                g.a.cols, stride(g.a), address(b), g.b.cols, stride(g.b),
                reinterpret_cast<int64_t>(g.c), g.ldc, g.strideC,
                g.accumulate);
}

#ifdef MSTREAM_HAVE_ONEDNN

using Key = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                       int64_t, int64_t, int64_t>;

/// oneDNN's primitives for C (rows x n) += op(A) op(B), one per shape:
/// creating one compiles its kernel (milliseconds).
class OneDnn {
public:
  OneDnn() : engine(dnnl::engine::kind::cpu, 0) {}

  bool hasAmx() const {
    return dnnl::get_effective_cpu_isa() >=
           dnnl::cpu_isa::avx512_core_amx;
  }

  /// Rows [begin, end) of entry i's C, on the calling thread.
  void multiply(const Call &g, int64_t i, int64_t begin, int64_t end) {
    // oneDNN (built on OpenMP) on this thread alone: the runtime's pool
    // supplies the parallelism, and idle OpenMP workers would spin on its
    // cores.
    static thread_local bool single = (omp_set_num_threads(1), true);
    (void)single;
    int64_t rows = end - begin;
    dnnl::matmul &product = primitive(g, rows);
    static thread_local dnnl::stream stream(engine);
    using dt = dnnl::memory::data_type;
    auto desc = [&](int64_t r, int64_t c, bool transposed, int64_t ld,
                    dt type) {
      return dnnl::memory::desc(
          {r, c}, type,
          transposed ? dnnl::memory::dims{1, ld} : dnnl::memory::dims{ld, 1});
    };
    const uint16_t *a = g.a.data + i * g.a.stride +
                        (g.transA ? begin : begin * g.a.ld);
    const uint16_t *b = g.b.data + i * g.b.stride;
    float *c = g.c + i * g.strideC + begin * g.ldc;
    dnnl::memory lhs(desc(rows, g.k, g.transA, g.a.ld, dt::bf16), engine,
                     const_cast<uint16_t *>(a));
    dnnl::memory rhs(desc(g.k, g.n, g.transB, g.b.ld, dt::bf16), engine,
                     const_cast<uint16_t *>(b));
    dnnl::memory out(desc(rows, g.n, false, g.ldc, dt::f32), engine, c);
    product.execute(stream, {{DNNL_ARG_SRC, lhs},
                             {DNNL_ARG_WEIGHTS, rhs},
                             {DNNL_ARG_DST, out}});
    stream.wait();
  }

private:
  dnnl::matmul &primitive(const Call &g, int64_t rows) {
    Key key{rows, g.n, g.k, g.transA, g.transB, g.a.ld, g.b.ld, g.ldc,
            g.accumulate};
    std::lock_guard<std::mutex> lock(mutex);
    auto it = cache.find(key);
    if (it != cache.end())
      return it->second;
    using dt = dnnl::memory::data_type;
    auto strides = [](bool transposed, int64_t ld) {
      return transposed ? dnnl::memory::dims{1, ld}
                        : dnnl::memory::dims{ld, 1};
    };
    dnnl::memory::desc a({rows, g.k}, dt::bf16, strides(g.transA, g.a.ld));
    dnnl::memory::desc b({g.k, g.n}, dt::bf16, strides(g.transB, g.b.ld));
    dnnl::memory::desc c({rows, g.n}, dt::f32, strides(false, g.ldc));
    dnnl::primitive_attr attr;
    if (g.accumulate) {
      dnnl::post_ops sum;
      sum.append_sum(1.0f);
      attr.set_post_ops(sum);
    }
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, b, c), attr,
                                    engine);
    return cache.emplace(key, dnnl::matmul(pd)).first->second;
  }

  dnnl::engine engine;
  std::mutex mutex;
  std::map<Key, dnnl::matmul> cache;
};

OneDnn &oneDnn() {
  static OneDnn instance;
  return instance;
}

struct Job {
  const Call *g;
  int64_t entry, parts; // parts < 0: whole entries
};

void oneDnnTask(void *context, int64_t begin, int64_t end) {
  const Job &job = *static_cast<const Job *>(context);
  const Call &g = *job.g;
  for (int64_t p = begin; p < end; ++p) {
    if (job.parts < 0) {
      oneDnn().multiply(g, p, 0, g.m);
      continue;
    }
    int64_t from = g.m * p / job.parts, to = g.m * (p + 1) / job.parts;
    if (from < to)
      oneDnn().multiply(g, job.entry, from, to);
  }
}

/// A part of a cut product does at least this many multiply-adds, as in
/// Blas.cpp.
constexpr int64_t kPartMultiplyAdds = int64_t(1) << 20;

void multiplyOneDnn(const Call &g) {
  if (mstream::rt::inParallelTask()) {
    Job whole{&g, 0, -1};
    oneDnnTask(&whole, 0, g.batch);
    return;
  }
  int threads = mstream::rt::parallelThreads();
  if (g.batch >= threads) {
    Job entries{&g, 0, -1};
    mstream_parallel_for(0, g.batch, oneDnnTask, &entries);
    return;
  }
  int64_t parts = std::max<int64_t>(
      1, std::min<int64_t>({threads, g.m * g.n * g.k / kPartMultiplyAdds,
                            g.m / 16}));
  for (int64_t i = 0; i < g.batch; ++i) {
    Job cut{&g, i, parts};
    mstream_parallel_for(0, parts, oneDnnTask, &cut);
  }
}

#endif // MSTREAM_HAVE_ONEDNN

bool chooseOneDnn() {
  const char *forced = std::getenv("MSTREAM_BF16_GEMM");
#ifdef MSTREAM_HAVE_ONEDNN
  if (forced && std::string(forced) == "onednn")
    return true;
  if (forced && std::string(forced) == "widen")
    return false;
  return oneDnn().hasAmx();
#else
  (void)forced;
  return false;
#endif
}

bool useOneDnn() {
  static const bool chosen = chooseOneDnn();
  return chosen;
}

} // namespace

const char *mstream::rt::bf16GemmKernel() {
  return useOneDnn() ? "onednn" : "widen";
}

extern "C" void mstream_gemm_bf16(int64_t batch, int64_t transA,
                                  int64_t transB, int64_t m, int64_t n,
                                  int64_t k, int64_t a, int64_t lda,
                                  int64_t strideA, int64_t b, int64_t ldb,
                                  int64_t strideB, int64_t c, int64_t ldc,
                                  int64_t strideC, int64_t accumulate) {
  Call g{batch,
         transA,
         transB,
         m,
         n,
         k,
         {reinterpret_cast<const uint16_t *>(a), transA ? k : m,
          transA ? m : k, lda, strideA},
         {reinterpret_cast<const uint16_t *>(b), transB ? n : k,
          transB ? k : n, ldb, strideB},
         reinterpret_cast<float *>(c),
         ldc,
         strideC,
         accumulate};
#ifdef MSTREAM_HAVE_ONEDNN
  if (useOneDnn()) {
    auto start = std::chrono::steady_clock::now();
    multiplyOneDnn(g);
    if (!mstream::rt::inParallelTask())
      mstream::rt::countGemm(
          batch * m * n * k,
          std::chrono::duration_cast<std::chrono::nanoseconds>(
              std::chrono::steady_clock::now() - start)
              .count());
    return;
  }
#endif
  multiplyWidened(g);
}
