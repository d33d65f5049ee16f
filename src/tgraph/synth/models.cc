#include "tgraph/synth/models.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <unordered_map>
#include <utility>

#include "tgraph/util/error.h"

namespace tgraph::synth {

namespace {

std::vector<int64_t> iota_vec(int64_t lo, int64_t hi) {  // [lo, hi)
  std::vector<int64_t> v;
  for (int64_t i = lo; i < hi; ++i) v.push_back(i);
  return v;
}

std::vector<int64_t> inverse_perm(const std::vector<int64_t>& p) {
  std::vector<int64_t> inv(p.size());
  for (size_t i = 0; i < p.size(); ++i) inv[size_t(p[i])] = int64_t(i);
  return inv;
}

bool contains(const std::vector<int64_t>& v, int64_t x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// "SAME" padding of one spatial dimension (TensorFlow's rule).
WindowDim same_window(int64_t in, int64_t k, int64_t s) {
  WindowDim w;
  w.size = k;
  w.stride = s;
  const int64_t out = (in + s - 1) / s;
  const int64_t total = std::max<int64_t>((out - 1) * s + k - in, 0);
  w.pad_lo = total / 2;
  w.pad_hi = total - w.pad_lo;
  return w;
}

// Channels-last convolution dimension numbers (NHWC / NDHWC input and output, HWIO kernel).
ConvDims channels_last_dims(int r) {
  ConvDims cd;
  cd.in_batch = 0;
  cd.in_feature = r - 1;
  cd.in_spatial = iota_vec(1, r - 1);
  cd.k_spatial = iota_vec(0, r - 2);
  cd.k_in = r - 2;
  cd.k_out = r - 1;
  cd.out_batch = 0;
  cd.out_feature = r - 1;
  cd.out_spatial = iota_vec(1, r - 1);
  return cd;
}

// A network under construction: forward layers emit HLO and, in training mode, record a closure
// that emits the backward ops; weights become parameters (inference) or loop-carried tuple
// elements of a while body (training, with an optimizer update at the end of the body).
class Net {
 public:
  Net(HloBuilder& b, const ModelSpec& s) : b_(b), s_(s), t_(s.dtype) {}

  HloBuilder& b() { return b_; }
  ElemType t() const { return t_; }
  bool train() const { return s_.train; }

  // Reducer computations come first in module order (callees before callers).
  void make_reducers() {
    add_ = b_.reducer(op::kAdd, t_, "add_reducer");
    max_ = b_.reducer(op::kMaximum, t_, "max_reducer");
    ge_ = b_.ge_selector(t_, "ge_select");
  }
  int32_t add_reducer() const { return add_; }
  int32_t max_reducer() const { return max_; }

  void begin_main() {
    if (train()) {
      b_.begin("while_body");
      body_param_ = b_.tuple_parameter(0, 0);  // tuple size patched in finish()
      elems_.push_back({ElemType::kS32, {}});
      counter_ = b_.get_tuple_element(body_param_, 0, ElemType::kS32, {});
      outputs_.push_back(-1);
    } else {
      b_.begin("cluster_0");
    }
  }

  // A non-trainable input (images, token ids, labels, masks).
  int32_t input(ElemType et, std::vector<int64_t> dims) { return source(et, std::move(dims)); }

  int32_t weight(std::vector<int64_t> dims) {
    int32_t w = source(t_, std::move(dims));
    mark_needs(w, true);
    weights_.push_back({w, static_cast<int64_t>(elems_.size()) - 1});
    return w;
  }

  // ---- layers ----------------------------------------------------------------------------------

  int32_t conv(int32_t x, int32_t w, int64_t stride, int64_t groups = 1, int64_t base_dil = 1) {
    const auto xd = b_.dims(x);
    const auto wd = b_.dims(w);
    const int r = static_cast<int>(xd.size());
    std::vector<WindowDim> win;
    for (int i = 0; i < r - 2; ++i) {
      WindowDim wdim = same_window(xd[size_t(i + 1)], wd[size_t(i)], stride);
      if (base_dil > 1) {  // upsampling ("transposed") convolution: out = base_dil * in
        wdim.base_dilation = base_dil;
        wdim.stride = 1;
        wdim.pad_lo = (wd[size_t(i)] - 1) / 2;
        wdim.pad_hi = wd[size_t(i)] + base_dil - 2 - wdim.pad_lo;
      }
      win.push_back(wdim);
    }
    int32_t y = b_.convolution(x, w, win, channels_last_dims(r), groups, 1);
    record(y, {x, w}, [=](int32_t dy) {
      if (needs(x)) add_grad(x, conv_backward_input(dy, w, win, xd, groups));
      if (needs(w)) add_grad(w, conv_backward_filter(x, dy, win, groups));
    });
    return y;
  }

  int32_t bias_add(int32_t x, int32_t bias) {
    const auto xd = b_.dims(x);
    const int64_t r = int64_t(xd.size());
    int32_t y = b_.binary(op::kAdd, x, b_.broadcast(bias, xd, {r - 1}));
    record(y, {x, bias}, [=](int32_t dy) {
      add_grad(x, dy);
      if (needs(bias)) add_grad(bias, b_.reduce(dy, iota_vec(0, r - 1), add_));
    });
    return y;
  }

  int32_t relu(int32_t x) {
    const auto xd = b_.dims(x);
    int32_t y = b_.binary(op::kMaximum, x, b_.splat(t_, xd));
    record(y, {x}, [=](int32_t dy) {
      int32_t pos = b_.compare(x, b_.splat(t_, xd));
      add_grad(x, b_.select(pos, dy, b_.splat(t_, xd)));
    });
    return y;
  }

  int32_t add(int32_t a, int32_t c) {
    int32_t y = b_.binary(op::kAdd, a, c);
    record(y, {a, c}, [=](int32_t dy) {
      add_grad(a, dy);
      add_grad(c, dy);
    });
    return y;
  }

  int32_t scale(int32_t x) {
    const auto xd = b_.dims(x);
    int32_t y = b_.binary(op::kMultiply, x, b_.splat(t_, xd));
    record(y, {x},
           [=](int32_t dy) { add_grad(x, b_.binary(op::kMultiply, dy, b_.splat(t_, xd))); });
    return y;
  }

  int32_t tanh(int32_t x) {
    const auto xd = b_.dims(x);
    int32_t y = b_.unary(op::kTanh, x);
    record(y, {x}, [=](int32_t dy) {
      int32_t one_m = b_.binary(op::kSubtract, b_.splat(t_, xd), b_.binary(op::kMultiply, y, y));
      add_grad(x, b_.binary(op::kMultiply, dy, one_m));
    });
    return y;
  }

  // Normalisation over `dims` with a per-feature (last dim) scale and shift. Inference folds the
  // statistics into the scale/shift weights; training computes batch statistics.
  int32_t normalize(int32_t x, const std::vector<int64_t>& red_dims, bool layer_norm) {
    const auto xd = b_.dims(x);
    const int64_t r = int64_t(xd.size());
    const int64_t C = xd.back();
    // Axes kept by the statistics: layer norm keeps all but the last, batch norm only the last.
    std::vector<int64_t> keep;
    for (int64_t i = 0; i < r; ++i)
      if (!contains(red_dims, i)) keep.push_back(i);
    int32_t gamma = weight({C});
    int32_t beta = weight({C});
    if (!train() && !layer_norm) {
      int32_t y = b_.binary(op::kMultiply, x, b_.broadcast(gamma, xd, {r - 1}));
      return b_.binary(op::kAdd, y, b_.broadcast(beta, xd, {r - 1}));
    }
    auto stat = [&](int32_t v) {  // mean over red_dims, broadcast back to xd
      int32_t s = b_.reduce(v, red_dims, add_);
      int32_t m = b_.binary(op::kDivide, s, b_.splat(t_, b_.dims(s)));
      return std::make_pair(m, b_.broadcast(m, xd, keep));
    };
    auto [mean, mean_b] = stat(x);
    (void)mean;
    int32_t xc = b_.binary(op::kSubtract, x, mean_b);
    auto [var, var_b] = stat(b_.binary(op::kMultiply, xc, xc));
    (void)var;
    int32_t inv_b = b_.unary(op::kRsqrt, b_.binary(op::kAdd, var_b, b_.splat(t_, xd)));
    int32_t xhat = b_.binary(op::kMultiply, xc, inv_b);
    int32_t g_b = b_.broadcast(gamma, xd, {r - 1});
    int32_t y =
        b_.binary(op::kAdd, b_.binary(op::kMultiply, xhat, g_b), b_.broadcast(beta, xd, {r - 1}));
    record(y, {x, gamma, beta}, [=](int32_t dy) {
      std::vector<int64_t> all_but_last = iota_vec(0, r - 1);
      if (needs(beta)) add_grad(beta, b_.reduce(dy, all_but_last, add_));
      if (needs(gamma))
        add_grad(gamma, b_.reduce(b_.binary(op::kMultiply, dy, xhat), all_but_last, add_));
      if (needs(x)) {
        int32_t dxhat = b_.binary(op::kMultiply, dy, b_.broadcast(gamma, xd, {r - 1}));
        int32_t m1 = b_.reduce(dxhat, red_dims, add_);
        m1 = b_.binary(op::kDivide, m1, b_.splat(t_, b_.dims(m1)));
        int32_t m2 = b_.reduce(b_.binary(op::kMultiply, dxhat, xhat), red_dims, add_);
        m2 = b_.binary(op::kDivide, m2, b_.splat(t_, b_.dims(m2)));
        int32_t d = b_.binary(op::kSubtract, dxhat, b_.broadcast(m1, xd, keep));
        d = b_.binary(op::kSubtract, d, b_.binary(op::kMultiply, xhat, b_.broadcast(m2, xd, keep)));
        add_grad(x, b_.binary(op::kMultiply, d, inv_b));
      }
    });
    return y;
  }

  int32_t batch_norm(int32_t x) {
    const int64_t r = b_.at(x).rank();
    return normalize(x, iota_vec(0, r - 1), false);
  }
  int32_t layer_norm(int32_t x) {
    const int64_t r = b_.at(x).rank();
    return normalize(x, {r - 1}, true);
  }

  int32_t max_pool(int32_t x, int64_t k, int64_t s) {
    const auto xd = b_.dims(x);
    std::vector<WindowDim> win(xd.size());
    for (size_t i = 1; i + 1 < xd.size(); ++i) win[i] = same_window(xd[i], k, s);
    int32_t y = b_.reduce_window(x, win, max_);
    record(y, {x}, [=](int32_t dy) { add_grad(x, b_.select_and_scatter(x, dy, win, ge_, add_)); });
    return y;
  }

  // Mean over the spatial dims of a channels-last tensor -> [N, C].
  int32_t global_avg_pool(int32_t x) {
    const auto xd = b_.dims(x);
    const int64_t r = int64_t(xd.size());
    int32_t s = b_.reduce(x, iota_vec(1, r - 1), add_);
    int32_t y = b_.binary(op::kDivide, s, b_.splat(t_, b_.dims(s)));
    record(y, {x}, [=](int32_t dy) {
      int32_t d = b_.binary(op::kDivide, dy, b_.splat(t_, b_.dims(dy)));
      add_grad(x, b_.broadcast(d, xd, {0, r - 1}));
    });
    return y;
  }

  int32_t matmul(int32_t a, int32_t c, DotDims dd) {
    int32_t y = b_.dot(a, c, dd);
    record(y, {a, c}, [=](int32_t dy) {
      if (needs(a)) add_grad(a, dot_grad_lhs(dy, a, c, dd));
      if (needs(c)) add_grad(c, dot_grad_rhs(dy, a, c, dd));
    });
    return y;
  }

  // x [..., K] @ w [K, F] -> [..., F].
  int32_t dense(int32_t x, int32_t w) {
    DotDims dd;
    dd.lhs_contract = {b_.at(x).rank() - 1};
    dd.rhs_contract = {0};
    return matmul(x, w, dd);
  }

  int32_t reshape(int32_t x, std::vector<int64_t> dims) {
    const auto xd = b_.dims(x);
    int32_t y = b_.reshape(x, std::move(dims));
    record(y, {x}, [=](int32_t dy) { add_grad(x, b_.reshape(dy, xd)); });
    return y;
  }

  int32_t transpose(int32_t x, std::vector<int64_t> perm) {
    int32_t y = b_.transpose(x, perm);
    record(y, {x}, [=](int32_t dy) { add_grad(x, b_.transpose(dy, inverse_perm(perm))); });
    return y;
  }

  int32_t softmax(int32_t x) {
    const auto xd = b_.dims(x);
    const int64_t r = int64_t(xd.size());
    std::vector<int64_t> keep = iota_vec(0, r - 1);
    int32_t m = b_.reduce(x, {r - 1}, max_);
    int32_t e = b_.unary(op::kExp, b_.binary(op::kSubtract, x, b_.broadcast(m, xd, keep)));
    int32_t s = b_.reduce(e, {r - 1}, add_);
    int32_t y = b_.binary(op::kDivide, e, b_.broadcast(s, xd, keep));
    record(y, {x}, [=](int32_t dy) {
      int32_t dot_yy = b_.reduce(b_.binary(op::kMultiply, dy, y), {r - 1}, add_);
      int32_t d = b_.binary(op::kSubtract, dy, b_.broadcast(dot_yy, xd, keep));
      add_grad(x, b_.binary(op::kMultiply, y, d));
    });
    return y;
  }

  int32_t gelu(int32_t x) {
    const auto xd = b_.dims(x);
    auto mul = [&](int32_t a, int32_t c) { return b_.binary(op::kMultiply, a, c); };
    int32_t x3 = mul(mul(x, x), x);
    int32_t inner = mul(b_.binary(op::kAdd, x, mul(x3, b_.splat(t_, xd))), b_.splat(t_, xd));
    int32_t th = b_.unary(op::kTanh, inner);
    int32_t y = mul(mul(x, b_.splat(t_, xd)), b_.binary(op::kAdd, th, b_.splat(t_, xd)));
    record(y, {x}, [=](int32_t dy) {
      auto mul2 = [&](int32_t a, int32_t c) { return b_.binary(op::kMultiply, a, c); };
      int32_t one_m = b_.binary(op::kSubtract, b_.splat(t_, xd), mul2(th, th));
      int32_t left = mul2(b_.binary(op::kAdd, th, b_.splat(t_, xd)), b_.splat(t_, xd));
      int32_t right = mul2(mul2(x, one_m), b_.splat(t_, xd));
      add_grad(x, mul2(dy, b_.binary(op::kAdd, left, right)));
    });
    return y;
  }

  int32_t embed(int32_t table, int32_t ids) {
    const auto td = b_.dims(table);
    int32_t y = b_.gather(table, ids);
    record(y, {table}, [=](int32_t dy) {
      if (needs(table)) add_grad(table, b_.scatter(b_.splat(t_, td), ids, dy, add_));
    });
    return y;
  }

  int32_t slice(int32_t x, std::vector<int64_t> start, std::vector<int64_t> limit) {
    const auto xd = b_.dims(x);
    int32_t y = b_.slice(x, start, limit);
    record(y, {x}, [=](int32_t dy) {
      std::vector<int64_t> hi(xd.size());
      for (size_t i = 0; i < xd.size(); ++i) hi[i] = xd[i] - limit[i];
      add_grad(x, b_.pad(dy, start, hi));  // the gradient of a slice is a zero-padded dy
    });
    return y;
  }

  int32_t concat(const std::vector<int32_t>& xs, int64_t dim) {
    int32_t y = b_.concatenate(xs, dim);
    const auto yd = b_.dims(y);
    record(y, xs, [=](int32_t dy) {
      int64_t off = 0;
      for (int32_t x : xs) {
        const auto xd = b_.dims(x);
        std::vector<int64_t> lo(yd.size(), 0), hi = yd;
        lo[size_t(dim)] = off;
        hi[size_t(dim)] = off + xd[size_t(dim)];
        off += xd[size_t(dim)];
        if (needs(x)) add_grad(x, b_.slice(dy, lo, hi));
      }
    });
    return y;
  }

  // Softmax cross-entropy head. Inference: returns the probabilities. Training: seeds the
  // gradient of `logits`, runs the backward pass and the optimizer, returns the loss.
  int32_t loss_and_backward(int32_t logits, int32_t labels) {
    const auto ld = b_.dims(logits);
    const int64_t r = int64_t(ld.size());
    std::vector<int64_t> keep = iota_vec(0, r - 1);
    int32_t m = b_.reduce(logits, {r - 1}, max_);
    int32_t e = b_.unary(op::kExp, b_.binary(op::kSubtract, logits, b_.broadcast(m, ld, keep)));
    int32_t s = b_.reduce(e, {r - 1}, add_);
    int32_t probs = b_.binary(op::kDivide, e, b_.broadcast(s, ld, keep));
    if (!train()) return probs;
    int32_t logp = b_.unary(op::kLog, probs);
    int32_t loss = b_.reduce(b_.binary(op::kMultiply, labels, logp), iota_vec(0, r), add_);
    loss = b_.unary(op::kNegate, loss);
    int32_t dlogits = b_.binary(op::kSubtract, probs, labels);
    dlogits = b_.binary(op::kDivide, dlogits, b_.splat(t_, ld));
    grad_[logits] = dlogits;
    for (size_t i = tape_.size(); i-- > 0;) {
      auto it = grad_.find(tape_[i].y);
      if (it != grad_.end()) tape_[i].fn(it->second);
    }
    optimizer();
    return loss;
  }

  // Closes the main computation. Inference: root = tuple(outputs). Training: the body's root
  // tuple, the loop condition and the entry computation (parameters, tuple, while).
  void finish(const std::vector<int32_t>& results) {
    if (!train()) {
      b_.end(b_.tuple(results));
      return;
    }
    // The loss and other results are carried out of the loop in extra tuple elements.
    for (int32_t r : results) {
      source(b_.type(r), b_.dims(r));
      outputs_.back() = r;
    }
    outputs_[0] = b_.binary(op::kAdd, counter_, b_.constant(ElemType::kS32));
    std::vector<int32_t> outs;
    for (size_t i = 0; i < elems_.size(); ++i)
      outs.push_back(outputs_[i] >= 0 ? outputs_[i] : gtes_[i]);
    const int64_t K = int64_t(elems_.size());
    b_.mutable_at(body_param_).tuple_size = K;
    int32_t body_root = b_.end(b_.tuple(outs));
    b_.begin("while_cond");
    int32_t p = b_.tuple_parameter(0, K);
    int32_t c = b_.get_tuple_element(p, 0, ElemType::kS32, {});
    int32_t cond_root = b_.end(b_.compare(c, b_.constant(ElemType::kS32)));
    b_.begin("main");
    std::vector<int32_t> init;
    for (int64_t i = 0; i < K; ++i)
      init.push_back(b_.parameter(i, elems_[size_t(i)].first, elems_[size_t(i)].second));
    b_.end(b_.while_loop(b_.tuple(init), cond_root, body_root));
  }

 private:
  struct TapeEntry {
    int32_t y;
    std::function<void(int32_t)> fn;
  };

  int32_t source(ElemType et, std::vector<int64_t> dims) {
    if (!train()) {
      int32_t p = b_.parameter(next_param_++, et, std::move(dims));
      gtes_.push_back(p);
      return p;
    }
    const int64_t idx = int64_t(elems_.size());
    elems_.push_back({et, dims});
    int32_t g = b_.get_tuple_element(body_param_, idx, et, std::move(dims));
    gtes_.resize(elems_.size(), -1);
    gtes_[size_t(idx)] = g;
    outputs_.push_back(-1);
    return g;
  }

  bool needs(int32_t x) const { return size_t(x) < needs_.size() && needs_[size_t(x)]; }
  void mark_needs(int32_t x, bool v) {
    if (needs_.size() <= size_t(x)) needs_.resize(size_t(x) + 1, false);
    needs_[size_t(x)] = v;
  }

  void record(int32_t y, const std::vector<int32_t>& xs, std::function<void(int32_t)> fn) {
    if (!train()) return;
    bool any = false;
    for (int32_t x : xs) any |= needs(x);
    if (!any) return;
    mark_needs(y, true);
    tape_.push_back({y, std::move(fn)});
  }

  void add_grad(int32_t x, int32_t g) {
    if (!needs(x)) return;
    TG_CHECK(b_.dims(g) == b_.dims(x), "gradient shape mismatch for node ", x);
    auto it = grad_.find(x);
    if (it == grad_.end())
      grad_[x] = g;
    else
      it->second = b_.binary(op::kAdd, it->second, g);
  }

  // Gradient of a convolution w.r.t. its input: a convolution of dy with the reversed kernel.
  int32_t conv_backward_input(int32_t dy, int32_t w, const std::vector<WindowDim>& fwd,
                              const std::vector<int64_t>& xd, int64_t groups) {
    const auto wd = b_.dims(w);
    const auto yd = b_.dims(dy);
    const int r = int(xd.size());
    std::vector<WindowDim> win;
    for (int i = 0; i < r - 2; ++i) {
      const WindowDim& f = fwd[size_t(i)];
      const int64_t k = f.size, H = xd[size_t(i + 1)], Ho = yd[size_t(i + 1)];
      WindowDim d;
      d.size = k;
      d.reversal = true;
      d.pad_lo = k - 1 - f.pad_lo;
      if (f.base_dilation == 1) {
        d.base_dilation = f.stride;
        d.pad_hi = H + k - 1 - d.pad_lo - ((Ho - 1) * f.stride + 1);
      } else {  // upsampling conv: its input gradient is a strided conv
        d.stride = f.base_dilation;
        d.pad_hi = (H - 1) * f.base_dilation + k - Ho - d.pad_lo;
      }
      win.push_back(d);
    }
    ConvDims cd = channels_last_dims(r);
    if (groups == 1) std::swap(cd.k_in, cd.k_out);
    return b_.convolution(dy, w, win, cd, groups, 1);
  }

  // Gradient w.r.t. the kernel: input and dy convolved with batch and feature roles swapped.
  int32_t conv_backward_filter(int32_t x, int32_t dy, const std::vector<WindowDim>& fwd,
                               int64_t groups) {
    const auto xd = b_.dims(x);
    const auto yd = b_.dims(dy);
    const int r = int(xd.size());
    std::vector<WindowDim> win;
    for (int i = 0; i < r - 2; ++i) {
      const WindowDim& f = fwd[size_t(i)];
      const int64_t k = f.size, H = xd[size_t(i + 1)], Ho = yd[size_t(i + 1)];
      WindowDim d;
      d.size = Ho;
      d.window_dilation = f.stride;
      d.base_dilation = f.base_dilation;
      d.pad_lo = f.pad_lo;
      const int64_t eff = (Ho - 1) * f.stride + 1;
      d.pad_hi = k - 1 + eff - ((H - 1) * f.base_dilation + 1) - d.pad_lo;
      win.push_back(d);
    }
    ConvDims cd;
    cd.in_batch = r - 1;
    cd.in_feature = 0;
    cd.in_spatial = iota_vec(1, r - 1);
    cd.k_in = 0;
    cd.k_out = r - 1;
    cd.k_spatial = iota_vec(1, r - 1);
    cd.out_batch = r - 2;
    cd.out_feature = r - 1;
    cd.out_spatial = iota_vec(0, r - 2);
    return b_.convolution(x, dy, win, cd, 1, groups);
  }

  // dot free dims (neither batch nor contracting), in dimension order.
  static std::vector<int64_t> free_dims(int64_t rank, const std::vector<int64_t>& batch,
                                        const std::vector<int64_t>& contract) {
    std::vector<int64_t> f;
    for (int64_t i = 0; i < rank; ++i)
      if (!contains(batch, i) && !contains(contract, i)) f.push_back(i);
    return f;
  }

  // Transposes `g` (whose dim p is target dim R[p]) into the target's dimension order.
  int32_t to_order(int32_t g, const std::vector<int64_t>& R) {
    std::vector<int64_t> perm(R.size());
    bool identity = true;
    for (size_t p = 0; p < R.size(); ++p) {
      perm[size_t(R[p])] = int64_t(p);
      identity &= R[p] == int64_t(p);
    }
    return identity ? g : b_.transpose(g, perm);
  }

  // y = dot(a, c): da = dot(dy, c) contracting c's free dims.
  int32_t dot_grad_lhs(int32_t dy, int32_t a, int32_t c, const DotDims& dd) {
    const int64_t ra = b_.at(a).rank(), rc = b_.at(c).rank();
    const int64_t nb = int64_t(dd.lhs_batch.size());
    auto fa = free_dims(ra, dd.lhs_batch, dd.lhs_contract);
    auto fc = free_dims(rc, dd.rhs_batch, dd.rhs_contract);
    DotDims g;
    g.lhs_batch = iota_vec(0, nb);
    g.rhs_batch = dd.rhs_batch;
    for (size_t i = 0; i < fc.size(); ++i) g.lhs_contract.push_back(nb + int64_t(fa.size() + i));
    g.rhs_contract = fc;
    int32_t raw = b_.dot(dy, c, g);
    // raw dims: batch (a's batch), a's free dims, c's remaining (contract) dims in c's order.
    std::vector<int64_t> R = dd.lhs_batch;
    R.insert(R.end(), fa.begin(), fa.end());
    for (int64_t j = 0; j < rc; ++j) {
      auto it = std::find(dd.rhs_contract.begin(), dd.rhs_contract.end(), j);
      if (it != dd.rhs_contract.end())
        R.push_back(dd.lhs_contract[size_t(it - dd.rhs_contract.begin())]);
    }
    return to_order(raw, R);
  }

  // y = dot(a, c): dc = dot(a, dy) contracting a's free dims.
  int32_t dot_grad_rhs(int32_t dy, int32_t a, int32_t c, const DotDims& dd) {
    const int64_t ra = b_.at(a).rank(), rc = b_.at(c).rank();
    const int64_t nb = int64_t(dd.lhs_batch.size());
    auto fa = free_dims(ra, dd.lhs_batch, dd.lhs_contract);
    auto fc = free_dims(rc, dd.rhs_batch, dd.rhs_contract);
    DotDims g;
    g.lhs_batch = dd.lhs_batch;
    g.rhs_batch = iota_vec(0, nb);
    g.lhs_contract = fa;
    for (size_t i = 0; i < fa.size(); ++i) g.rhs_contract.push_back(nb + int64_t(i));
    int32_t raw = b_.dot(a, dy, g);
    // raw dims: batch (c's batch), a's remaining (contract) dims in a's order, then dy's free
    // dims that came from c (c's free dims).
    std::vector<int64_t> R = dd.rhs_batch;
    for (int64_t j = 0; j < ra; ++j) {
      auto it = std::find(dd.lhs_contract.begin(), dd.lhs_contract.end(), j);
      if (it != dd.lhs_contract.end())
        R.push_back(dd.rhs_contract[size_t(it - dd.lhs_contract.begin())]);
    }
    R.insert(R.end(), fc.begin(), fc.end());
    return to_order(raw, R);
  }

  void optimizer() {
    for (const auto& [w, idx] : weights_) {
      auto it = grad_.find(w);
      if (it == grad_.end()) continue;
      int32_t g = it->second;
      const auto wd = b_.dims(w);
      if (s_.all_reduce) g = b_.all_reduce(g, add_);
      auto mul = [&](int32_t a, int32_t c) { return b_.binary(op::kMultiply, a, c); };
      auto sp = [&]() { return b_.splat(t_, wd); };
      int32_t w_new;
      if (s_.adam) {
        int32_t m = source(t_, wd);
        const size_t mi = elems_.size() - 1;
        int32_t v = source(t_, wd);
        const size_t vi = elems_.size() - 1;
        int32_t m2 = b_.binary(op::kAdd, mul(m, sp()), mul(g, sp()));
        int32_t v2 = b_.binary(op::kAdd, mul(v, sp()), mul(mul(g, g), sp()));
        int32_t upd =
            b_.binary(op::kDivide, m2, b_.binary(op::kAdd, b_.unary(op::kSqrt, v2), sp()));
        w_new = b_.binary(op::kSubtract, w, mul(upd, sp()));
        outputs_[mi] = m2;
        outputs_[vi] = v2;
      } else {
        int32_t m = source(t_, wd);
        const size_t mi = elems_.size() - 1;
        int32_t m2 = b_.binary(op::kAdd, mul(m, sp()), g);
        w_new = b_.binary(op::kSubtract, w, mul(m2, sp()));
        outputs_[mi] = m2;
      }
      outputs_[size_t(idx)] = w_new;
    }
  }

  HloBuilder& b_;
  const ModelSpec& s_;
  ElemType t_;
  int32_t add_ = -1, max_ = -1, ge_ = -1;
  int32_t body_param_ = -1, counter_ = -1;
  int64_t next_param_ = 0;
  std::vector<std::pair<ElemType, std::vector<int64_t>>> elems_;  // loop-carried elements
  std::vector<int32_t> gtes_;     // element i as read in the body (or the parameter)
  std::vector<int32_t> outputs_;  // element i as written by the body (-1: unchanged)
  std::vector<std::pair<int32_t, int64_t>> weights_;  // (node, element index)
  std::vector<bool> needs_;
  std::vector<TapeEntry> tape_;
  std::unordered_map<int32_t, int32_t> grad_;
};

// ---- CNNs ----------------------------------------------------------------------------------

struct CnnState {
  Net& net;
  int r;  // tensor rank (4: 2-D images, 5: 3-D volumes)
  int32_t conv_bn_relu(int32_t x, int64_t cout, int64_t k, int64_t s, bool relu = true,
                       bool bn = true) {
    const auto xd = net.b().dims(x);
    std::vector<int64_t> wd(size_t(r - 2), k);
    wd.push_back(xd.back());
    wd.push_back(cout);
    int32_t y = net.conv(x, net.weight(wd), s);
    y = bn ? net.batch_norm(y) : net.bias_add(y, net.weight({cout}));
    return relu ? net.relu(y) : y;
  }
  int32_t depthwise(int32_t x, int64_t k, int64_t s) {
    const auto xd = net.b().dims(x);
    const int64_t c = xd.back();
    std::vector<int64_t> wd(size_t(r - 2), k);
    wd.push_back(1);
    wd.push_back(c);
    int32_t y = net.conv(x, net.weight(wd), s, c);
    return net.relu(net.batch_norm(y));
  }
  int64_t channels(int32_t x) const { return net.b().dims(x).back(); }
  int64_t spatial(int32_t x) const { return net.b().dims(x)[1]; }
};

// Splits `total` blocks over `stages` stages (earlier stages get the remainder).
std::vector<int> blocks_per_stage(int total, int stages) {
  std::vector<int> v(size_t(stages), total / stages);
  for (int i = 0; i < total % stages; ++i) v[size_t(i)]++;
  return v;
}

Module build_cnn(const ModelSpec& s) {
  HloBuilder b(s.name);
  Net net(b, s);
  net.make_reducers();
  net.begin_main();
  const int r = s.family == "unet3d" ? 5 : 4;
  CnnState st{net, r};
  std::vector<int64_t> in_dims{s.batch};
  for (int i = 0; i < r - 2; ++i) in_dims.push_back(s.image);
  in_dims.push_back(r == 5 ? 1 : 3);
  int32_t x = net.input(s.dtype, in_dims);
  int32_t labels = s.train ? net.input(s.dtype, {s.batch, s.classes}) : -1;
  const int64_t w = s.width;
  const std::string& f = s.family;
  int32_t feat = -1;  // [N, C] features before the classifier
  if (f == "resnet" || f == "resnet_bottleneck") {
    x = st.conv_bn_relu(x, w, 7, 2);
    x = net.max_pool(x, 3, 2);
    auto nb = blocks_per_stage(std::max(s.depth, 1), 4);
    for (int stage = 0; stage < 4; ++stage) {
      for (int blk = 0; blk < nb[size_t(stage)]; ++blk) {
        const int64_t stride = (stage > 0 && blk == 0) ? 2 : 1;
        const int64_t c = w << stage;
        const int64_t cout = f == "resnet" ? c : 4 * c;
        int32_t y;
        if (f == "resnet") {
          y = st.conv_bn_relu(x, c, 3, stride);
          y = st.conv_bn_relu(y, c, 3, 1, false);
        } else {
          y = st.conv_bn_relu(x, c, 1, 1);
          y = st.conv_bn_relu(y, c, 3, stride);
          y = st.conv_bn_relu(y, cout, 1, 1, false);
        }
        int32_t skip = x;
        if (stride != 1 || st.channels(x) != cout)
          skip = st.conv_bn_relu(x, cout, 1, stride, false);
        x = net.relu(net.add(y, skip));
      }
    }
    feat = net.global_avg_pool(x);
  } else if (f == "vgg" || f == "alexnet") {
    if (f == "alexnet") {
      x = st.conv_bn_relu(x, w, 11, 4, true, false);
      x = net.max_pool(x, 3, 2);
      x = st.conv_bn_relu(x, 3 * w, 5, 1, true, false);
      x = net.max_pool(x, 3, 2);
      for (int i = 0; i < std::max(s.depth, 1); ++i)
        x = st.conv_bn_relu(x, i == 0 ? 6 * w : 4 * w, 3, 1, true, false);
      x = net.max_pool(x, 3, 2);
    } else {
      auto nb = blocks_per_stage(std::max(s.depth, 1), 5);
      for (int stage = 0; stage < 5; ++stage) {
        for (int blk = 0; blk < std::max(nb[size_t(stage)], 1); ++blk)
          x = st.conv_bn_relu(x, std::min<int64_t>(w << stage, 8 * w), 3, 1, true, false);
        x = net.max_pool(x, 2, 2);
      }
    }
    // Flatten (a configurable reshape) and two dense layers.
    const auto xd = b.dims(x);
    int64_t flat = 1;
    for (size_t i = 1; i < xd.size(); ++i) flat *= xd[i];
    int32_t h = net.reshape(x, {s.batch, flat});
    const int64_t fc = 16 * w;
    h = net.relu(net.bias_add(net.dense(h, net.weight({flat, fc})), net.weight({fc})));
    h = net.relu(net.bias_add(net.dense(h, net.weight({fc, fc})), net.weight({fc})));
    feat = h;
  } else if (f == "mobilenet") {
    x = st.conv_bn_relu(x, w / 2, 3, 2);
    auto nb = blocks_per_stage(std::max(s.depth, 1), 4);
    for (int stage = 0; stage < 4; ++stage) {
      for (int blk = 0; blk < nb[size_t(stage)]; ++blk) {
        const int64_t stride = blk == 0 ? 2 : 1;
        const int64_t cin = st.channels(x), cout = (w / 2) << (stage + 1);
        int32_t y = st.conv_bn_relu(x, cin * 4, 1, 1);
        y = st.depthwise(y, 3, stride);
        y = st.conv_bn_relu(y, cout, 1, 1, false);
        x = (stride == 1 && cin == cout) ? net.add(x, y) : y;
      }
    }
    x = st.conv_bn_relu(x, 8 * w, 1, 1);
    feat = net.global_avg_pool(x);
  } else if (f == "inception") {
    x = st.conv_bn_relu(x, w / 2, 3, 2);
    x = st.conv_bn_relu(x, w, 3, 1);
    x = net.max_pool(x, 3, 2);
    for (int blk = 0; blk < std::max(s.depth, 1); ++blk) {
      const int64_t c = w / 2 + 16 * (blk / 2);
      int32_t b1 = st.conv_bn_relu(x, c, 1, 1);
      int32_t b2 = st.conv_bn_relu(st.conv_bn_relu(x, c, 1, 1), c, 3, 1);
      int32_t b3 =
          st.conv_bn_relu(st.conv_bn_relu(st.conv_bn_relu(x, c / 2, 1, 1), c, 3, 1), c, 3, 1);
      int32_t b4 = st.conv_bn_relu(net.max_pool(x, 3, 1), c / 2, 1, 1);
      x = net.concat({b1, b2, b3, b4}, r - 1);
      if (blk % 3 == 2 && st.spatial(x) > 2) x = net.max_pool(x, 3, 2);
    }
    feat = net.global_avg_pool(x);
  } else if (f == "unet3d") {
    std::vector<int32_t> skips;
    const int levels = std::max(1, std::min(s.depth, 4));
    int64_t c = w;
    for (int l = 0; l < levels; ++l) {
      x = st.conv_bn_relu(st.conv_bn_relu(x, c, 3, 1), c, 3, 1);
      skips.push_back(x);
      if (st.spatial(x) >= 4) x = net.max_pool(x, 2, 2);
      c *= 2;
    }
    x = st.conv_bn_relu(x, c, 3, 1);
    for (int l = levels - 1; l >= 0; --l) {
      c /= 2;
      int32_t skip = skips[size_t(l)];
      if (st.spatial(x) != st.spatial(skip)) {
        const auto xd = b.dims(x);
        std::vector<int64_t> wd(size_t(r - 2), 3);
        wd.push_back(xd.back());
        wd.push_back(c);
        x = net.relu(net.batch_norm(net.conv(x, net.weight(wd), 1, 1, 2)));
      }
      x = net.concat({x, skip}, r - 1);
      x = st.conv_bn_relu(st.conv_bn_relu(x, c, 3, 1), c, 3, 1);
    }
    feat = net.global_avg_pool(x);
  } else {
    TG_CHECK(false, "unknown CNN family ", f);
  }
  const int64_t cf = b.dims(feat).back();
  int32_t logits =
      net.bias_add(net.dense(feat, net.weight({cf, s.classes})), net.weight({s.classes}));
  int32_t out = net.loss_and_backward(logits, labels);
  net.finish({out});
  return b.finish();
}

// ---- transformers ------------------------------------------------------------------------------

Module build_transformer(const ModelSpec& s) {
  HloBuilder b(s.name);
  Net net(b, s);
  net.make_reducers();
  net.begin_main();
  const int64_t B = s.batch, S = s.seq, H = s.hidden, A = s.heads, D = s.hidden / s.heads;
  const int64_t F = s.ffn_mult * H;
  TG_CHECK(D * A == H, "hidden not divisible by heads");
  int32_t ids = net.input(ElemType::kS32, {B, S});
  int32_t mask = net.input(s.dtype, {B, S});
  int32_t labels = s.train ? net.input(s.dtype, {B, s.num_labels}) : -1;
  int32_t x = net.embed(net.weight({s.vocab, H}), ids);
  int32_t pos = net.weight({S, H});
  {
    // Position embeddings: broadcast [S, H] over the batch (its gradient is reduced back).
    int32_t pb = b.broadcast(pos, {B, S, H}, {1, 2});
    x = net.add(x, pb);
  }
  x = net.layer_norm(x);
  auto dense3 = [&](int32_t h, int64_t fin, int64_t fout) {  // [B, S, fin] -> [B, S, fout]
    int32_t wgt = net.weight({fin, fout});
    int32_t bias = net.weight({fout});
    if (s.flatten_dense) {
      int32_t h2 = net.reshape(h, {B * S, fin});
      h2 = net.bias_add(net.dense(h2, wgt), bias);
      return net.reshape(h2, {B, S, fout});
    }
    return net.bias_add(net.dense(h, wgt), bias);
  };
  auto heads = [&](int32_t h) {  // [B, S, H] -> [B, A, S, D]
    return net.transpose(net.reshape(h, {B, S, A, D}), {0, 2, 1, 3});
  };
  for (int l = 0; l < std::max(s.depth, 1); ++l) {
    int32_t q = heads(dense3(x, H, H));
    int32_t k = heads(dense3(x, H, H));
    int32_t v = heads(dense3(x, H, H));
    DotDims qk;
    qk.lhs_batch = {0, 1};
    qk.rhs_batch = {0, 1};
    qk.lhs_contract = {3};
    qk.rhs_contract = {3};
    int32_t sc = net.scale(net.matmul(q, k, qk));  // [B, A, S, S]
    sc = net.add(sc, b.broadcast(mask, {B, A, S, S}, {0, 3}));
    int32_t p = net.softmax(sc);
    DotDims pv;
    pv.lhs_batch = {0, 1};
    pv.rhs_batch = {0, 1};
    pv.lhs_contract = {3};
    pv.rhs_contract = {2};
    int32_t ctx = net.matmul(p, v, pv);  // [B, A, S, D]
    ctx = net.reshape(net.transpose(ctx, {0, 2, 1, 3}), {B, S, H});
    x = net.layer_norm(net.add(x, dense3(ctx, H, H)));
    int32_t ff = dense3(net.gelu(dense3(x, H, F)), F, H);
    x = net.layer_norm(net.add(x, ff));
  }
  // Pooler on the first token and a classifier.
  int32_t first = net.reshape(net.slice(x, {0, 0, 0}, {B, 1, H}), {B, H});
  int32_t pooled = net.tanh(net.bias_add(net.dense(first, net.weight({H, H})), net.weight({H})));
  int32_t logits =
      net.bias_add(net.dense(pooled, net.weight({H, s.num_labels})), net.weight({s.num_labels}));
  int32_t out = net.loss_and_backward(logits, labels);
  net.finish({out});
  return b.finish();
}

const char* dtype_name(ElemType t) {
  return t == ElemType::kBF16 ? "bf16" : "f32";
}

void name_spec(ModelSpec& s, const std::string& source) {
  const std::string mode = s.train ? "train" : (source == "nlp" ? "test" : "infer");
  if (s.family == "bert" && source == "nlp") {
    s.name = str_cat("bert_en_syn_L-", s.depth, "_H-", s.hidden, "_A-", s.heads, "_batch_size_",
                     s.batch, "_", mode);
  } else if (s.family == "bert" || s.family == "transformer") {
    s.name =
        str_cat(s.family == "bert" ? "bert_classifier" : "transformer", "_syn_L", s.depth, "_H",
                s.hidden, "_S", s.seq, "_b", s.batch, "_", dtype_name(s.dtype), "_", mode);
  } else {
    s.name = str_cat(s.family, "_syn_d", s.depth, "_w", s.width, "_i", s.image, "_b", s.batch, "_",
                     dtype_name(s.dtype), "_", mode);
  }
  if (s.all_reduce) s.name += "_4x4";
}

}  // namespace

Module build_model(const ModelSpec& s) {
  if (s.family == "bert" || s.family == "transformer") return build_transformer(s);
  return build_cnn(s);
}

namespace {

ModelSpec base_spec(const std::string& source, Rng& rng) {
  ModelSpec s;
  s.dtype = bernoulli(rng, 0.6) ? ElemType::kBF16 : ElemType::kF32;
  s.train = bernoulli(rng, 0.5);
  s.all_reduce = s.train && bernoulli(rng, 0.4);
  if (source == "nlp") {
    s.family = "bert";
    s.hidden = pick(std::vector<int64_t>{128, 256, 512, 768, 1024}, rng);
    s.heads = std::max<int64_t>(2, s.hidden / 64);
    s.seq = pick(std::vector<int64_t>{128, 256, 512}, rng);
    s.batch = pick(std::vector<int64_t>{16, 32, 64}, rng);
    s.flatten_dense = bernoulli(rng, 0.5);
    s.adam = true;
    s.dtype = bernoulli(rng, 0.3) ? ElemType::kBF16 : ElemType::kF32;
    return s;
  }
  const std::vector<std::string> fams{"resnet",     "resnet_bottleneck", "vgg",    "alexnet",
                                      "mobilenet",  "inception",         "unet3d", "bert",
                                      "transformer"};
  const std::vector<double> wts{3, 2, 1, 1, 2, 1.5, 1, 2, 1.5};
  s.family = fams[pick_weighted(wts, rng)];
  if (s.family == "bert" || s.family == "transformer") {
    s.hidden = pick(std::vector<int64_t>{256, 512, 768, 1024}, rng);
    s.heads = s.hidden / 64;
    s.seq = pick(std::vector<int64_t>{128, 256, 512}, rng);
    s.batch = pick(std::vector<int64_t>{8, 16, 32, 64}, rng);
    s.vocab = s.family == "bert" ? 30522 : 32000;
    s.flatten_dense = bernoulli(rng, 0.5);
    s.adam = bernoulli(rng, 0.7);
    return s;
  }
  s.batch = pick(std::vector<int64_t>{8, 16, 32, 64, 128}, rng);
  s.image = pick(std::vector<int64_t>{64, 112, 160, 224}, rng);
  s.width = pick(std::vector<int64_t>{16, 32, 64}, rng);
  if (s.family == "alexnet") s.image = std::max<int64_t>(s.image, 112);
  if (s.family == "unet3d") {
    s.batch = pick(std::vector<int64_t>{1, 2, 4}, rng);
    s.image = pick(std::vector<int64_t>{32, 48, 64}, rng);
    s.width = pick(std::vector<int64_t>{8, 16, 32}, rng);
  }
  s.adam = false;
  return s;
}

int max_depth(const ModelSpec& s) {
  if (s.family == "unet3d") return 4;
  if (s.family == "bert" || s.family == "transformer") return 200;
  return 120;
}

// Picks the depth whose node count is closest to target (node count is close to linear in it).
void fit_depth(ModelSpec& s, int64_t target) {
  const int hi = max_depth(s);
  auto nodes = [&](int d) {
    ModelSpec t = s;
    t.depth = d;
    return build_model(t).size();
  };
  const int64_t n1 = nodes(1);
  const int64_t n2 = nodes(std::min(2, hi));
  int d = 1;
  if (n2 > n1) d = int(std::lround(1.0 + double(target - n1) / double(n2 - n1)));
  d = std::max(1, std::min(hi, d));
  // One correction step against the actual count.
  const int64_t nd = nodes(d);
  if (nd != target && d > 1) {
    const double per = double(nd - n1) / double(d - 1);
    if (per > 0) d = std::max(1, std::min(hi, int(std::lround(1.0 + double(target - n1) / per))));
  }
  s.depth = d;
}

}  // namespace

ModelSpec sample_model(const std::string& source, int64_t target_nodes, Rng& rng) {
  ModelSpec s = base_spec(source, rng);
  // A training step is several times larger than inference; for small targets prefer inference.
  if (s.train) {
    ModelSpec one = s;
    one.depth = 1;
    if (build_model(one).size() > target_nodes * 5 / 4) {
      s.train = false;
      s.all_reduce = false;
    }
  }
  fit_depth(s, target_nodes);
  name_spec(s, source);
  return s;
}

ModelSpec largest_model(int64_t target_nodes) {
  ModelSpec s;
  s.family = "bert";
  s.train = true;
  s.all_reduce = true;
  s.adam = true;
  s.flatten_dense = false;  // dense layers on [B, S, H]: about 5 % of the nodes are configurable
  s.dtype = ElemType::kBF16;
  s.hidden = 1024;
  s.heads = 16;
  s.seq = 512;
  s.batch = 32;
  fit_depth(s, target_nodes);
  name_spec(s, "xla");
  return s;
}

// ---- tile kernels
// --------------------------------------------------------------------------------

namespace {

const std::vector<std::string>& tile_models() {
  static const std::vector<std::string> m{"alexnet_syn_train_batch_32",
                                          "resnet50_syn.4x4.bf16",
                                          "resnet_v2_101_syn",
                                          "inception_syn_v3",
                                          "mobilenet_syn_v2",
                                          "efficientnet_syn_b4",
                                          "unet_3d_syn.4x4.bf16",
                                          "bert_syn_pretraining",
                                          "bert_classifier_syn.2x2.fp32",
                                          "transformer_syn_tf2",
                                          "mlperf_syn_transformer",
                                          "retinanet_syn.4x4.bf16",
                                          "ncf_syn",
                                          "xception_syn_imagenet",
                                          "mask_rcnn_syn"};
  return m;
}

// Halves the largest dim until the element count is at most `cap`.
void cap_elements(std::vector<int64_t>& d, int64_t cap) {
  auto numel = [&] {
    int64_t n = 1;
    for (int64_t x : d) n *= x;
    return n;
  };
  while (numel() > cap) {
    auto it = std::max_element(d.begin(), d.end());
    if (*it <= 1) break;
    *it /= 2;
  }
}

struct KernelBuild {
  HloBuilder b{"fused_computation"};
  ElemType t;
  int32_t add = -1, max = -1;
  int next_param = 0;
  double flops = 0, act_bytes = 0, weight_bytes = 0;
  int32_t param(const std::vector<int64_t>& d, bool is_weight = false) {
    int32_t p = b.parameter(next_param++, t, d);
    const double bytes = double(b.at(p).numel()) * elem_bytes(t);
    (is_weight ? weight_bytes : act_bytes) += bytes;
    return p;
  }
  // A random elementwise op applied to x (counts one flop per element, transcendental four).
  int32_t elementwise(int32_t x, Rng& rng, const std::vector<int32_t>& others) {
    const auto d = b.dims(x);
    const double n = double(b.at(x).numel());
    const int kind = int(randint(rng, 0, 5));
    if (kind == 0) {
      flops += 4 * n;
      static const uint8_t un[] = {op::kExp, op::kTanh, op::kLogistic, op::kRsqrt, op::kLog};
      return b.unary(un[randint(rng, 0, 4)], x);
    }
    if (kind == 1) {
      flops += n;
      return b.binary(op::kMaximum, x, b.splat(t, d));
    }
    flops += n;
    static const uint8_t bin[] = {op::kAdd, op::kMultiply, op::kSubtract, op::kMaximum};
    int32_t other = (!others.empty() && bernoulli(rng, 0.5)) ? pick(others, rng) : b.splat(t, d);
    return b.binary(bin[randint(rng, 0, 3)], x, other);
  }
};

}  // namespace

TileKernel build_tile_kernel(Rng& rng) {
  TileKernel k;
  KernelBuild kb;
  kb.t = bernoulli(rng, 0.6) ? ElemType::kBF16 : ElemType::kF32;
  HloBuilder& b = kb.b;
  const std::vector<std::string> kinds{"conv",   "dot",     "elementwise",
                                       "reduce", "softmax", "optimizer"};
  k.kind = kinds[pick_weighted({30, 25, 20, 10, 10, 5}, rng)];
  k.model = pick(tile_models(), rng);
  const bool needs_reducer = k.kind == "reduce" || k.kind == "softmax";
  if (needs_reducer) {
    kb.add = b.reducer(op::kAdd, kb.t, "add_reducer");
    kb.max = b.reducer(op::kMaximum, kb.t, "max_reducer");
  }
  b.begin("fused_computation");
  int32_t y = -1;
  const int epilogue = int(randint(rng, 0, 6));
  if (k.kind == "conv") {
    int64_t N = pick(std::vector<int64_t>{1, 8, 16, 32, 64, 128}, rng);
    int64_t H = pick(std::vector<int64_t>{7, 14, 28, 56, 112}, rng);
    const int64_t Cin = pick(std::vector<int64_t>{3, 16, 32, 64, 128, 256, 512}, rng);
    const int64_t Cout = pick(std::vector<int64_t>{16, 32, 64, 128, 256, 512}, rng);
    const int64_t ks = pick(std::vector<int64_t>{1, 3, 3, 5, 7}, rng);
    const int64_t st = bernoulli(rng, 0.25) ? 2 : 1;
    // Realistic activation sizes: large images come with few channels or a small batch.
    while (N > 1 && N * H * H * std::max(Cin, Cout) > (int64_t(1) << 26)) N /= 2;
    while (N * H * H * std::max(Cin, Cout) > (int64_t(1) << 26)) H /= 2;
    int32_t x = kb.param({N, H, H, Cin});
    int32_t w = kb.param({ks, ks, Cin, Cout}, true);
    std::vector<WindowDim> win{same_window(H, ks, st), same_window(H, ks, st)};
    y = b.convolution(x, w, win, channels_last_dims(4));
    k.kernel_dims = {ks, ks, Cin, Cout};
    k.contract = ks * ks * Cin;
    kb.flops += 2.0 * double(b.at(y).numel()) * double(k.contract);
  } else if (k.kind == "dot") {
    const bool batched = bernoulli(rng, 0.3);
    int64_t M = pick(std::vector<int64_t>{64, 128, 256, 512, 1024, 2048, 4096}, rng);
    const int64_t K = pick(std::vector<int64_t>{64, 128, 256, 768, 1024, 3072, 4096}, rng);
    const int64_t Nn = pick(std::vector<int64_t>{2, 16, 64, 128, 768, 1024, 4096}, rng);
    const int64_t Bt = batched ? pick(std::vector<int64_t>{4, 8, 12, 16}, rng) : 1;
    while (M > 64 && Bt * M * std::max(K, Nn) > (int64_t(1) << 25)) M /= 2;
    int32_t x = batched ? kb.param({Bt, M, K}) : kb.param({M, K});
    int32_t w = kb.param({K, Nn}, true);
    DotDims dd;
    dd.lhs_contract = {batched ? 2 : 1};
    dd.rhs_contract = {0};
    y = b.dot(x, w, dd);
    k.kernel_dims = {K, Nn};
    k.contract = K;
    kb.flops += 2.0 * double(b.at(y).numel()) * double(K);
  } else {
    const int rank = int(randint(rng, 2, 4));
    std::vector<int64_t> d;
    for (int i = 0; i < rank; ++i)
      d.push_back(pick(std::vector<int64_t>{2, 4, 8, 16, 32, 64, 128, 256, 512, 1024}, rng));
    cap_elements(d, int64_t(1) << 24);
    if (k.kind == "reduce") {
      std::vector<int64_t> in = d;
      in.push_back(pick(std::vector<int64_t>{32, 128, 512, 1024}, rng));
      cap_elements(in, int64_t(1) << 25);
      d.assign(in.begin(), in.end() - 1);
      int32_t x = kb.param(in);
      x = kb.elementwise(x, rng, {});
      y = b.reduce(x, {int64_t(in.size()) - 1}, bernoulli(rng, 0.5) ? kb.add : kb.max);
      kb.flops += double(b.at(x).numel());
    } else if (k.kind == "softmax") {
      int32_t x = kb.param(d);
      std::vector<int64_t> keep = iota_vec(0, rank - 1);
      int32_t m = b.reduce(x, {rank - 1}, kb.max);
      int32_t e = b.unary(op::kExp, b.binary(op::kSubtract, x, b.broadcast(m, d, keep)));
      int32_t s = b.reduce(e, {rank - 1}, kb.add);
      y = b.binary(op::kDivide, e, b.broadcast(s, d, keep));
      kb.flops += 8.0 * double(b.at(x).numel());
    } else if (k.kind == "optimizer") {
      int32_t w = kb.param(d), g = kb.param(d), m = kb.param(d), v = kb.param(d);
      auto mul = [&](int32_t a, int32_t c) { return b.binary(op::kMultiply, a, c); };
      int32_t m2 = b.binary(op::kAdd, mul(m, b.splat(kb.t, d)), mul(g, b.splat(kb.t, d)));
      int32_t v2 = b.binary(op::kAdd, mul(v, b.splat(kb.t, d)), mul(mul(g, g), b.splat(kb.t, d)));
      int32_t u =
          b.binary(op::kDivide, m2, b.binary(op::kAdd, b.unary(op::kSqrt, v2), b.splat(kb.t, d)));
      y = b.binary(op::kSubtract, w, mul(u, b.splat(kb.t, d)));
      kb.flops += 12.0 * double(b.at(w).numel());
    } else {  // elementwise chain over several inputs
      std::vector<int32_t> ins;
      const int np = int(randint(rng, 1, 6));
      for (int i = 0; i < np; ++i) ins.push_back(kb.param(d));
      y = ins[0];
      const int len = int(log_randint(rng, 2, 40));
      for (int i = 0; i < len; ++i) y = kb.elementwise(y, rng, ins);
    }
  }
  // Epilogue ops of conv/dot fusions: bias, activation, residual, convert.
  if (k.kind == "conv" || k.kind == "dot") {
    const auto d = b.dims(y);
    const int64_t r = int64_t(d.size());
    if (epilogue >= 1)
      y = b.binary(op::kAdd, y, b.broadcast(kb.param({d.back()}, true), d, {r - 1}));
    if (epilogue >= 2) y = kb.elementwise(y, rng, {});
    if (epilogue >= 4) y = b.binary(op::kAdd, y, kb.param(d));
    if (epilogue >= 5) y = kb.elementwise(y, rng, {});
  }
  if (bernoulli(rng, 0.15) && kb.t == ElemType::kF32) y = b.convert(y, ElemType::kBF16);
  b.end(y);
  k.out_dims = b.dims(y);
  k.eb = elem_bytes(b.type(y));
  k.flops = kb.flops;
  k.act_bytes = kb.act_bytes;
  k.weight_bytes = kb.weight_bytes;
  k.out_bytes = double(b.at(y).numel()) * k.eb;
  k.module = b.finish();
  return k;
}

}  // namespace tgraph::synth
