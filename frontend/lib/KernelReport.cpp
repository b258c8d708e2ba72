//===- KernelReport.cpp - rendering mstream.kernel_report -----------------===//

#include "mstream/Frontend/KernelReport.h"

#include "mstream/Frontend/Compiler.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Object/ELF.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/JSON.h"

#include <algorithm>
#include <map>

using namespace mlir;

mstream::DevicePeaks mstream::DevicePeaks::h100Sxm() {
  return {"H100 SXM", 3.35e12, 67e12, 989e12, 2e-6};
}

namespace {

// .nv.info records (NVIDIA's EIFMT and EIATTR codes, as cuobjdump names
// them): a format byte (no value, a byte, 2 bytes, or a 16-bit size and that
// many bytes) and an attribute byte. Records stay 4-byte aligned: a byte
// value takes 2 bytes, as a 2-byte one does.
constexpr uint8_t kFormatNone = 0x01;
constexpr uint8_t kFormatByte = 0x02;
constexpr uint8_t kFormatHalf = 0x03;
constexpr uint8_t kFormatSized = 0x04;
constexpr uint8_t kAttrParamSize = 0x19;
constexpr uint8_t kAttrFrameSize = 0x11;
constexpr uint8_t kAttrRegisterCount = 0x2f;

} // namespace

llvm::Expected<llvm::StringMap<mstream::KernelResources>>
mstream::readCubinResources(llvm::StringRef cubin) {
  using ELF = llvm::object::ELF64LE;
  auto file = llvm::object::ELFFile<ELF>::create(cubin);
  if (!file)
    return file.takeError();
  auto sections = file->sections();
  if (!sections)
    return sections.takeError();
  llvm::StringMap<KernelResources> kernels;
  std::vector<std::string> symbolNames;
  for (const ELF::Shdr &section : *sections) {
    if (section.sh_type != llvm::ELF::SHT_SYMTAB)
      continue;
    auto symbols = file->symbols(&section);
    auto strings = file->getStringTableForSymtab(section);
    if (!symbols || !strings)
      return llvm::createStringError("cubin: unreadable symbol table");
    for (const ELF::Sym &symbol : *symbols) {
      auto name = symbol.getName(*strings);
      symbolNames.push_back(name ? name->str() : "");
    }
  }
  for (const ELF::Shdr &section : *sections) {
    auto name = file->getSectionName(section);
    if (!name)
      return name.takeError();
    if (name->consume_front(".nv.shared.")) {
      kernels[*name].sharedBytes = section.sh_size;
      continue;
    }
    // The register counts and frames are in .nv.info, each kernel's
    // parameter size in .nv.info.<kernel>.
    llvm::StringRef kernelName = *name;
    bool perKernel = kernelName.consume_front(".nv.info.");
    if (!perKernel && *name != ".nv.info")
      continue;
    auto contents = file->getSectionContents(section);
    if (!contents)
      return contents.takeError();
    llvm::ArrayRef<uint8_t> data = *contents;
    // Registers and frames are sized records (symbol index, number).
    while (data.size() >= 2) {
      uint8_t format = data[0], attribute = data[1];
      data = data.drop_front(2);
      size_t size = 0;
      if (format == kFormatByte || format == kFormatHalf) {
        size = 2;
      } else if (format != kFormatNone && format != kFormatSized) {
        return llvm::createStringError(
            "cubin: unknown .nv.info record format " + llvm::Twine(format));
      }
      if (format == kFormatSized) {
        if (data.size() < 2)
          break;
        size = llvm::support::endian::read16le(data.data());
        data = data.drop_front(2);
      }
      if (data.size() < size)
        return llvm::createStringError("cubin: truncated .nv.info");
      if (perKernel && format == kFormatHalf && attribute == kAttrParamSize)
        kernels[kernelName].paramBytes =
            llvm::support::endian::read16le(data.data());
      if (size == 8 &&
          (attribute == kAttrRegisterCount || attribute == kAttrFrameSize)) {
        uint32_t symbol = llvm::support::endian::read32le(data.data());
        uint32_t value = llvm::support::endian::read32le(data.data() + 4);
        if (symbol < symbolNames.size()) {
          KernelResources &kernel = kernels[symbolNames[symbol]];
          if (attribute == kAttrRegisterCount)
            kernel.registers = value;
          else
            kernel.frameBytes = value;
        }
      }
      data = data.drop_front(size);
    }
  }
  return kernels;
}

namespace {

int64_t intOf(DictionaryAttr dict, llvm::StringRef key) {
  auto attr = dict.getAs<IntegerAttr>(key);
  return attr ? attr.getInt() : 0;
}

double floatOf(DictionaryAttr dict, llvm::StringRef key) {
  auto attr = dict.getAs<FloatAttr>(key);
  return attr ? attr.getValueAsDouble() : 0;
}

/// One kernel (all its launch sites) or one GEMM shape of an entry.
struct Line {
  std::string name;
  int64_t count = 0;
  std::string grid, block;
  mstream::KernelResources resources;
  double flops = 0, read = 0, written = 0, seconds = 0;
};

struct Entry {
  std::string name;
  std::vector<Line> kernels, library;
  int64_t launches = 0, calls = 0;
  int64_t staged = 0, readback = 0, resident = 0, peak = 0;
  double flops = 0, read = 0, written = 0, kernelSeconds = 0,
         librarySeconds = 0;
};

std::string dims(DictionaryAttr dict, llvm::StringRef key) {
  auto array = dict.getAs<DenseI64ArrayAttr>(key);
  if (!array)
    return "?";
  std::string out;
  for (int64_t n : array.asArrayRef())
    out += (out.empty() ? "" : "x") + std::to_string(n);
  return out;
}

/// cuBLAS's workspace, which the runtime allocates once (runtime/cuda).
constexpr int64_t kBlasWorkspaceBytes = int64_t{32} << 20;

Entry summarize(DictionaryAttr attr,
                const llvm::StringMap<mstream::KernelResources> &resources,
                const mstream::DevicePeaks &peaks) {
  Entry entry;
  entry.name = attr.getAs<StringAttr>("entry").str();
  entry.staged = intOf(attr, "staged_bytes");
  entry.readback = intOf(attr, "readback_bytes");
  entry.resident = intOf(attr, "resident_bytes");
  entry.peak = intOf(attr, "peak_bytes") + kBlasWorkspaceBytes;
  auto roofline = [&](double flops, double bytes, double flopsPerSecond) {
    return std::max({peaks.launchSeconds, bytes / peaks.memoryBytesPerSecond,
                     flops / flopsPerSecond});
  };
  std::map<std::string, Line> kernels, library;
  for (auto site :
       attr.getAs<ArrayAttr>("kernels").getAsRange<DictionaryAttr>()) {
    std::string name = site.getAs<StringAttr>("kernel").str();
    int64_t launches = intOf(site, "launches");
    Line &line = kernels[name];
    line.name = name;
    std::string grid = dims(site, "grid"), block = dims(site, "block");
    // One kernel launched with several grids (rare) shows the first.
    if (line.count == 0) {
      line.grid = grid;
      line.block = block;
      auto found = resources.find(name);
      if (found != resources.end())
        line.resources = found->second;
      line.resources.sharedBytes += intOf(site, "dynamic_shared_bytes");
    }
    double flops = floatOf(site, "flops"), read = floatOf(site, "read_bytes"),
           written = floatOf(site, "written_bytes");
    line.count += launches;
    line.flops += launches * flops;
    line.read += launches * read;
    line.written += launches * written;
    line.seconds +=
        launches * roofline(flops, read + written, peaks.fp32FlopsPerSecond);
  }
  for (auto site :
       attr.getAs<ArrayAttr>("library").getAsRange<DictionaryAttr>()) {
    bool bf16 = intOf(site, "operand_bytes") == 2;
    std::string name =
        (llvm::Twine(bf16 ? "gemm_bf16 " : "sgemm ") +
         llvm::Twine(intOf(site, "m")) + "x" + llvm::Twine(intOf(site, "n")) +
         "x" + llvm::Twine(intOf(site, "k")) + " batch " +
         llvm::Twine(intOf(site, "batch")))
            .str();
    int64_t calls = intOf(site, "calls");
    Line &line = library[name];
    line.name = name;
    double flops = floatOf(site, "flops"), read = floatOf(site, "read_bytes"),
           written = floatOf(site, "written_bytes");
    line.count += calls;
    line.flops += calls * flops;
    line.read += calls * read;
    line.written += calls * written;
    line.seconds += calls * roofline(flops, read + written,
                                     bf16 ? peaks.bf16TensorFlopsPerSecond
                                          : peaks.fp32FlopsPerSecond);
  }
  auto collect = [&](std::map<std::string, Line> &lines, std::vector<Line> &out,
                     int64_t &count, double &seconds) {
    for (auto &[name, line] : lines) {
      count += line.count;
      seconds += line.seconds;
      entry.flops += line.flops;
      entry.read += line.read;
      entry.written += line.written;
      out.push_back(line);
    }
    std::stable_sort(out.begin(), out.end(), [](const Line &a, const Line &b) {
      return a.seconds > b.seconds;
    });
  };
  collect(kernels, entry.kernels, entry.launches, entry.kernelSeconds);
  collect(library, entry.library, entry.calls, entry.librarySeconds);
  return entry;
}

void printText(const std::vector<Entry> &entries,
               const mstream::DevicePeaks &peaks, llvm::raw_ostream &os) {
  auto mb = [](double bytes) { return bytes / 1e6; };
  for (const Entry &e : entries) {
    os << "kernel report: " << e.name << " (roofline on an " << peaks.name
       << ": " << llvm::format("%.2f", peaks.memoryBytesPerSecond / 1e12)
       << " TB/s, " << llvm::format("%.0f", peaks.fp32FlopsPerSecond / 1e12)
       << " TFLOP/s fp32, "
       << llvm::format("%.0f", peaks.bf16TensorFlopsPerSecond / 1e12)
       << " TFLOP/s bf16 tensor cores, at least "
       << llvm::format("%.0f", peaks.launchSeconds * 1e6)
       << " us per launch)\n";
    os << llvm::format("  per call: %lld kernel launches (%zu kernels), %lld "
                       "library calls, %.1f GFLOP, %.1f MB read, %.1f MB "
                       "written\n",
                       static_cast<long long>(e.launches), e.kernels.size(),
                       static_cast<long long>(e.calls), e.flops / 1e9,
                       mb(e.read), mb(e.written));
    os << llvm::format("  host to device %lld bytes (token batches, scalars), "
                       "device to host %lld bytes (scalar outputs), resident "
                       "%.1f MB, peak device memory %.1f MB\n",
                       static_cast<long long>(e.staged),
                       static_cast<long long>(e.readback), mb(e.resident),
                       mb(e.peak));
    os << llvm::format("  estimated time per call: %.3f ms (kernels %.3f ms, "
                       "library %.3f ms)\n",
                       (e.kernelSeconds + e.librarySeconds) * 1e3,
                       e.kernelSeconds * 1e3, e.librarySeconds * 1e3);
    os << llvm::format("  %-34s %8s %12s %9s %5s %6s %6s %6s %9s %9s %9s %9s\n",
                       "kernel", "launches", "grid", "block", "regs", "smem",
                       "frame", "param", "GFLOP", "read MB", "write MB",
                       "est. ms");
    for (const Line &k : e.kernels)
      os << llvm::format(
          "  %-34s %8lld %12s %9s %5d %6lld %6lld %6lld %9.3f %9.2f %9.2f "
          "%9.4f\n",
          k.name.c_str(), static_cast<long long>(k.count), k.grid.c_str(),
          k.block.c_str(), k.resources.registers,
          static_cast<long long>(k.resources.sharedBytes),
          static_cast<long long>(k.resources.frameBytes),
          static_cast<long long>(k.resources.paramBytes), k.flops / 1e9,
          mb(k.read), mb(k.written), k.seconds * 1e3);
    os << llvm::format("  %-34s %8s %9s %9s %9s %9s\n", "library call", "calls",
                       "GFLOP", "read MB", "write MB", "est. ms");
    for (const Line &l : e.library)
      os << llvm::format("  %-34s %8lld %9.3f %9.2f %9.2f %9.4f\n",
                         l.name.c_str(), static_cast<long long>(l.count),
                         l.flops / 1e9, mb(l.read), mb(l.written),
                         l.seconds * 1e3);
  }
}

void printJson(const std::vector<Entry> &entries,
               const mstream::DevicePeaks &peaks, llvm::raw_ostream &os) {
  llvm::json::Array out;
  auto line = [](const Line &l, bool kernel) {
    llvm::json::Object o{{"name", l.name},
                         {kernel ? "launches" : "calls", l.count},
                         {"flops", l.flops},
                         {"read_bytes", l.read},
                         {"written_bytes", l.written},
                         {"estimated_seconds", l.seconds}};
    if (kernel) {
      o["grid"] = l.grid;
      o["block"] = l.block;
      o["registers"] = l.resources.registers;
      o["shared_bytes"] = l.resources.sharedBytes;
      o["frame_bytes"] = l.resources.frameBytes;
      o["param_bytes"] = l.resources.paramBytes;
    }
    return o;
  };
  for (const Entry &e : entries) {
    llvm::json::Array kernels, library;
    for (const Line &k : e.kernels)
      kernels.push_back(line(k, true));
    for (const Line &l : e.library)
      library.push_back(line(l, false));
    out.push_back(llvm::json::Object{
        {"entry", e.name},
        {"launches", e.launches},
        {"kernel_count", static_cast<int64_t>(e.kernels.size())},
        {"library_calls", e.calls},
        {"flops", e.flops},
        {"read_bytes", e.read},
        {"written_bytes", e.written},
        {"host_to_device_bytes", e.staged},
        {"device_to_host_bytes", e.readback},
        {"resident_bytes", e.resident},
        {"peak_device_bytes", e.peak},
        {"estimated_seconds", e.kernelSeconds + e.librarySeconds},
        {"kernels", std::move(kernels)},
        {"library", std::move(library)}});
  }
  llvm::json::Object report{
      {"device",
       llvm::json::Object{
           {"name", peaks.name},
           {"memory_bytes_per_second", peaks.memoryBytesPerSecond},
           {"fp32_flops_per_second", peaks.fp32FlopsPerSecond},
           {"bf16_tensor_flops_per_second", peaks.bf16TensorFlopsPerSecond},
           {"launch_seconds", peaks.launchSeconds}}},
      {"entries", std::move(out)}};
  os << llvm::formatv("{0:2}", llvm::json::Value(std::move(report))) << "\n";
}

} // namespace

llvm::Error mstream::printKernelReport(ModuleOp lowered, bool json,
                                       llvm::raw_ostream &os,
                                       const DevicePeaks &peaks) {
  auto report = lowered->getAttrOfType<ArrayAttr>("mstream.kernel_report");
  if (!report)
    return llvm::createStringError(
        "the module has no mstream.kernel_report (lower it with "
        "mstream-cuda-pipeline{kernel-report=true})");
  auto cubin = extractCubin(lowered);
  if (!cubin)
    return cubin.takeError();
  auto resources = readCubinResources(*cubin);
  if (!resources)
    return resources.takeError();
  std::vector<Entry> entries;
  for (auto entry : report.getAsRange<DictionaryAttr>())
    entries.push_back(summarize(entry, *resources, peaks));
  if (json)
    printJson(entries, peaks, os);
  else
    printText(entries, peaks, os);
  return llvm::Error::success();
}
