#include "tgraph/train/distributed.h"

#include <chrono>
#include <cstdlib>

#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
#include <torch/torch.h>

#include "tgraph/util/error.h"

namespace tgraph {

struct Distributed::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroup> pg;
  torch::Device device = torch::kCPU;
};

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

int env_int(const char* name, int lo, int hi, bool required) {
  const std::string v = env(name);
  if (v.empty()) {
    if (required)
      throw_error("distributed", name, "set by the launcher (torchrun, srun, train_distributed.sh)",
                  "unset");
    return lo;
  }
  char* end = nullptr;
  const long x = std::strtol(v.c_str(), &end, 10);
  if (*end != '\0' || x < lo || x > hi)
    throw_error("distributed", name, TG_STR("an integer in [" << lo << ", " << hi << "]"),
                "'" + v + "'");
  return static_cast<int>(x);
}

// c10d reports a lost peer or a timeout as c10::Error; the trainer reports tgraph::Error.
template <typename F>
auto collective(const char* what, int rank, double* seconds, F f) {
  auto t0 = std::chrono::steady_clock::now();
  try {
    auto r = f();
    *seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return r;
  } catch (const std::exception& e) {
    std::string msg = e.what();
    msg = msg.substr(0, msg.find('\n'));
    throw_error("distributed (rank " + std::to_string(rank) + ")", what,
                "every rank alive and in step", "a failed collective: " + msg);
  }
}

}  // namespace

Distributed::~Distributed() = default;

std::unique_ptr<Distributed> Distributed::from_env(const DistOptions& opt, torch::Device device) {
  const int world = env_int("WORLD_SIZE", 1, 1 << 20, false);
  if (world <= 1) return nullptr;
  std::unique_ptr<Distributed> d(new Distributed());
  d->world_ = world;
  d->rank_ = env_int("RANK", 0, world - 1, true);
  d->local_rank_ = env_int("LOCAL_RANK", 0, 1 << 20, false);
  d->impl_ = std::make_unique<Impl>();
  d->impl_->device = device;
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(opt.timeout_s * 1000));
  try {
    if (opt.init.rfind("file://", 0) == 0) {
      d->impl_->store = c10::make_intrusive<c10d::FileStore>(opt.init.substr(7), world);
    } else if (opt.init == "env://") {
      const std::string addr = env("MASTER_ADDR");
      if (addr.empty())
        throw_error("distributed", "MASTER_ADDR", "the rank-0 host (env:// rendezvous)", "unset");
      c10d::TCPStoreOptions so;
      so.port = static_cast<uint16_t>(env_int("MASTER_PORT", 1, 65535, true));
      so.isServer = d->rank_ == 0;
      so.numWorkers = world;
      so.timeout =
          std::chrono::milliseconds(static_cast<int64_t>(std::min(opt.timeout_s, 300.0) * 1000));
      d->impl_->store = c10::make_intrusive<c10d::TCPStore>(addr, so);
    } else {
      throw_error("--dist-init", "", "env:// or file:///path", "'" + opt.init + "'");
    }
    auto store = c10::make_intrusive<c10d::PrefixStore>("tgraph", d->impl_->store);
    if (device.is_cuda()) {
#ifdef USE_C10D_NCCL
      auto o = c10d::ProcessGroupNCCL::Options::create();
      o->timeout = timeout;
      d->impl_->pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, d->rank_, world, o);
#else
      throw_error("distributed", "--device cuda",
                  "a LibTorch built with NCCL (a CUDA LibTorch, see README)",
                  "this LibTorch has Gloo only: train on --device cpu");
#endif
    } else {
      auto o = c10d::ProcessGroupGloo::Options::create();
      // Loopback rendezvous (one machine): talk over 127.0.0.1; otherwise the interface of this
      // host's name, as c10d's default device does.
      const std::string host = env("MASTER_ADDR");
      const bool loopback = host == "localhost" || host.rfind("127.", 0) == 0;
      o->devices.push_back(loopback ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                    : c10d::ProcessGroupGloo::createDefaultDevice());
      o->timeout = timeout;
      d->impl_->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(store, d->rank_, world, o);
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    std::string msg = e.what();
    throw_error("distributed (rank " + std::to_string(d->rank_) + ")", "rendezvous",
                TG_STR(world << " ranks meeting at " << opt.init), msg.substr(0, msg.find('\n')));
  }
  return d;
}

void Distributed::broadcast_parameters(torch::nn::Module& m) {
  torch::NoGradGuard ng;
  std::vector<at::Tensor> all;
  for (auto& p : m.parameters()) all.push_back(p);
  for (auto& b : m.buffers()) all.push_back(b);
  if (all.empty()) return;
  std::vector<at::Tensor> flat = {torch::cat([&] {
    std::vector<at::Tensor> v;
    for (auto& t : all) v.push_back(t.detach().reshape(-1));
    return v;
  }())};
  collective("broadcast of parameters", rank_, &comm_s_, [&] {
    impl_->pg->broadcast(flat)->wait();
    return 0;
  });
  int64_t off = 0;
  for (auto& t : all) {
    t.copy_(flat[0].slice(0, off, off + t.numel()).view(t.sizes()));
    off += t.numel();
  }
}

void Distributed::average_gradients(torch::nn::Module& m) {
  torch::NoGradGuard ng;
  std::vector<at::Tensor> params = m.parameters();
  std::vector<at::Tensor> parts;
  for (auto& p : params)
    parts.push_back(p.grad().defined() ? p.grad().reshape(-1)
                                       : torch::zeros({p.numel()}, p.options()));
  if (parts.empty()) return;
  std::vector<at::Tensor> flat = {torch::cat(parts)};
  collective("all-reduce of gradients", rank_, &comm_s_, [&] {
    impl_->pg->allreduce(flat)->wait();
    return 0;
  });
  flat[0].div_(static_cast<double>(world_));
  int64_t off = 0;
  for (auto& p : params) {
    auto g = flat[0].slice(0, off, off + p.numel()).view(p.sizes());
    if (p.grad().defined())
      p.mutable_grad().copy_(g);
    else
      p.mutable_grad() = g.clone();
    off += p.numel();
  }
}

std::vector<double> Distributed::broadcast_values(std::vector<double> v) {
  std::vector<at::Tensor> t = {
      torch::tensor(v, torch::kFloat64).to(impl_->device.is_cuda() ? impl_->device : torch::kCPU)};
  collective("broadcast of rank 0's decisions", rank_, &comm_s_, [&] {
    impl_->pg->broadcast(t)->wait();
    return 0;
  });
  auto c = t[0].to(torch::kCPU).contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

void Distributed::barrier() {
  collective("barrier", rank_, &comm_s_, [&] {
    impl_->pg->barrier()->wait();
    return 0;
  });
}

std::vector<uint64_t> Distributed::gather_checksums(uint64_t local) {
  // Exactly representable in float64? No: send the hash as two 32-bit halves.
  std::vector<double> mine(2 * static_cast<size_t>(world_), 0.0);
  mine[2 * rank_] = static_cast<double>(local >> 32);
  mine[2 * rank_ + 1] = static_cast<double>(local & 0xffffffffu);
  std::vector<at::Tensor> t = {torch::tensor(mine, torch::kFloat64)};
  collective("all-reduce of parameter checksums", rank_, &comm_s_, [&] {
    impl_->pg->allreduce(t)->wait();
    return 0;
  });
  auto c = t[0].contiguous();
  std::vector<uint64_t> out;
  for (int r = 0; r < world_; ++r)
    out.push_back((static_cast<uint64_t>(c.data_ptr<double>()[2 * r]) << 32) |
                  static_cast<uint64_t>(c.data_ptr<double>()[2 * r + 1]));
  return out;
}

uint64_t parameter_checksum(const torch::nn::Module& m) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&](const at::Tensor& t) {
    auto c = t.detach().to(torch::kCPU, torch::kFloat32).contiguous();
    const auto* p = reinterpret_cast<const uint8_t*>(c.data_ptr<float>());
    for (int64_t i = 0; i < c.numel() * 4; ++i) h = (h ^ p[i]) * 1099511628211ull;
  };
  for (const auto& p : m.parameters()) mix(p);
  for (const auto& b : m.buffers()) mix(b);
  return h;
}

}  // namespace tgraph
