//===- OneDnn.cpp - products on oneDNN's matmul, on the runtime's pool ---===//

#include "OneDnn.h"

#include "mstream/Runtime/Parallel.h"

#ifdef MSTREAM_HAVE_ONEDNN

#include <algorithm>
#include <map>
#include <mutex>
#include <omp.h>
#include <oneapi/dnnl/dnnl.hpp>
#include <tuple>

namespace {

using dt = dnnl::memory::data_type;

dnnl::memory::desc matrix(int64_t rows, int64_t cols, bool transposed,
                          int64_t ld, dt type) {
  return dnnl::memory::desc({rows, cols}, type,
                            transposed ? dnnl::memory::dims{1, ld}
                                       : dnnl::memory::dims{ld, 1});
}

using Key = std::tuple<int64_t, int64_t, int64_t, bool, bool, int64_t, int64_t,
                       int64_t, bool>;

/// One primitive per shape: creating one compiles its kernel
/// (milliseconds); a step reuses a few dozen shapes.
class Primitives {
public:
  Primitives() : engine(dnnl::engine::kind::cpu, 0) {}

  /// Rows [begin, end) of entry i's C, or its columns when `columns`, on
  /// the calling thread.
  void run(const mstream::rt::onednn::Gemm &g, int64_t i, bool columns,
           int64_t begin, int64_t end) {
    static thread_local bool single = (omp_set_num_threads(1), true);
    (void)single;
    static thread_local dnnl::stream stream(engine);
    int64_t rows = columns ? g.m : end - begin;
    int64_t cols = columns ? end - begin : g.n;
    dt type = dt::bf16;
    size_t bytes = 2;
    int64_t aOffset = i * g.strideA, bOffset = i * g.strideB;
    float *c = g.c + i * g.strideC;
    if (columns) {
      bOffset += g.transB ? begin * g.ldb : begin;
      c += begin;
    } else {
      aOffset += g.transA ? begin : begin * g.lda;
      c += begin * g.ldc;
    }
    auto *a = static_cast<const char *>(g.a) + bytes * aOffset;
    auto *b = static_cast<const char *>(g.b) + bytes * bOffset;
    dnnl::memory lhs(matrix(rows, g.k, g.transA, g.lda, type), engine,
                     const_cast<char *>(a));
    dnnl::memory rhs(matrix(g.k, cols, g.transB, g.ldb, type), engine,
                     const_cast<char *>(b));
    dnnl::memory out(matrix(rows, cols, false, g.ldc, dt::f32), engine, c);
    primitive(g, rows, cols)
        .execute(stream, {{DNNL_ARG_SRC, lhs},
                          {DNNL_ARG_WEIGHTS, rhs},
                          {DNNL_ARG_DST, out}});
    stream.wait();
  }

  dnnl::engine engine;

private:
  dnnl::matmul &primitive(const mstream::rt::onednn::Gemm &g, int64_t rows,
                          int64_t cols) {
    Key key{rows,  cols,  g.k,   g.transA,    g.transB,
            g.lda, g.ldb, g.ldc, g.accumulate};
    std::lock_guard<std::mutex> lock(mutex);
    auto it = cache.find(key);
    if (it != cache.end())
      return it->second;
    dt type = dt::bf16;
    dnnl::primitive_attr attr;
    if (g.accumulate) {
      dnnl::post_ops sum;
      sum.append_sum(1.0f);
      attr.set_post_ops(sum);
    }
    dnnl::matmul::primitive_desc pd(
        dnnl::matmul::desc(matrix(rows, g.k, g.transA, g.lda, type),
                           matrix(g.k, cols, g.transB, g.ldb, type),
                           matrix(rows, cols, false, g.ldc, dt::f32)),
        attr, engine);
    return cache.emplace(key, dnnl::matmul(pd)).first->second;
  }

  std::mutex mutex;
  std::map<Key, dnnl::matmul> cache;
};

Primitives &primitives() {
  static Primitives instance;
  return instance;
}

struct Job {
  const mstream::rt::onednn::Gemm *g;
  int64_t entry, parts; // parts < 0: whole entries
  bool columns;         // cut C's columns, else its rows
};

void runJob(void *context, int64_t begin, int64_t end) {
  const Job &job = *static_cast<const Job *>(context);
  const mstream::rt::onednn::Gemm &g = *job.g;
  for (int64_t p = begin; p < end; ++p) {
    if (job.parts < 0) {
      primitives().run(g, p, false, 0, g.m);
      continue;
    }
    int64_t size = job.columns ? g.n : g.m;
    int64_t from = size * p / job.parts, to = size * (p + 1) / job.parts;
    if (from < to)
      primitives().run(g, job.entry, job.columns, from, to);
  }
}

/// A part of a cut product does at least this many multiply-adds, as in
/// Blas.cpp, and at least 16 rows or columns (a register block of oneDNN's
/// kernels).
constexpr int64_t kPartMultiplyAdds = int64_t(1) << 20;
constexpr int64_t kPartRows = 16;

} // namespace

bool mstream::rt::onednn::available() { return true; }

bool mstream::rt::onednn::hasAmx() {
  return dnnl::get_effective_cpu_isa() >= dnnl::cpu_isa::avx512_core_amx;
}

void mstream::rt::onednn::multiply(const Gemm &g) {
  if (inParallelTask()) {
    Job whole{&g, 0, -1, false};
    runJob(&whole, 0, g.batch);
    return;
  }
  int threads = parallelThreads();
  if (g.batch >= threads) {
    Job entries{&g, 0, -1, false};
    mstream_parallel_for(0, g.batch, runJob, &entries);
    return;
  }
  // Along C's longer side, as Blas.cpp cuts OpenBLAS's products.
  bool columns = g.n > g.m;
  int64_t parts = std::max<int64_t>(
      1, std::min<int64_t>({threads, g.m * g.n * g.k / kPartMultiplyAdds,
                            std::max(g.m, g.n) / kPartRows}));
  for (int64_t i = 0; i < g.batch; ++i) {
    Job cut{&g, i, parts, columns};
    mstream_parallel_for(0, parts, runJob, &cut);
  }
}

#else

#include <cstdlib>

bool mstream::rt::onednn::available() { return false; }
bool mstream::rt::onednn::hasAmx() { return false; }
void mstream::rt::onednn::multiply(const Gemm &) { std::abort(); }

#endif // MSTREAM_HAVE_ONEDNN
