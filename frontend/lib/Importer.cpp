//===- Importer.cpp - model definitions to mstream IR ---------------------===//

#include "mstream/Frontend/Importer.h"
#include "mstream/Dialect/AttrNames.h"
#include "mstream/Model/ParamTable.h"

#include "mstream/Dialect/MStreamOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Verifier.h"

using namespace mlir;
using namespace mstream;

namespace {

/// Builds the body of `forward` for one definition.
class ModelBuilder {
public:
  ModelBuilder(OpBuilder &builder, const ParsedConfig &parsed, StepShape shape,
               Location anchor)
      : b(builder), config(parsed.config), shape(shape), anchor(anchor),
        f32(builder.getF32Type()) {}

  /// Emits the body; `params` are the arguments in param-table order.
  Value build(Value tokens, ValueRange params,
              const std::vector<ParamSpec> &table);

private:
  Location loc(StringRef path) {
    return NameLoc::get(b.getStringAttr(path), anchor);
  }
  Value param(StringRef name) { return params.lookup(name); }
  RankedTensorType streamType() {
    return RankedTensorType::get({shape.batch, shape.seq, config.dModel}, f32);
  }
  Value splat(float value, Location at) {
    return arith::ConstantOp::create(
        b, at, DenseElementsAttr::get(streamType(), b.getF32FloatAttr(value)));
  }
  Value embed(Value tokens, StringRef prefix);
  /// One attention or MLP substep: oracle at the (lookahead) point, then the
  /// variant's step op. Updates x and the auxiliary streams in place.
  void substep(StringRef layer, StringRef substep);

  OpBuilder &b;
  const ModelConfig &config;
  StepShape shape;
  Location anchor;
  Type f32;
  llvm::StringMap<Value> params;
  Value x, v, m, s, r;
};

} // namespace

Value ModelBuilder::embed(Value tokens, StringRef prefix) {
  std::string tok = (prefix + "tok_emb.weight").str();
  return EmbeddingOp::create(b, loc((prefix + "emb").str()), streamType(),
                             tokens, param(tok),
                             param((prefix + "pos_emb.weight").str()));
}

void ModelBuilder::substep(StringRef layer, StringRef substep) {
  const bool isAttn = substep == "attn";
  std::string prefix = (layer + ".").str();
  auto scalar = [&](StringRef name) {
    return param(prefix + name.str() + "_" + substep.str() + "_raw");
  };
  Location at = loc(prefix + substep.str());
  const Variant variant = config.variant;

  Value point = x;
  if (variant == Variant::Yurii || variant == Variant::Tmm)
    point = LookaheadOp::create(b, at, x.getType(), x, v, scalar("mu"));
  Value normed = LayerNormOp::create(
      b, at, x.getType(), point,
      param(prefix + "ln_" + substep.str() + ".weight"), FloatAttr());
  Value g =
      isAttn ? Value(AttentionOp::create(b, at, x.getType(), normed,
                                         param(prefix + "attn.qkv_proj.weight"),
                                         param(prefix + "attn.out_proj.weight"),
                                         b.getI64IntegerAttr(config.nHeads)))
             : Value(MlpOp::create(b, at, x.getType(), normed,
                                   param(prefix + "mlp.w1.weight"),
                                   param(prefix + "mlp.w2.weight")));

  Value lnV = param(prefix + "ln_v_" + substep.str() + ".weight");
  Value lnU = param(prefix + "ln_update_" + substep.str() + ".weight");
  Type t = x.getType();
  IntegerAttr heads = b.getI64IntegerAttr(config.nHeads);
  IntegerAttr nsIters = b.getI64IntegerAttr(config.nsIters);
  switch (variant) {
  case Variant::Vanilla:
    x = GdOp::create(b, at, t, x, g);
    return;
  case Variant::HeavyBall: {
    auto op = HeavyBallOp::create(b, at, t, t, x, v, g, scalar("beta"),
                                  scalar("gamma"), lnV, FloatAttr());
    x = op.getXNew(), v = op.getVNew();
    return;
  }
  case Variant::Yurii: {
    auto op = NesterovOp::create(b, at, t, t, x, v, g, scalar("beta"),
                                 scalar("gamma"), lnV, FloatAttr());
    x = op.getXNew(), v = op.getVNew();
    return;
  }
  case Variant::Tmm: {
    auto op = TmmOp::create(b, at, t, t, x, v, g, scalar("beta"),
                            scalar("gamma"), scalar("nu"), lnV, FloatAttr());
    x = op.getXNew(), v = op.getVNew();
    return;
  }
  case Variant::Adam: {
    auto op = AdamOp::create(b, at, t, t, t, x, m, s, g, scalar("beta1"),
                             scalar("beta2"), scalar("gamma"), lnU, FloatAttr(),
                             FloatAttr());
    x = op.getXNew(), m = op.getMNew(), s = op.getSNew();
    return;
  }
  case Variant::AdamW: {
    auto op = AdamWOp::create(b, at, t, t, t, x, m, s, g, scalar("beta1"),
                              scalar("beta2"), scalar("gamma"),
                              scalar("lambda"), lnU, FloatAttr(), FloatAttr());
    x = op.getXNew(), m = op.getMNew(), s = op.getSNew();
    return;
  }
  case Variant::RmsProp: {
    auto op = RmsPropOp::create(b, at, t, t, x, s, g, scalar("beta2"),
                                scalar("gamma"), lnU, FloatAttr(), FloatAttr());
    x = op.getXNew(), s = op.getSNew();
    return;
  }
  case Variant::Muon: {
    auto op = MuonOp::create(b, at, t, t, x, m, g, scalar("beta"),
                             scalar("gamma"), lnU, heads, nsIters,
                             DenseF64ArrayAttr(), FloatAttr(), FloatAttr());
    x = op.getXNew(), m = op.getMNew();
    return;
  }
  case Variant::Ortho:
    x = OrthoOp::create(b, at, t, x, g, scalar("gamma"), lnU, heads, nsIters,
                        DenseF64ArrayAttr(), FloatAttr(), FloatAttr());
    return;
  case Variant::Shampoo: {
    auto op = ShampooOp::create(b, at, t, r.getType(), x, r, g, scalar("betaR"),
                                scalar("gamma"), lnU, heads, IntegerAttr(),
                                FloatAttr(), FloatAttr());
    x = op.getXNew(), r = op.getRNew();
    return;
  }
  case Variant::Soap: {
    auto op = SoapOp::create(
        b, at, t, t, r.getType(), x, m, r, g, scalar("beta1"), scalar("betaR"),
        scalar("gamma"), lnU, heads, IntegerAttr(), FloatAttr(), FloatAttr());
    x = op.getXNew(), m = op.getMNew(), r = op.getRNew();
    return;
  }
  }
}

Value ModelBuilder::build(Value tokens, ValueRange args,
                          const std::vector<ParamSpec> &table) {
  for (auto [spec, arg] : llvm::zip_equal(table, args))
    params[spec.name] = arg;

  const Variant variant = config.variant;
  x = embed(tokens, "");
  switch (variant) {
  case Variant::HeavyBall:
  case Variant::Yurii:
    v = embed(tokens, "vel_");
    break;
  case Variant::Tmm:
    v = config.hasAuxEmbedding() ? embed(tokens, "vel_")
                                 : splat(0.0f, loc("vel_zero"));
    break;
  case Variant::Adam:
  case Variant::AdamW:
    m = embed(tokens, "m_");
    s = splat(1.0f, loc("s_init"));
    break;
  case Variant::RmsProp:
    s = splat(1.0f, loc("s_init"));
    break;
  case Variant::Muon:
    m = embed(tokens, "m_");
    break;
  case Variant::Soap:
    m = embed(tokens, "m_");
    [[fallthrough]];
  case Variant::Shampoo:
    r = EyeOp::create(
        b, loc("r_init"),
        RankedTensorType::get(
            {shape.batch, shape.seq, config.headDim(), config.headDim()}, f32));
    break;
  case Variant::Vanilla:
  case Variant::Ortho:
    break;
  }

  for (int64_t i = 0; i < config.nLayers; ++i) {
    std::string layer = "layers." + std::to_string(i);
    substep(layer, "attn");
    substep(layer, "mlp");
  }
  Location head = loc("final_ln");
  Value normed = LayerNormOp::create(b, head, x.getType(), x,
                                     param("final_ln.weight"), FloatAttr());
  auto logitsType =
      RankedTensorType::get({shape.batch, shape.seq, config.vocabSize}, f32);
  return TiedHeadOp::create(b, loc("head"), logitsType, normed,
                            param("tok_emb.weight"));
}

/// The module attribute that records the definition.
static DictionaryAttr describeModel(Builder &b, const ModelConfig &config,
                                    StepShape shape) {
  const auto &info = getVariantInfo(config.variant);
  SmallVector<NamedAttribute> entries = {
      b.getNamedAttr("variant", b.getStringAttr(info.name)),
      b.getNamedAttr("vocab_size", b.getI64IntegerAttr(config.vocabSize)),
      b.getNamedAttr("max_seq_len", b.getI64IntegerAttr(config.maxSeqLen)),
      b.getNamedAttr("d_model", b.getI64IntegerAttr(config.dModel)),
      b.getNamedAttr("n_layers", b.getI64IntegerAttr(config.nLayers)),
      b.getNamedAttr("n_heads", b.getI64IntegerAttr(config.nHeads)),
      b.getNamedAttr("batch", b.getI64IntegerAttr(shape.batch)),
      b.getNamedAttr("seq", b.getI64IntegerAttr(shape.seq)),
  };
  if (config.variant == Variant::Tmm)
    entries.push_back(b.getNamedAttr(
        "vel_init",
        b.getStringAttr(config.velInit == VelInit::Zero ? "zero" : "embed")));
  if (info.usesHeadMatrices && !info.carriesPreconditioner)
    entries.push_back(
        b.getNamedAttr("ns_iters", b.getI64IntegerAttr(config.nsIters)));
  return b.getDictionaryAttr(entries);
}

llvm::Expected<OwningOpRef<ModuleOp>>
mstream::importModel(MLIRContext &context, const ParsedConfig &parsed,
                     StepShape shape) {
  context.loadDialect<MStreamDialect, func::FuncDialect, arith::ArithDialect>();
  const ModelConfig &config = parsed.config;
  if (shape.seq == 0)
    shape.seq = config.maxSeqLen;
  if (shape.batch < 1 || shape.seq < 1)
    return llvm::createStringError(
        "batch and sequence length must be positive, got batch " +
        std::to_string(shape.batch) + " and seq " + std::to_string(shape.seq));
  if (shape.seq > config.maxSeqLen)
    return llvm::createStringError(
        "sequence length " + std::to_string(shape.seq) + " exceeds " +
        parsed.file + "'s max_seq_len = " + std::to_string(config.maxSeqLen));

  OpBuilder b(&context);
  Location anchor =
      FileLineColLoc::get(&context, parsed.file, parsed.line, parsed.column);
  OwningOpRef<ModuleOp> module = ModuleOp::create(anchor);
  (*module)->setAttr(kModelAttrName, describeModel(b, config, shape));
  b.setInsertionPointToEnd(module->getBody());

  std::vector<ParamSpec> table = buildParamTable(config);
  auto tokenType =
      RankedTensorType::get({shape.batch, shape.seq}, b.getI32Type());
  SmallVector<Type> paramTypes;
  SmallVector<DictionaryAttr> paramAttrs;
  for (const auto &spec : table) {
    paramTypes.push_back(RankedTensorType::get(spec.shape, b.getF32Type()));
    paramAttrs.push_back(b.getDictionaryAttr(
        {b.getNamedAttr(kParamAttrName, b.getStringAttr(spec.name)),
         b.getNamedAttr(kGroupAttrName,
                        b.getStringAttr(paramGroupName(spec.group)))}));
  }
  auto inputAttr = [&](StringRef name) {
    return b.getDictionaryAttr(
        b.getNamedAttr(kInputAttrName, b.getStringAttr(name)));
  };

  auto logitsType = RankedTensorType::get(
      {shape.batch, shape.seq, config.vocabSize}, b.getF32Type());
  SmallVector<Type> forwardInputs = {tokenType};
  forwardInputs.append(paramTypes);
  auto forward = func::FuncOp::create(
      b, anchor, "forward", b.getFunctionType(forwardInputs, {logitsType}));
  SmallVector<Attribute> forwardArgAttrs = {inputAttr("tokens")};
  forwardArgAttrs.append(paramAttrs.begin(), paramAttrs.end());
  forward.setAllArgAttrs(forwardArgAttrs);
  forward.setResultAttr(0, kOutputAttrName, b.getStringAttr("logits"));
  {
    OpBuilder::InsertionGuard guard(b);
    Block *body = forward.addEntryBlock();
    b.setInsertionPointToStart(body);
    ModelBuilder model(b, parsed, shape, anchor);
    Value logits = model.build(body->getArgument(0),
                               body->getArguments().drop_front(), table);
    func::ReturnOp::create(b, anchor, logits);
  }

  auto lossType = RankedTensorType::get({}, b.getF32Type());
  SmallVector<Type> lossInputs = {tokenType, tokenType};
  lossInputs.append(paramTypes);
  auto loss = func::FuncOp::create(b, anchor, "loss",
                                   b.getFunctionType(lossInputs, {lossType}));
  SmallVector<Attribute> lossArgAttrs = {inputAttr("tokens"),
                                         inputAttr("targets")};
  lossArgAttrs.append(paramAttrs.begin(), paramAttrs.end());
  loss.setAllArgAttrs(lossArgAttrs);
  loss.setResultAttr(0, kOutputAttrName, b.getStringAttr("loss"));
  Block *body = loss.addEntryBlock();
  b.setInsertionPointToStart(body);
  SmallVector<Value> forwardArgs = {body->getArgument(0)};
  forwardArgs.append(body->getArguments().begin() + 2,
                     body->getArguments().end());
  auto call = func::CallOp::create(b, anchor, forward, forwardArgs);
  Value value =
      CrossEntropyOp::create(b, NameLoc::get(b.getStringAttr("loss"), anchor),
                             lossType, call.getResult(0), body->getArgument(1));
  func::ReturnOp::create(b, anchor, value);

  if (failed(mlir::verify(*module)))
    return llvm::createStringError("internal error: the imported module of " +
                                   parsed.file + " does not verify");
  return module;
}
