//===- BuildTrainStep.cpp - the mstream-build-train-step pass -------------===//

#include "mstream/Dialect/AttrNames.h"
#include "mstream/Dialect/MStreamOps.h"
#include "mstream/Transforms/Autodiff/Passes.h"

namespace mstream {
#define GEN_PASS_DEF_BUILDTRAINSTEP
#include "mstream/Transforms/Autodiff/Passes.h.inc"
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

/// The train_step function being built: its arguments by role.
struct TrainStepSignature {
  func::FuncOp step;
  unsigned numData = 0;
  ValueRange data, scalars, params;
  /// The optimizer state's names, in argument (and result) order.
  SmallVector<std::string> stateNames;
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

    SmallVector<Slot> slots;
    unsigned numData = 0;
    if (failed(collectSlots(grads, slots, numData)))
      return failure();
    OpBuilder b(module.getContext());
    TrainStepSignature signature = createSignature(b, grads, slots, numData);

    // Loss and gradients, clipped by their global norm, then the updates.
    Location loc = grads.getLoc();
    SmallVector<Value> callArgs(signature.data);
    callArgs.append(signature.params.begin(), signature.params.end());
    auto call = func::CallOp::create(b, loc, grads, callArgs);
    SmallVector<Value> gradValues;
    for (auto [slot, grad] :
         llvm::zip_equal(slots, call.getResults().drop_front())) {
      slot.grad = grad;
      gradValues.push_back(grad);
    }
    auto scalar = RankedTensorType::get({}, b.getF32Type());
    auto clip = mstream::ClipByGlobalNormOp::create(
        b, loc, scalar, scalar, gradValues, b.getF64FloatAttr(maxNorm));
    for (ArrayRef<Slot *> members : updateGroups(slots))
      emitUpdate(b, loc, members, signature, clip.getScale());
    emitReturn(b, loc, grads, slots, signature, call.getResult(0),
               clip.getNorm());
    return success();
  }

  /// loss_and_grads(tokens, targets, params...): one slot per parameter,
  /// and the number of data arguments before them.
  LogicalResult collectSlots(func::FuncOp grads, SmallVectorImpl<Slot> &slots,
                             unsigned &numData) {
    FunctionType gradsType = grads.getFunctionType();
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
    numData =
        slots.empty() ? gradsType.getNumInputs() : slots.front().paramIndex;
    if (gradsType.getNumResults() != 1 + slots.size())
      return grads.emitError("mstream-build-train-step: expected the loss "
                             "and one gradient per parameter");
    return success();
  }

  static DictionaryAttr named(OpBuilder &b, StringRef attr, StringRef value) {
    return b.getDictionaryAttr(b.getNamedAttr(attr, b.getStringAttr(value)));
  }

  /// Creates train_step after `grads` with its arguments (data, scalars,
  /// state in parameter order, parameters), gives each slot its state
  /// arguments and leaves `b` at the start of the body.
  TrainStepSignature createSignature(OpBuilder &b, func::FuncOp grads,
                                     MutableArrayRef<Slot> slots,
                                     unsigned numData) {
    FunctionType gradsType = grads.getFunctionType();
    auto scalar = RankedTensorType::get({}, b.getF32Type());
    TrainStepSignature signature;
    SmallVector<Type> inputs;
    SmallVector<Attribute> inputAttrs;
    for (unsigned i = 0; i < numData; ++i) {
      inputs.push_back(gradsType.getInput(i));
      inputAttrs.push_back(grads.getArgAttrDict(i));
    }
    for (StringRef name : kScalarInputs) {
      inputs.push_back(scalar);
      inputAttrs.push_back(named(b, mstream::kInputAttrName, name));
    }
    static constexpr StringRef kMuonState[] = {"momentum_buffer"};
    static constexpr StringRef kAdamWState[] = {"exp_avg", "exp_avg_sq"};
    for (const Slot &slot : slots)
      for (StringRef suffix : usesMuon(slot.group) ? ArrayRef(kMuonState)
                                                   : ArrayRef(kAdamWState)) {
        signature.stateNames.push_back(
            (slot.name.getValue() + "." + suffix).str());
        inputs.push_back(slot.type);
        inputAttrs.push_back(
            named(b, mstream::kStateAttrName, signature.stateNames.back()));
      }
    for (const Slot &slot : slots) {
      inputs.push_back(slot.type);
      inputAttrs.push_back(grads.getArgAttrDict(slot.paramIndex));
    }

    b.setInsertionPointAfter(grads);
    signature.step =
        func::FuncOp::create(b, grads.getLoc(), mstream::kTrainStepName,
                             b.getFunctionType(inputs, {}));
    signature.step.setAllArgAttrs(inputAttrs);
    Block *body = signature.step.addEntryBlock();
    b.setInsertionPointToStart(body);
    ValueRange args = body->getArguments();
    signature.numData = numData;
    signature.data = args.take_front(numData);
    signature.scalars = args.slice(numData, std::size(kScalarInputs));
    ValueRange stateArgs = args.slice(numData + signature.scalars.size(),
                                      signature.stateNames.size());
    signature.params = args.take_back(slots.size());
    unsigned nextState = 0;
    for (Slot &slot : slots) {
      unsigned count = usesMuon(slot.group) ? 1 : 2;
      slot.state.assign(stateArgs.begin() + nextState,
                        stateArgs.begin() + nextState + count);
      nextState += count;
    }
    return signature;
  }

  /// The parameters one optimizer op updates: a group each, or one each
  /// with group-updates=false.
  SmallVector<SmallVector<Slot *>> updateGroups(MutableArrayRef<Slot> slots) {
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
    return updates;
  }

  /// One Muon or AdamW op for `members`; sets their new values.
  void emitUpdate(OpBuilder &b, Location loc, ArrayRef<Slot *> members,
                  const TrainStepSignature &signature, Value clipScale) {
    StringRef group = members.front()->group;
    Value lr = signature.scalars[llvm::StringSwitch<unsigned>(group)
                                     .Case("matrix", 0)
                                     .Case("embedding", 1)
                                     .Case("ln", 2)
                                     .Default(3)];
    Value stepCount = signature.scalars[4];
    SmallVector<Value> ps, gs, s0, s1;
    SmallVector<Type> types;
    for (Slot *slot : members) {
      ps.push_back(signature.params[slot->paramIndex - signature.numData]);
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
          b, loc, resultTypes, ps, gs, s0, lr, clipScale,
          b.getF64FloatAttr(momentum), BoolAttr(), IntegerAttr(),
          DenseF64ArrayAttr(), FloatAttr(), FloatAttr());
      for (auto [index, slot] : llvm::enumerate(members)) {
        slot->newParam = op.getParamsNew()[index];
        slot->newState = {op.getBufsNew()[index]};
      }
      return;
    }
    double decay = group == "embedding" ? embeddingDecay
                   : group == "matrix"  ? matrixDecay
                                        : 0.0;
    SmallVector<Type> resultTypes(types);
    resultTypes.append(types);
    resultTypes.append(types);
    auto op = mstream::AdamWUpdateOp::create(
        b, loc, resultTypes, ps, gs, s0, s1, lr, stepCount, clipScale,
        b.getF64FloatAttr(beta1), b.getF64FloatAttr(beta2),
        b.getF64FloatAttr(eps), b.getF64FloatAttr(decay));
    for (auto [index, slot] : llvm::enumerate(members)) {
      slot->newParam = op.getParamsNew()[index];
      slot->newState = {op.getMNew()[index], op.getVNew()[index]};
    }
  }

  /// Returns (loss, grad_norm, new params..., new state...) and sets the
  /// function's result types and marks.
  void emitReturn(OpBuilder &b, Location loc, func::FuncOp grads,
                  ArrayRef<Slot> slots, const TrainStepSignature &signature,
                  Value loss, Value gradNorm) {
    SmallVector<Value> results = {loss, gradNorm};
    SmallVector<Attribute> resultAttrs = {
        named(b, mstream::kOutputAttrName, "loss"),
        named(b, mstream::kOutputAttrName, "grad_norm")};
    for (const Slot &slot : slots) {
      results.push_back(slot.newParam);
      resultAttrs.push_back(grads.getArgAttrDict(slot.paramIndex));
    }
    unsigned stateIndex = 0;
    for (const Slot &slot : slots)
      for (Value value : slot.newState) {
        results.push_back(value);
        resultAttrs.push_back(named(b, mstream::kStateAttrName,
                                    signature.stateNames[stateIndex++]));
      }
    func::ReturnOp::create(b, loc, results);
    func::FuncOp step = signature.step;
    step.setFunctionType(b.getFunctionType(step.getFunctionType().getInputs(),
                                           ValueRange(results).getTypes()));
    step.setAllResultAttrs(resultAttrs);
  }
};

} // namespace
