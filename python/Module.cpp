//===- Module.cpp - the mstream._mstream extension module -----------------===//
//
// A thin pybind11 layer over the compiler (Frontend/ModelDefinition.h) and the
// runtime (Program, Trainer, safetensors): numpy arrays in and out, Status
// errors raised as mstream.Error with the compiler's located message.
// Parameters and optimizer state stay in C++ (`Tensors`) between calls. The
// Python API proper is mstream/__init__.py.
//
//===----------------------------------------------------------------------===//

#include "mstream/Frontend/ModelDefinition.h"
#include "mstream/Runtime/Blas.h"
#include "mstream/Runtime/BlasCore.h"
#include "mstream/Runtime/Checkpoint.h"
#include "mstream/Runtime/Files.h"
#include "mstream/Runtime/GemmCounters.h"
#include "mstream/Runtime/Params.h"
#include "mstream/Runtime/Program.h"
#include "mstream/Runtime/Safetensors.h"
#include "mstream/Runtime/Trainer.h"

#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <stdexcept>

namespace py = pybind11;
using namespace mstream;

namespace {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void check(const absl::Status &status) {
  if (!status.ok())
    throw Error(std::string(status.message()));
}

template <typename T> T take(absl::StatusOr<T> value) {
  check(value.status());
  return std::move(*value);
}

rt::Tensor toTensor(const py::handle &object, rt::DType dtype,
                    const std::string &name) {
  rt::Tensor tensor;
  tensor.dtype = dtype;
  auto copy = [&](auto array) {
    for (py::ssize_t i = 0; i < array.ndim(); ++i)
      tensor.shape.push_back(array.shape(i));
    tensor.host().resize(array.size());
    std::memcpy(tensor.host().data(), array.data(), array.size() * 4);
  };
  try {
    if (dtype == rt::DType::F32)
      copy(
          py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(
              object));
    else
      copy(py::array_t<int32_t, py::array::c_style |
                                    py::array::forcecast>::ensure(object));
  } catch (const py::error_already_set &) {
    throw Error(name + ": expected an array");
  }
  if (!tensor.host().data() && tensor.numElements() != 0)
    throw Error(name + ": expected an array");
  return tensor;
}

py::array toArray(const rt::Tensor &tensor) {
  std::vector<py::ssize_t> shape(tensor.shape.begin(), tensor.shape.end());
  if (tensor.dtype == rt::DType::F32) {
    py::array_t<float> array(shape);
    std::memcpy(array.mutable_data(), tensor.host().data(),
                tensor.host().size() * 4);
    return array;
  }
  py::array_t<int32_t> array(shape);
  std::memcpy(array.mutable_data(), tensor.host().data(),
              tensor.host().size() * 4);
  return array;
}

py::list toArrays(const std::vector<rt::Tensor> &tensors) {
  py::list out;
  for (const rt::Tensor &t : tensors)
    out.append(toArray(t));
  return out;
}

std::vector<rt::Tensor> toTensors(const py::list &arrays,
                                  const std::string &what) {
  std::vector<rt::Tensor> out;
  for (const py::handle &array : arrays)
    out.push_back(toTensor(array, rt::DType::F32, what));
  return out;
}

/// Parameters or optimizer state held by the runtime between calls: a train
/// step replaces them with its outputs instead of converting every tensor
/// from numpy and back (300 MB a step for tmm at d=512, 50 ms of 1.8 s).
struct Tensors {
  std::vector<rt::Tensor> list;
};

py::list describeArgs(const std::vector<rt::ArgSpec> &args) {
  py::list out;
  for (const rt::ArgSpec &arg : args)
    out.append(py::make_tuple(arg.name, rt::dtypeName(arg.dtype), arg.shape));
  return out;
}

py::list describeParams(const std::vector<ParamSpec> &table) {
  py::list out;
  for (const ParamSpec &spec : table)
    out.append(
        py::make_tuple(spec.name, spec.shape, paramGroupName(spec.group)));
  return out;
}

CompileRequest request(int64_t batch, int64_t seq, bool gradients, bool train,
                       const std::string &recipe, double maxNorm,
                       const std::string &target, const std::string &chip,
                       bool fuse, const std::string &hostCpu,
                       const std::string &precision) {
  CompileRequest request;
  request.target = target;
  request.chip = chip;
  request.batch = batch;
  request.seq = seq;
  request.gradients = gradients;
  request.train = train;
  request.optimizer = {recipe, maxNorm};
  request.fuse = fuse;
  request.hostCpu = hostCpu;
  request.precision = precision;
  return request;
}

/// Runs `entry` on arrays; inputs take the entry's dtypes.
py::list run(rt::Program &program, const std::string &entry,
             const py::list &inputs, Tensors &params) {
  const rt::EntrySpec *spec = program.manifest().findEntry(entry);
  if (!spec)
    throw Error("the artifact has no entry point '" + entry + "'");
  if (inputs.size() != spec->inputs.size())
    throw Error("entry '" + entry + "' takes " +
                std::to_string(spec->inputs.size()) + " inputs, got " +
                std::to_string(inputs.size()));
  std::vector<rt::Tensor> in;
  for (size_t i = 0; i < inputs.size(); ++i)
    in.push_back(
        toTensor(inputs[i], spec->inputs[i].dtype, spec->inputs[i].name));
  std::vector<const rt::Tensor *> pointers;
  for (const rt::Tensor &t : in)
    pointers.push_back(&t);
  std::vector<rt::Tensor> out;
  {
    py::gil_scoped_release release;
    out = take(program.run(entry, pointers, params.list));
  }
  return toArrays(out);
}

/// The Trainer's options; learning rates default to the artifact's recipe.
rt::TrainOptions trainOptions(const rt::Program &program, const py::dict &d) {
  rt::TrainOptions o;
  o.lr = rt::peakLearningRates(program.manifest().optimizerValue("recipe"));
  auto get = [&](const char *key, auto &slot) {
    if (d.contains(key))
      slot = d[key].cast<std::decay_t<decltype(slot)>>();
  };
  get("data", o.dataDir);
  get("out", o.outDir);
  get("steps", o.schedule.steps);
  get("warmup", o.schedule.warmup);
  get("decay_start", o.schedule.decayStart);
  std::string schedule = "cosine";
  get("schedule", schedule);
  check(rt::parseScheduleKind(schedule, o.schedule.kind));
  get("lr_matrix", o.lr.matrix);
  get("lr_embedding", o.lr.embedding);
  get("lr_ln", o.lr.ln);
  get("lr_scalar", o.lr.scalar);
  get("eval_every", o.evalEvery);
  get("val_batches", o.valBatches);
  get("log_every", o.logEvery);
  get("checkpoint_every", o.checkpointEvery);
  get("seed", o.seed);
  get("resume", o.resume);
  get("stop_at", o.stopAt);
  get("config_text", o.configText);
  if (d.contains("params"))
    o.initialParams = d["params"].cast<const Tensors &>().list;
  return o;
}

/// One train_step: replaces `params` and `state` with their updated values
/// (unchanged on error); returns (loss, grad_norm).
py::tuple trainStep(rt::Program &program, const py::handle &tokens,
                    const py::handle &targets, const py::dict &lr, int64_t step,
                    Tensors &state, Tensors &params) {
  rt::Tensor x = toTensor(tokens, rt::DType::I32, "tokens");
  rt::Tensor y = toTensor(targets, rt::DType::I32, "targets");
  rt::LearningRates rates;
  for (auto [name, slot] :
       {std::pair{"matrix", &rates.matrix},
        std::pair{"embedding", &rates.embedding}, std::pair{"ln", &rates.ln},
        std::pair{"scalar", &rates.scalar}}) {
    if (!lr.contains(name))
      throw Error(std::string("lr needs a rate for group '") + name + "'");
    *slot = lr[name].cast<double>();
  }
  rt::StepOutputs out;
  {
    py::gil_scoped_release release;
    out = take(
        rt::runTrainStep(program, x, y, rates, step, state.list, params.list));
  }
  return py::make_tuple(out.loss, out.gradNorm);
}

/// The compiler: a model definition's parameters, IR and artifacts.
void bindDefinition(py::module_ &m) {
  py::class_<ModelDefinition>(m, "Definition")
      .def_static(
          "parse",
          [](const std::string &text, const std::string &source) {
            return take(ModelDefinition::parse(text, source));
          },
          py::arg("text"), py::arg("source"))
      .def_property_readonly("text", &ModelDefinition::text)
      .def("params",
           [](const ModelDefinition &d) { return describeParams(d.params()); })
      .def_static("phases", &ModelDefinition::phases)
      .def(
          "ir",
          [](const ModelDefinition &d, const std::string &phase, int64_t batch,
             int64_t seq, bool gradients, bool train, const std::string &recipe,
             double maxNorm, const std::string &target, const std::string &chip,
             bool fuse, const std::string &hostCpu,
             const std::string &precision) {
            return take(d.ir(phase, request(batch, seq, gradients, train,
                                            recipe, maxNorm, target, chip, fuse,
                                            hostCpu, precision)));
          },
          py::arg("phase"), py::arg("batch"), py::arg("seq"),
          py::arg("gradients"), py::arg("train"), py::arg("recipe"),
          py::arg("max_norm"), py::arg("target") = "cpu",
          py::arg("chip") = "sm_90", py::arg("fuse") = true,
          py::arg("host_cpu") = "portable", py::arg("precision") = "fp32")
      .def(
          "compile",
          [](const ModelDefinition &d, int64_t batch, int64_t seq,
             bool gradients, bool train, const std::string &recipe,
             double maxNorm, const std::string &target, const std::string &chip,
             bool fuse, const std::string &hostCpu,
             const std::string &precision) {
            std::string bytes;
            {
              py::gil_scoped_release release;
              bytes = take(d.compile(request(batch, seq, gradients, train,
                                             recipe, maxNorm, target, chip,
                                             fuse, hostCpu, precision)));
            }
            return py::bytes(bytes);
          },
          py::arg("batch"), py::arg("seq"), py::arg("gradients"),
          py::arg("train"), py::arg("recipe"), py::arg("max_norm"),
          py::arg("target") = "cpu", py::arg("chip") = "sm_90",
          py::arg("fuse") = true, py::arg("host_cpu") = "portable",
          py::arg("precision") = "fp32");
}

/// Lists of tensors that stay in C++ between calls.
void bindTensors(py::module_ &m) {
  py::class_<Tensors>(m, "Tensors")
      .def(py::init([](const py::list &arrays, const std::string &what) {
             return Tensors{toTensors(arrays, what)};
           }),
           py::arg("arrays"), py::arg("what"))
      .def("arrays", [](const Tensors &t) { return toArrays(t.list); })
      .def("__len__", [](const Tensors &t) { return t.list.size(); });
}

/// A loaded artifact: its manifest and entry points.
void bindProgram(py::module_ &m) {
  py::class_<rt::Program>(m, "Program")
      .def_static(
          "from_bytes",
          [](const py::bytes &bytes, const std::string &name) {
            return take(rt::Program::fromBytes(std::string(bytes), name));
          },
          py::arg("bytes"), py::arg("name"))
      .def_static(
          "load",
          [](const std::string &path) { return take(rt::Program::load(path)); },
          py::arg("path"))
      .def_property_readonly(
          "batch", [](const rt::Program &p) { return p.manifest().batch; })
      .def_property_readonly(
          "seq", [](const rt::Program &p) { return p.manifest().seq; })
      .def_property_readonly("host_isa",
                             [](const rt::Program &p) { return p.hostIsa(); })
      .def_property_readonly(
          "precision",
          [](const rt::Program &p) { return p.manifest().precision; })
      .def_property_readonly("chip",
                             [](const rt::Program &p) {
                               return rt::cudaChipOf(p.manifest().target);
                             })
      .def_property_readonly(
          "model", [](const rt::Program &p) { return p.manifest().model; })
      .def_property_readonly(
          "optimizer",
          [](const rt::Program &p) { return p.manifest().optimizer; })
      .def("params",
           [](const rt::Program &p) {
             return describeParams(p.manifest().params);
           })
      .def("entries",
           [](const rt::Program &p) {
             py::dict out;
             for (const rt::EntrySpec &e : p.manifest().entries)
               out[py::str(e.name)] = py::make_tuple(describeArgs(e.inputs),
                                                     describeArgs(e.outputs));
             return out;
           })
      .def_property_readonly("on_device", &rt::Program::onDevice)
      .def("last_call",
           [](const rt::Program &p) {
             rt::CallCounters c = p.lastCall();
             py::dict out;
             out["entry"] = c.entry;
             out["input_bytes_to_device"] = c.inputBytesToDevice;
             out["resident_bytes_to_device"] = c.residentBytesToDevice;
             out["bytes_to_host"] = c.bytesToHost;
             out["launches"] = c.launches;
             out["library_calls"] = c.libraryCalls;
             out["graph_replay"] = c.graphReplay;
             return out;
           })
      .def("run", &run, py::arg("entry"), py::arg("inputs"), py::arg("params"))
      .def("train_step", &trainStep, py::arg("tokens"), py::arg("targets"),
           py::arg("lr"), py::arg("step"), py::arg("state"), py::arg("params"))
      .def("zero_optimizer_state",
           [](const rt::Program &p) {
             return Tensors{rt::zeroOptimizerState(p.manifest())};
           })
      .def(
          "init_params",
          [](const rt::Program &p, uint64_t seed) {
            Tensors out;
            for (auto &[name, tensor] :
                 rt::initParams(p.manifest().params, seed))
              out.list.push_back(std::move(tensor));
            return out;
          },
          py::arg("seed"));
}

/// The training loop and the recipe's learning rates.
void bindTraining(py::module_ &m) {
  m.def(
      "train",
      [](rt::Program &program, const py::dict &options,
         const std::function<void(py::dict)> &callback) {
        rt::TrainOptions o = trainOptions(program, options);
        if (callback)
          o.onStep = [&](const rt::StepReport &r) {
            py::dict report;
            report["step"] = r.step;
            report["loss"] = r.loss;
            report["lr_multiplier"] = r.lrMultiplier;
            report["grad_norm"] = r.gradNorm;
            report["ms_per_step"] = r.msPerStep;
            report["tokens_per_second"] = r.tokensPerSecond;
            if (r.evaluated)
              report["val_loss"] = r.valLoss;
            callback(report);
          };
        Tensors params;
        check(rt::train(program, o, &params.list));
        return params;
      },
      py::arg("program"), py::arg("options"), py::arg("callback") = nullptr);

  m.def(
      "peak_learning_rates",
      [](const std::string &recipe) {
        rt::LearningRates lr = rt::peakLearningRates(recipe);
        return std::map<std::string, double>{{"matrix", lr.matrix},
                                             {"embedding", lr.embedding},
                                             {"ln", lr.ln},
                                             {"scalar", lr.scalar}};
      },
      py::arg("recipe"));
}

/// The runtime's counters and file formats.
void bindUtilities(py::module_ &m) {
  m.def("blas_core", [] { return rt::blasCore(); });
  m.def("bf16_gemm_kernel", [] { return std::string(rt::bf16GemmKernel()); });
  m.def("gemm_counters", [] {
    rt::GemmCounters counters = rt::gemmCounters();
    py::dict out;
    out["calls"] = counters.calls;
    out["multiply_adds"] = counters.multiplyAdds;
    out["seconds"] = counters.seconds;
    return out;
  });
  m.def(
      "read_safetensors",
      [](const std::string &path) {
        py::dict out;
        for (const auto &[name, tensor] : take(rt::readSafetensors(path)))
          out[py::str(name)] = toArray(tensor);
        return out;
      },
      py::arg("path"));
  m.def(
      "write_safetensors",
      [](const std::string &path, const py::dict &tensors) {
        rt::NamedTensors named;
        for (auto [key, value] : tensors) {
          std::string name = key.cast<std::string>();
          named.emplace_back(name, toTensor(value, rt::DType::F32, name));
        }
        check(rt::writeSafetensors(path, named));
      },
      py::arg("path"), py::arg("tensors"));
  m.def(
      "write_file",
      [](const std::string &path, const py::bytes &bytes) {
        check(rt::writeFileAtomically(path, std::string(bytes)));
      },
      py::arg("path"), py::arg("bytes"));
}

} // namespace

PYBIND11_MODULE(_mstream, m) {
  m.doc() = "mstream's compiler and runtime (use the mstream package)";
  py::register_exception<Error>(m, "Error", PyExc_ValueError);
  bindDefinition(m);
  bindTensors(m);
  bindProgram(m);
  bindTraining(m);
  bindUtilities(m);
}
