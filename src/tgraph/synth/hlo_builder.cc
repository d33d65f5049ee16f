#include "tgraph/synth/hlo_builder.h"

#include <algorithm>
#include <numeric>
#include <utility>

#include "tgraph/util/error.h"

namespace tgraph::synth {

int elem_bytes(ElemType t) {
  switch (t) {
    case ElemType::kPred:
    case ElemType::kS8:
    case ElemType::kU8:
      return 1;
    case ElemType::kS16:
    case ElemType::kU16:
    case ElemType::kF16:
    case ElemType::kBF16:
      return 2;
    case ElemType::kS32:
    case ElemType::kU32:
    case ElemType::kF32:
      return 4;
    case ElemType::kS64:
    case ElemType::kU64:
    case ElemType::kF64:
    case ElemType::kC64:
      return 8;
    case ElemType::kC128:
      return 16;
    default:
      return 0;
  }
}

int64_t Instr::numel() const {
  if (is_tuple()) return 0;
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

bool is_configurable_opcode(uint8_t opcode) {
  return opcode == op::kConvolution || opcode == op::kDot || opcode == op::kReshape;
}

std::vector<int64_t> Module::configurable_nodes() const {
  std::vector<int64_t> ids;
  for (int64_t i = 0; i < size(); ++i)
    if (is_configurable_opcode(instrs[static_cast<size_t>(i)].opcode)) ids.push_back(i);
  return ids;
}

std::vector<int64_t> default_minor_to_major(int rank) {
  std::vector<int64_t> m(static_cast<size_t>(rank));
  for (int i = 0; i < rank; ++i) m[static_cast<size_t>(i)] = rank - 1 - i;
  return m;
}

// ---------------------------------------------------------------------------------------------
// Builder

HloBuilder::HloBuilder(std::string module_name) {
  m_.name = std::move(module_name);
  m_.splits.push_back(0);
}

void HloBuilder::begin(const std::string& name) {
  TG_CHECK(open_start_ < 0, "computation ", open_name_, " still open when beginning ", name);
  open_start_ = size();
  open_name_ = name;
}

int32_t HloBuilder::end(int32_t root) {
  TG_CHECK(open_start_ >= 0, "end() without begin()");
  TG_CHECK(root >= open_start_ && root < size(), "root ", root, " outside computation ",
           open_name_);
  mutable_at(root).is_root = true;
  // hlo_encoder's rule: a computation whose name contains cluster/while/cond closes a split.
  const std::string& n = open_name_;
  if (n.find("cluster") != std::string::npos || n.find("while") != std::string::npos ||
      n.find("cond") != std::string::npos)
    m_.splits.push_back(size());
  open_start_ = -1;
  return root;
}

Module HloBuilder::finish() {
  TG_CHECK(open_start_ < 0, "computation ", open_name_, " still open at finish()");
  TG_CHECK(size() > 0, "empty module");
  if (m_.splits.back() != size()) m_.splits.push_back(size());
  return std::move(m_);
}

int32_t HloBuilder::emit(Instr in) {
  TG_CHECK(open_start_ >= 0, "instruction emitted outside a computation");
  for (int32_t o : in.operands)
    TG_CHECK(o >= open_start_ && o < size(), "operand ", o, " not in the open computation");
  for (int32_t r : in.called_roots) TG_CHECK(r >= 0 && r < open_start_, "called root ", r);
  for (int64_t d : in.dims) TG_CHECK(d >= 1, "non-positive dimension in ", int(in.opcode));
  TG_CHECK(in.dims.size() <= 6, "rank > 6");
  m_.instrs.push_back(std::move(in));
  return size() - 1;
}

int32_t HloBuilder::reducer(uint8_t opcode, ElemType t, const std::string& name) {
  begin(name);
  int32_t a = parameter(0, t, {});
  int32_t b = parameter(1, t, {});
  return end(binary(opcode, a, b));
}

int32_t HloBuilder::ge_selector(ElemType t, const std::string& name) {
  begin(name);
  int32_t a = parameter(0, t, {});
  int32_t b = parameter(1, t, {});
  return end(compare(a, b));
}

int32_t HloBuilder::parameter(int64_t number, ElemType t, std::vector<int64_t> dims) {
  Instr in;
  in.opcode = op::kParameter;
  in.type = t;
  in.dims = std::move(dims);
  in.parameter_number = number;
  return emit(std::move(in));
}

int32_t HloBuilder::tuple_parameter(int64_t number, int64_t tuple_size) {
  Instr in;
  in.opcode = op::kParameter;
  in.type = ElemType::kTuple;
  in.tuple_size = tuple_size;
  in.parameter_number = number;
  return emit(std::move(in));
}

int32_t HloBuilder::constant(ElemType t, std::vector<int64_t> dims) {
  Instr in;
  in.opcode = op::kConstant;
  in.type = t;
  in.dims = std::move(dims);
  return emit(std::move(in));
}

int32_t HloBuilder::iota(ElemType t, std::vector<int64_t> dims, int64_t dim) {
  TG_CHECK(dim >= 0 && dim < int64_t(dims.size()), "iota dim");
  Instr in;
  in.opcode = op::kIota;
  in.type = t;
  in.dims = std::move(dims);
  in.dimensions = {dim};
  return emit(std::move(in));
}

int32_t HloBuilder::unary(uint8_t opcode, int32_t x) {
  Instr in;
  in.opcode = opcode;
  in.type = type(x);
  in.dims = dims(x);
  in.operands = {x};
  return emit(std::move(in));
}

int32_t HloBuilder::binary(uint8_t opcode, int32_t a, int32_t b) {
  TG_CHECK(dims(a) == dims(b), "binary op ", int(opcode), " shape mismatch");
  Instr in;
  in.opcode = opcode;
  in.type = type(a);
  in.dims = dims(a);
  in.operands = {a, b};
  return emit(std::move(in));
}

int32_t HloBuilder::compare(int32_t a, int32_t b) {
  TG_CHECK(dims(a) == dims(b), "compare shape mismatch");
  Instr in;
  in.opcode = op::kCompare;
  in.type = ElemType::kPred;
  in.dims = dims(a);
  in.operands = {a, b};
  return emit(std::move(in));
}

int32_t HloBuilder::select(int32_t p, int32_t a, int32_t b) {
  TG_CHECK(dims(a) == dims(b) && dims(p) == dims(a), "select shape mismatch");
  Instr in;
  in.opcode = op::kSelect;
  in.type = type(a);
  in.dims = dims(a);
  in.operands = {p, a, b};
  return emit(std::move(in));
}

int32_t HloBuilder::convert(int32_t x, ElemType t) {
  Instr in;
  in.opcode = op::kConvert;
  in.type = t;
  in.dims = dims(x);
  in.operands = {x};
  return emit(std::move(in));
}

int32_t HloBuilder::broadcast(int32_t x, std::vector<int64_t> out_dims,
                              std::vector<int64_t> dimensions) {
  const std::vector<int64_t> xd = dims(x);
  TG_CHECK(xd.size() == dimensions.size(), "broadcast dimensions arity");
  for (size_t i = 0; i < xd.size(); ++i)
    TG_CHECK(dimensions[i] >= 0 && dimensions[i] < int64_t(out_dims.size()) &&
                 out_dims[size_t(dimensions[i])] == xd[i],
             "broadcast dimension ", i);
  Instr in;
  in.opcode = op::kBroadcast;
  in.type = type(x);
  in.dims = std::move(out_dims);
  in.dimensions = std::move(dimensions);
  in.operands = {x};
  return emit(std::move(in));
}

int32_t HloBuilder::splat(ElemType t, std::vector<int64_t> d) {
  int32_t c = constant(t);
  if (d.empty()) return c;
  return broadcast(c, std::move(d), {});
}

int32_t HloBuilder::reshape(int32_t x, std::vector<int64_t> d) {
  int64_t n = 1;
  for (int64_t v : d) n *= v;
  TG_CHECK(n == at(x).numel(), "reshape element count ", n, " vs ", at(x).numel());
  Instr in;
  in.opcode = op::kReshape;
  in.type = type(x);
  in.dims = std::move(d);
  in.operands = {x};
  return emit(std::move(in));
}

int32_t HloBuilder::transpose(int32_t x, std::vector<int64_t> perm) {
  const std::vector<int64_t> xd = dims(x);
  TG_CHECK(perm.size() == xd.size(), "transpose arity");
  std::vector<int64_t> d(xd.size());
  std::vector<bool> seen(xd.size(), false);
  for (size_t i = 0; i < perm.size(); ++i) {
    TG_CHECK(perm[i] >= 0 && perm[i] < int64_t(xd.size()) && !seen[size_t(perm[i])], "perm");
    seen[size_t(perm[i])] = true;
    d[i] = xd[size_t(perm[i])];
  }
  Instr in;
  in.opcode = op::kTranspose;
  in.type = type(x);
  in.dims = std::move(d);
  in.dimensions = std::move(perm);
  in.operands = {x};
  return emit(std::move(in));
}

namespace {
// Output extent of one windowed dimension (XLA's shape inference).
int64_t window_out(int64_t in, const WindowDim& w) {
  const int64_t dilated_in = (in - 1) * w.base_dilation + 1;
  const int64_t padded = dilated_in + w.pad_lo + w.pad_hi;
  const int64_t eff = (w.size - 1) * w.window_dilation + 1;
  TG_CHECK(padded >= eff, "window larger than padded input: ", padded, " < ", eff);
  return (padded - eff) / w.stride + 1;
}
}  // namespace

int32_t HloBuilder::convolution(int32_t x, int32_t w, std::vector<WindowDim> window, ConvDims cd,
                                int64_t feature_groups, int64_t batch_groups) {
  const std::vector<int64_t> xd = dims(x);
  const std::vector<int64_t> wd = dims(w);
  const size_t r = xd.size();
  TG_CHECK(wd.size() == r, "conv kernel rank");
  TG_CHECK(cd.in_spatial.size() == r - 2 && cd.k_spatial.size() == r - 2 &&
               cd.out_spatial.size() == r - 2 && window.size() == r - 2,
           "conv spatial arity");
  TG_CHECK(xd[size_t(cd.in_feature)] == wd[size_t(cd.k_in)] * feature_groups,
           "conv feature mismatch: input ", xd[size_t(cd.in_feature)], " kernel ",
           wd[size_t(cd.k_in)], " groups ", feature_groups);
  TG_CHECK(xd[size_t(cd.in_batch)] % batch_groups == 0, "batch groups");
  std::vector<int64_t> od(r, 0);
  od[size_t(cd.out_batch)] = xd[size_t(cd.in_batch)] / batch_groups;
  od[size_t(cd.out_feature)] = wd[size_t(cd.k_out)];
  for (size_t i = 0; i < r - 2; ++i) {
    TG_CHECK(window[i].size == wd[size_t(cd.k_spatial[i])], "window size vs kernel");
    od[size_t(cd.out_spatial[i])] = window_out(xd[size_t(cd.in_spatial[i])], window[i]);
  }
  Instr in;
  in.opcode = op::kConvolution;
  in.type = type(x);
  in.dims = std::move(od);
  in.operands = {x, w};
  in.window = std::move(window);
  in.is_conv = true;
  in.conv = std::move(cd);
  in.feature_group_count = feature_groups;
  in.batch_group_count = batch_groups;
  return emit(std::move(in));
}

int32_t HloBuilder::dot(int32_t lhs, int32_t rhs, DotDims dd) {
  const std::vector<int64_t> ld = dims(lhs);
  const std::vector<int64_t> rd = dims(rhs);
  TG_CHECK(dd.lhs_batch.size() == dd.rhs_batch.size() &&
               dd.lhs_contract.size() == dd.rhs_contract.size(),
           "dot dims arity");
  for (size_t i = 0; i < dd.lhs_batch.size(); ++i)
    TG_CHECK(ld[size_t(dd.lhs_batch[i])] == rd[size_t(dd.rhs_batch[i])], "dot batch mismatch");
  for (size_t i = 0; i < dd.lhs_contract.size(); ++i)
    TG_CHECK(ld[size_t(dd.lhs_contract[i])] == rd[size_t(dd.rhs_contract[i])],
             "dot contract mismatch ", ld[size_t(dd.lhs_contract[i])], " vs ",
             rd[size_t(dd.rhs_contract[i])]);
  auto in_list = [](const std::vector<int64_t>& v, int64_t d) {
    return std::find(v.begin(), v.end(), d) != v.end();
  };
  std::vector<int64_t> od;
  for (int64_t b : dd.lhs_batch) od.push_back(ld[size_t(b)]);
  for (int64_t i = 0; i < int64_t(ld.size()); ++i)
    if (!in_list(dd.lhs_batch, i) && !in_list(dd.lhs_contract, i)) od.push_back(ld[size_t(i)]);
  for (int64_t i = 0; i < int64_t(rd.size()); ++i)
    if (!in_list(dd.rhs_batch, i) && !in_list(dd.rhs_contract, i)) od.push_back(rd[size_t(i)]);
  Instr in;
  in.opcode = op::kDot;
  in.type = type(lhs);
  in.dims = std::move(od);
  in.operands = {lhs, rhs};
  in.dot = std::move(dd);
  return emit(std::move(in));
}

int32_t HloBuilder::reduce(int32_t x, std::vector<int64_t> reduce_dims, int32_t reducer_root) {
  const std::vector<int64_t> xd = dims(x);
  std::sort(reduce_dims.begin(), reduce_dims.end());
  std::vector<int64_t> od;
  for (int64_t i = 0; i < int64_t(xd.size()); ++i)
    if (!std::binary_search(reduce_dims.begin(), reduce_dims.end(), i)) od.push_back(xd[size_t(i)]);
  int32_t init = constant(type(x));
  Instr in;
  in.opcode = op::kReduce;
  in.type = type(x);
  in.dims = std::move(od);
  in.dimensions = std::move(reduce_dims);
  in.operands = {x, init};
  in.called_roots = {reducer_root};
  return emit(std::move(in));
}

int32_t HloBuilder::reduce_window(int32_t x, std::vector<WindowDim> window, int32_t reducer_root) {
  const std::vector<int64_t> xd = dims(x);
  TG_CHECK(window.size() == xd.size(), "reduce-window arity");
  std::vector<int64_t> od(xd.size());
  for (size_t i = 0; i < xd.size(); ++i) od[i] = window_out(xd[i], window[i]);
  int32_t init = constant(type(x));
  Instr in;
  in.opcode = op::kReduceWindow;
  in.type = type(x);
  in.dims = std::move(od);
  in.window = std::move(window);
  in.operands = {x, init};
  in.called_roots = {reducer_root};
  return emit(std::move(in));
}

int32_t HloBuilder::select_and_scatter(int32_t x, int32_t source, std::vector<WindowDim> window,
                                       int32_t select_root, int32_t scatter_root) {
  const std::vector<int64_t> xd = dims(x);  // a copy: emitting the init constant reallocates
  TG_CHECK(window.size() == xd.size(), "select-and-scatter arity");
  for (size_t i = 0; i < xd.size(); ++i)
    TG_CHECK(window_out(xd[i], window[i]) == dims(source)[i], "select-and-scatter source shape");
  int32_t init = constant(type(x));
  Instr in;
  in.opcode = op::kSelectAndScatter;
  in.type = type(x);
  in.dims = xd;
  in.window = std::move(window);
  in.operands = {x, source, init};
  in.called_roots = {select_root, scatter_root};
  return emit(std::move(in));
}

int32_t HloBuilder::slice(int32_t x, std::vector<int64_t> start, std::vector<int64_t> limit,
                          std::vector<int64_t> stride) {
  const std::vector<int64_t> xd = dims(x);
  if (stride.empty()) stride.assign(xd.size(), 1);
  TG_CHECK(start.size() == xd.size() && limit.size() == xd.size() && stride.size() == xd.size(),
           "slice arity");
  std::vector<int64_t> od(xd.size());
  for (size_t i = 0; i < xd.size(); ++i) {
    TG_CHECK(0 <= start[i] && start[i] < limit[i] && limit[i] <= xd[i], "slice bounds");
    od[i] = (limit[i] - start[i] + stride[i] - 1) / stride[i];
  }
  Instr in;
  in.opcode = op::kSlice;
  in.type = type(x);
  in.dims = std::move(od);
  in.slice_start = std::move(start);
  in.slice_limit = std::move(limit);
  in.slice_stride = std::move(stride);
  in.operands = {x};
  return emit(std::move(in));
}

int32_t HloBuilder::pad(int32_t x, std::vector<int64_t> lo, std::vector<int64_t> hi) {
  const std::vector<int64_t> xd = dims(x);
  TG_CHECK(lo.size() == xd.size() && hi.size() == xd.size(), "pad arity");
  std::vector<int64_t> od(xd.size());
  for (size_t i = 0; i < xd.size(); ++i) od[i] = xd[i] + lo[i] + hi[i];
  int32_t v = constant(type(x));
  Instr in;
  in.opcode = op::kPad;
  in.type = type(x);
  in.dims = std::move(od);
  in.pad_lo = std::move(lo);
  in.pad_hi = std::move(hi);
  in.operands = {x, v};
  return emit(std::move(in));
}

int32_t HloBuilder::concatenate(const std::vector<int32_t>& xs, int64_t dim) {
  TG_CHECK(!xs.empty(), "concatenate of nothing");
  std::vector<int64_t> od = dims(xs[0]);
  for (size_t k = 1; k < xs.size(); ++k) {
    const std::vector<int64_t> d = dims(xs[k]);
    TG_CHECK(d.size() == od.size(), "concatenate rank");
    for (size_t i = 0; i < d.size(); ++i)
      if (int64_t(i) == dim)
        od[i] += d[i];
      else
        TG_CHECK(d[i] == od[i], "concatenate shape");
  }
  Instr in;
  in.opcode = op::kConcatenate;
  in.type = type(xs[0]);
  in.dims = std::move(od);
  in.dimensions = {dim};
  in.operands = xs;
  return emit(std::move(in));
}

int32_t HloBuilder::dynamic_slice(int32_t x, const std::vector<int32_t>& starts,
                                  std::vector<int64_t> sizes) {
  const std::vector<int64_t> xd = dims(x);
  TG_CHECK(starts.size() == xd.size() && sizes.size() == xd.size(), "dynamic-slice arity");
  Instr in;
  in.opcode = op::kDynamicSlice;
  in.type = type(x);
  in.dims = sizes;
  in.dynamic_slice_sizes = std::move(sizes);
  in.operands = {x};
  for (int32_t s : starts) in.operands.push_back(s);
  return emit(std::move(in));
}

int32_t HloBuilder::gather(int32_t table, int32_t ids) {
  const std::vector<int64_t> td = dims(table);
  TG_CHECK(td.size() == 2, "gather table rank");
  std::vector<int64_t> od = dims(ids);
  od.push_back(td[1]);
  Instr in;
  in.opcode = op::kGather;
  in.type = type(table);
  in.dims = std::move(od);
  in.operands = {table, ids};
  return emit(std::move(in));
}

int32_t HloBuilder::scatter(int32_t table_like, int32_t ids, int32_t updates,
                            int32_t reducer_root) {
  Instr in;
  in.opcode = op::kScatter;
  in.type = type(table_like);
  in.dims = dims(table_like);
  in.operands = {table_like, ids, updates};
  in.called_roots = {reducer_root};
  return emit(std::move(in));
}

int32_t HloBuilder::all_reduce(int32_t x, int32_t reducer_root) {
  Instr in;
  in.opcode = op::kAllReduce;
  in.type = type(x);
  in.dims = dims(x);
  in.operands = {x};
  in.called_roots = {reducer_root};
  return emit(std::move(in));
}

int32_t HloBuilder::tuple(const std::vector<int32_t>& xs) {
  Instr in;
  in.opcode = op::kTuple;
  in.type = ElemType::kTuple;
  in.tuple_size = static_cast<int64_t>(xs.size());
  in.operands = xs;
  return emit(std::move(in));
}

int32_t HloBuilder::get_tuple_element(int32_t t, int64_t index, ElemType et,
                                      std::vector<int64_t> d) {
  TG_CHECK(at(t).is_tuple(), "get-tuple-element of a non-tuple");
  Instr in;
  in.opcode = op::kGetTupleElement;
  in.type = et;
  in.dims = std::move(d);
  in.tuple_index = index;
  in.operands = {t};
  return emit(std::move(in));
}

int32_t HloBuilder::while_loop(int32_t init, int32_t cond_root, int32_t body_root) {
  TG_CHECK(at(init).is_tuple(), "while of a non-tuple");
  Instr in;
  in.opcode = op::kWhile;
  in.type = ElemType::kTuple;
  in.tuple_size = at(init).tuple_size;
  in.operands = {init};
  in.called_roots = {cond_root, body_root};
  return emit(std::move(in));
}

// ---------------------------------------------------------------------------------------------
// Encoding

namespace {

// seq-k block: k leading values (0-padded), sum and product over the whole list; the product of
// an empty list is 1 (node features).
template <size_t K>
void seq(float* out, const std::vector<int64_t>& v) {
  int64_t sum = 0, prod = 1;
  for (size_t i = 0; i < v.size(); ++i) {
    sum += v[i];
    prod *= v[i];
    if (i < K) out[i] = static_cast<float>(v[i]);
  }
  out[K] = static_cast<float>(sum);
  out[K + 1] = static_cast<float>(prod);
}

template <size_t K>
void noagg(float* out, const std::vector<int64_t>& v) {
  for (size_t i = 0; i < v.size() && i < K; ++i) out[i] = static_cast<float>(v[i]);
}

template <typename F>
std::vector<int64_t> window_field(const std::vector<WindowDim>& w, F f) {
  std::vector<int64_t> v;
  v.reserve(w.size());
  for (const auto& d : w) v.push_back(f(d));
  return v;
}

}  // namespace

std::array<float, 140> featurize(const Instr& in) {
  std::array<float, 140> f{};
  f[0] = in.is_root ? 1.f : 0.f;
  f[1] = 0.f;  // element_size_in_bits: always 0 in TpuGraphs
  f[2 + static_cast<size_t>(in.type)] = 1.f;
  seq<6>(&f[21], in.dims);
  f[29] = static_cast<float>(in.tuple_size);
  f[30] = static_cast<float>(in.parameter_number);
  noagg<6>(&f[31], in.dimensions);
  const auto& w = in.window;
  seq<6>(&f[37], window_field(w, [](const WindowDim& d) { return d.size; }));
  seq<6>(&f[45], window_field(w, [](const WindowDim& d) { return d.stride; }));
  seq<6>(&f[53], window_field(w, [](const WindowDim& d) { return d.pad_lo; }));
  seq<6>(&f[61], window_field(w, [](const WindowDim& d) { return d.pad_hi; }));
  seq<6>(&f[69], window_field(w, [](const WindowDim& d) { return d.window_dilation; }));
  seq<6>(&f[77], window_field(w, [](const WindowDim& d) { return d.base_dilation; }));
  int64_t pos = 0, neg = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    if (i < 6) f[85 + i] = w[i].reversal ? 1.f : 0.f;
    (w[i].reversal ? pos : neg) += 1;
  }
  f[91] = static_cast<float>(pos);
  f[92] = static_cast<float>(neg);
  if (in.is_conv) {
    const ConvDims& c = in.conv;
    f[93] = static_cast<float>(c.in_batch);
    f[94] = static_cast<float>(c.in_feature);
    noagg<4>(&f[95], c.in_spatial);
    f[99] = static_cast<float>(c.k_in);
    f[100] = static_cast<float>(c.k_out);
    noagg<4>(&f[101], c.k_spatial);
    f[105] = static_cast<float>(c.out_batch);
    f[106] = static_cast<float>(c.out_feature);
  }
  f[107] = static_cast<float>(in.feature_group_count);
  f[108] = static_cast<float>(in.batch_group_count);
  seq<2>(&f[109], in.slice_start);
  seq<2>(&f[113], in.slice_stride);
  seq<2>(&f[117], in.slice_limit);
  seq<2>(&f[121], in.dynamic_slice_sizes);
  seq<2>(&f[125], in.pad_lo);
  seq<2>(&f[129], in.pad_hi);
  f[133] = in.is_stable ? 1.f : 0.f;
  // The module's layout before layout assignment: row-major; 0-padded like TpuGraphs.
  if (!in.is_tuple()) noagg<6>(&f[134], default_minor_to_major(in.rank()));
  return f;
}

std::vector<float> node_features(const Module& m) {
  std::vector<float> out(static_cast<size_t>(m.size()) * 140);
  for (int64_t i = 0; i < m.size(); ++i) {
    auto row = featurize(m.at(i));
    std::copy(row.begin(), row.end(), out.begin() + i * 140);
  }
  return out;
}

std::vector<int64_t> edge_index(const Module& m) {
  std::vector<std::pair<int64_t, int64_t>> e;
  for (int64_t u = 0; u < m.size(); ++u) {
    const Instr& in = m.at(u);
    for (int32_t v : in.operands) e.emplace_back(u, v);
    for (int32_t v : in.called_roots) e.emplace_back(u, v);
  }
  std::sort(e.begin(), e.end());
  e.erase(std::unique(e.begin(), e.end()), e.end());
  std::vector<int64_t> flat;
  flat.reserve(e.size() * 2);
  for (const auto& [u, v] : e) {
    TG_CHECK(u > v, "edge ", u, " -> ", v, " violates user > operand");
    flat.push_back(u);
    flat.push_back(v);
  }
  return flat;
}

std::vector<uint8_t> node_opcodes(const Module& m) {
  std::vector<uint8_t> o(static_cast<size_t>(m.size()));
  for (int64_t i = 0; i < m.size(); ++i) o[static_cast<size_t>(i)] = m.at(i).opcode;
  return o;
}

LayoutGraph layout_graph(const Module& m, const std::string& stem) {
  LayoutGraph g;
  g.path = "synthetic module " + stem;
  g.stem = stem;
  g.num_nodes = m.size();
  g.node_feat = node_features(m);
  g.node_opcode = node_opcodes(m);
  g.edge_index = edge_index(m);
  g.num_edges = static_cast<int64_t>(g.edge_index.size() / 2);
  g.node_config_ids = m.configurable_nodes();
  g.num_config_nodes = static_cast<int64_t>(g.node_config_ids.size());
  return g;
}

}  // namespace tgraph::synth
