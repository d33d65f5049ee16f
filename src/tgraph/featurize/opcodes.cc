#include "tgraph/featurize/opcodes.h"

#include <array>
#include <unordered_map>

#include "tgraph/graph/tpugraphs.h"

namespace tgraph::featurize {

namespace {

// Index = opcode id. The order is frozen by the TpuGraphs dataset: models trained on its files
// depend on these ids, so entries are never reordered.
constexpr std::array<const char*, kNumOpcodes> kOpcodeNames = {
    "unknown",                   // 0
    "abs",                       // 1
    "add",                       // 2
    "add-dependency",            // 3
    "after-all",                 // 4
    "all-reduce",                // 5
    "all-to-all",                // 6
    "atan2",                     // 7
    "batch-norm-grad",           // 8
    "batch-norm-inference",      // 9
    "batch-norm-training",       // 10
    "bitcast",                   // 11
    "bitcast-convert",           // 12
    "broadcast",                 // 13
    "call",                      // 14
    "ceil",                      // 15
    "cholesky",                  // 16
    "clamp",                     // 17
    "collective-permute",        // 18
    "count-leading-zeros",       // 19
    "compare",                   // 20
    "complex",                   // 21
    "concatenate",               // 22
    "conditional",               // 23
    "constant",                  // 24
    "convert",                   // 25
    "convolution",               // 26
    "copy",                      // 27
    "copy-done",                 // 28
    "copy-start",                // 29
    "cosine",                    // 30
    "custom-call",               // 31
    "divide",                    // 32
    "domain",                    // 33
    "dot",                       // 34
    "dynamic-slice",             // 35
    "dynamic-update-slice",      // 36
    "exponential",               // 37
    "exponential-minus-one",     // 38
    "fft",                       // 39
    "floor",                     // 40
    "fusion",                    // 41
    "gather",                    // 42
    "get-dimension-size",        // 43
    "set-dimension-size",        // 44
    "get-tuple-element",         // 45
    "imag",                      // 46
    "infeed",                    // 47
    "iota",                      // 48
    "is-finite",                 // 49
    "log",                       // 50
    "log-plus-one",              // 51
    "and",                       // 52
    "not",                       // 53
    "or",                        // 54
    "xor",                       // 55
    "map",                       // 56
    "maximum",                   // 57
    "minimum",                   // 58
    "multiply",                  // 59
    "negate",                    // 60
    "outfeed",                   // 61
    "pad",                       // 62
    "parameter",                 // 63
    "partition-id",              // 64
    "popcnt",                    // 65
    "power",                     // 66
    "real",                      // 67
    "recv",                      // 68
    "recv-done",                 // 69
    "reduce",                    // 70
    "reduce-precision",          // 71
    "reduce-window",             // 72
    "remainder",                 // 73
    "replica-id",                // 74
    "reshape",                   // 75
    "reverse",                   // 76
    "rng",                       // 77
    "rng-get-and-update-state",  // 78
    "rng-bit-generator",         // 79
    "round-nearest-afz",         // 80
    "rsqrt",                     // 81
    "scatter",                   // 82
    "select",                    // 83
    "select-and-scatter",        // 84
    "send",                      // 85
    "send-done",                 // 86
    "shift-left",                // 87
    "shift-right-arithmetic",    // 88
    "shift-right-logical",       // 89
    "sign",                      // 90
    "sine",                      // 91
    "slice",                     // 92
    "sort",                      // 93
    "sqrt",                      // 94
    "subtract",                  // 95
    "tanh",                      // 96
    "trace",                     // 97 (removed from XLA)
    "transpose",                 // 98
    "triangular-solve",          // 99
    "tuple",                     // 100
    "tuple-select",              // 101 (removed from XLA)
    "while",                     // 102
    "cbrt",                      // 103
    "all-gather",                // 104
    "collective-permute-start",  // 105
    "collective-permute-done",   // 106
    "logistic",                  // 107
    "dynamic-reshape",           // 108
    "all-reduce-start",          // 109
    "all-reduce-done",           // 110
    "reduce-scatter",            // 111
    "all-gather-start",          // 112
    "all-gather-done",           // 113
    "opt-barrier",               // 114
    "async-start",               // 115
    "async-update",              // 116
    "async-done",                // 117
    "round-nearest-even",        // 118
    "stochastic-convert",        // 119
    "tan",                       // 120
};

const std::unordered_map<std::string_view, uint8_t>& opcode_index() {
  // Built once, never modified afterwards (function-local static: thread-safe initialisation).
  static const std::unordered_map<std::string_view, uint8_t> index = [] {
    std::unordered_map<std::string_view, uint8_t> m;
    for (size_t i = 1; i < kOpcodeNames.size(); ++i) m.emplace(kOpcodeNames[i], uint8_t(i));
    return m;
  }();
  return index;
}

}  // namespace

uint8_t opcode_id(std::string_view opcode) {
  const auto& m = opcode_index();
  auto it = m.find(opcode);
  return it == m.end() ? 0 : it->second;
}

std::string opcode_name(int id) {
  if (id <= 0 || id >= static_cast<int>(kOpcodeNames.size())) return "unknown";
  return kOpcodeNames[static_cast<size_t>(id)];
}

}  // namespace tgraph::featurize
