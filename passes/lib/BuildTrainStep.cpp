//===- BuildTrainStep.cpp - the mstream-build-train-step pass -------------===//

#include "mstream/Dialect/MStreamOps.h"
#include "mstream/Passes/Passes.h"

namespace mstream {
#define GEN_PASS_DEF_BUILDTRAINSTEP
#include "mstream/Passes/Passes.h.inc"
} // namespace mstream

using namespace mlir;

namespace {

/// The runtime scalars after tokens and targets, in argument order.
constexpr llvm::StringLiteral kScalarInputs[] = {"lr.matrix", "lr.embedding",
                                                 "lr.ln", "lr.scalar", "step"};

/// One parameter with its gradient and optimizer state.
struct Slot {
  StringAttr name;
  StringRef group;
  Type type;
  unsigned paramIndex;
  Value grad;
  /// exp_avg, exp_avg_sq (AdamW) or momentum_buffer (Muon).
  SmallVector<Value, 2> state;
  SmallVector<Value, 2> newState;
  Value newParam;
};

struct BuildTrainStepPass
    : mstream::impl::BuildTrainStepBase<BuildTrainStepPass> {
  using BuildTrainStepBase::BuildTrainStepBase;

  void runOnOperation() override {
    if (failed(build()))
      signalPassFailure();
  }

  bool usesMuon(StringRef group) const {
    return recipe == "hybrid" && group == "matrix";
  }

  LogicalResult build() {
    ModuleOp module = getOperation();
    if (recipe != "hybrid" && recipe != "adamw")
      return module.emitError("mstream-build-train-step: unknown recipe '")
             << recipe << "' (expected hybrid or adamw)";
    auto grads = module.lookupSymbol<func::FuncOp>(mstream::kLossAndGradsName);
    if (!grads)
      return module.emitError("mstream-build-train-step: no '")
             << mstream::kLossAndGradsName
             << "' function (run mstream-autodiff first)";
    if (module.lookupSymbol(mstream::kTrainStepName))
      return module.emitError("mstream-build-train-step: '")
             << mstream::kTrainStepName << "' exists already";

    // loss_and_grads(tokens, targets, params...): collect the parameters.
    FunctionType gradsType = grads.getFunctionType();
    SmallVector<Slot> slots;
    for (unsigned i = 0; i < gradsType.getNumInputs(); ++i) {
      auto name =
          grads.getArgAttrOfType<StringAttr>(i, mstream::kParamAttrName);
      if (!name) {
        if (!slots.empty())
          return grads.emitError("mstream-build-train-step: data argument #")
                 << i << " follows the parameters";
        continue;
      }
      auto group =
          grads.getArgAttrOfType<StringAttr>(i, mstream::kGroupAttrName);
      if (!group || !llvm::is_contained({"scalar", "ln", "embedding", "matrix"},
                                        group.getValue()))
        return grads.emitError("mstream-build-train-step: parameter '")
               << name.getValue()
               << "' needs an mstream.group of scalar, ln, embedding or "
                  "matrix";
      slots.push_back({name, group.getValue(), gradsType.getInput(i), i});
    }
    unsigned numData =
        slots.empty() ? gradsType.getNumInputs() : slots.front().paramIndex;
    if (gradsType.getNumResults() != 1 + slots.size())
      return grads.emitError("mstream-build-train-step: expected the loss "
                             "and one gradient per parameter");

    OpBuilder b(module.getContext());
    Location loc = grads.getLoc();
    auto scalar = RankedTensorType::get({}, b.getF32Type());
    auto named = [&](StringRef attr, StringRef value) {
      return b.getDictionaryAttr(b.getNamedAttr(attr, b.getStringAttr(value)));
    };

    // Signature: data, scalars, state in parameter order, parameters.
    SmallVector<Type> inputs;
    SmallVector<Attribute> inputAttrs;
    for (unsigned i = 0; i < numData; ++i) {
      inputs.push_back(gradsType.getInput(i));
      inputAttrs.push_back(grads.getArgAttrDict(i));
    }
    for (StringRef name : kScalarInputs) {
      inputs.push_back(scalar);
      inputAttrs.push_back(named(mstream::kInputAttrName, name));
    }
    static constexpr StringRef kMuonState[] = {"momentum_buffer"};
    static constexpr StringRef kAdamWState[] = {"exp_avg", "exp_avg_sq"};
    SmallVector<std::string> stateNames;
    for (const Slot &slot : slots)
      for (StringRef suffix : usesMuon(slot.group) ? ArrayRef(kMuonState)
                                                   : ArrayRef(kAdamWState)) {
        stateNames.push_back((slot.name.getValue() + "." + suffix).str());
        inputs.push_back(slot.type);
        inputAttrs.push_back(named(mstream::kStateAttrName, stateNames.back()));
      }
    for (const Slot &slot : slots) {
      inputs.push_back(slot.type);
      inputAttrs.push_back(grads.getArgAttrDict(slot.paramIndex));
    }

    b.setInsertionPointAfter(grads);
    auto step = func::FuncOp::create(b, loc, mstream::kTrainStepName,
                                     b.getFunctionType(inputs, {}));
    step.setAllArgAttrs(inputAttrs);
    Block *body = step.addEntryBlock();
    b.setInsertionPointToStart(body);
    ValueRange args = body->getArguments();
    ValueRange scalars = args.slice(numData, std::size(kScalarInputs));
    ValueRange stateArgs =
        args.slice(numData + scalars.size(), stateNames.size());
    ValueRange params = args.take_back(slots.size());
    unsigned nextState = 0;
    for (auto [slot, param] : llvm::zip_equal(slots, params)) {
      unsigned count = usesMuon(slot.group) ? 1 : 2;
      slot.state.assign(stateArgs.begin() + nextState,
                        stateArgs.begin() + nextState + count);
      nextState += count;
    }

    SmallVector<Value> callArgs(args.take_front(numData));
    callArgs.append(params.begin(), params.end());
    auto call = func::CallOp::create(b, loc, grads, callArgs);
    SmallVector<Value> gradValues;
    for (auto [slot, grad] :
         llvm::zip_equal(slots, call.getResults().drop_front())) {
      slot.grad = grad;
      gradValues.push_back(grad);
    }
    auto clip = mstream::ClipByGlobalNormOp::create(
        b, loc, scalar, scalar, gradValues, b.getF64FloatAttr(maxNorm));

    Value stepCount = scalars[4];
    auto lrOf = [&](StringRef group) {
      return scalars[llvm::StringSwitch<unsigned>(group)
                         .Case("matrix", 0)
                         .Case("embedding", 1)
                         .Case("ln", 2)
                         .Default(3)];
    };
    // One optimizer op per group, or per parameter (group-updates=false).
    SmallVector<SmallVector<Slot *>> updates;
    for (StringRef group : {"embedding", "ln", "scalar", "matrix"}) {
      SmallVector<Slot *> members;
      for (Slot &slot : slots)
        if (slot.group == group)
          members.push_back(&slot);
      if (members.empty())
        continue;
      if (groupUpdates)
        updates.push_back(std::move(members));
      else
        for (Slot *slot : members)
          updates.push_back({slot});
    }
    for (ArrayRef<Slot *> members : updates) {
      StringRef group = members.front()->group;
      SmallVector<Value> ps, gs, s0, s1;
      SmallVector<Type> types;
      for (Slot *slot : members) {
        ps.push_back(params[slot - slots.begin()]);
        gs.push_back(slot->grad);
        s0.push_back(slot->state[0]);
        if (slot->state.size() > 1)
          s1.push_back(slot->state[1]);
        types.push_back(slot->type);
      }
      if (usesMuon(group)) {
        SmallVector<Type> resultTypes(types);
        resultTypes.append(types);
        auto op = mstream::MuonUpdateOp::create(
            b, loc, resultTypes, ps, gs, s0, lrOf(group), clip.getScale(),
            b.getF64FloatAttr(momentum), BoolAttr(), IntegerAttr(),
            DenseF64ArrayAttr(), FloatAttr(), FloatAttr());
        for (auto [index, slot] : llvm::enumerate(members)) {
          slot->newParam = op.getParamsNew()[index];
          slot->newState = {op.getBufsNew()[index]};
        }
        continue;
      }
      double decay = group == "embedding" ? embeddingDecay
                     : group == "matrix"  ? matrixDecay
                                          : 0.0;
      SmallVector<Type> resultTypes(types);
      resultTypes.append(types);
      resultTypes.append(types);
      auto op = mstream::AdamWUpdateOp::create(
          b, loc, resultTypes, ps, gs, s0, s1, lrOf(group), stepCount,
          clip.getScale(), b.getF64FloatAttr(beta1), b.getF64FloatAttr(beta2),
          b.getF64FloatAttr(eps), b.getF64FloatAttr(decay));
      for (auto [index, slot] : llvm::enumerate(members)) {
        slot->newParam = op.getParamsNew()[index];
        slot->newState = {op.getMNew()[index], op.getVNew()[index]};
      }
    }

    SmallVector<Value> results = {call.getResult(0), clip.getNorm()};
    SmallVector<Attribute> resultAttrs = {
        named(mstream::kOutputAttrName, "loss"),
        named(mstream::kOutputAttrName, "grad_norm")};
    for (const Slot &slot : slots) {
      results.push_back(slot.newParam);
      resultAttrs.push_back(grads.getArgAttrDict(slot.paramIndex));
    }
    unsigned stateIndex = 0;
    for (const Slot &slot : slots)
      for (Value value : slot.newState) {
        results.push_back(value);
        resultAttrs.push_back(
            named(mstream::kStateAttrName, stateNames[stateIndex++]));
      }
    func::ReturnOp::create(b, loc, results);
    step.setFunctionType(
        b.getFunctionType(inputs, ValueRange(results).getTypes()));
    step.setAllResultAttrs(resultAttrs);
    return success();
  }
};

} // namespace
