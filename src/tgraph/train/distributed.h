// Data-parallel training on LibTorch's c10d: the process group (Gloo for CPU tensors, NCCL for CUDA
// tensors where the LibTorch build has it) and the few collectives the trainer needs.
//
// Launcher conventions are PyTorch's, so the same binary runs under `torchrun --no-python`, Slurm
// `srun` (with the variables exported) or a plain shell loop (scripts/train_distributed.sh):
//   RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT   (the env:// rendezvous, c10d TCPStore)
// or `--dist-init file:///shared/path` (c10d FileStore on a shared file system) with RANK and
// WORLD_SIZE. WORLD_SIZE unset or 1: a single process, and nothing here is used.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <torch/types.h>

namespace torch::nn {
class Module;
}

namespace tgraph {

struct DistOptions {
  std::string init = "env://";  // "env://" or "file:///path"
  double timeout_s = 1800;      // collective timeout (a lost peer's closed socket fails sooner)
};

class Distributed {
 public:
  // From the environment; nullptr when WORLD_SIZE is unset or 1. Throws tgraph::Error naming the
  // variable on a bad environment, and on `--device cuda` without NCCL in this LibTorch build.
  static std::unique_ptr<Distributed> from_env(const DistOptions& opt, torch::Device device);
  ~Distributed();

  int rank() const { return rank_; }
  int world() const { return world_; }
  int local_rank() const { return local_rank_; }

  // Parameters (and buffers) of rank 0 copied to every rank.
  void broadcast_parameters(torch::nn::Module& m);
  // Every parameter's gradient replaced by the mean over ranks (one flattened all-reduce; a
  // parameter without a gradient on a rank contributes zeros).
  void average_gradients(torch::nn::Module& m);
  // Rank 0's values, on every rank (decisions such as "stop now" and "evaluate now").
  std::vector<double> broadcast_values(std::vector<double> v);
  void barrier();
  // A hash of the module's parameters gathered from every rank (all equal iff in sync).
  std::vector<uint64_t> gather_checksums(uint64_t local);

  double comm_seconds() const { return comm_s_; }  // time spent in collectives so far

  struct Impl;

 private:
  Distributed() = default;
  int rank_ = 0, world_ = 1, local_rank_ = 0;
  double comm_s_ = 0;
  std::unique_ptr<Impl> impl_;
};

// FNV-1a over the bytes of every parameter and buffer (CPU float32), in registration order.
uint64_t parameter_checksum(const torch::nn::Module& m);

}  // namespace tgraph
