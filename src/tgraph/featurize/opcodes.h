// HLO opcode names <-> TpuGraphs opcode ids (node_opcode), the table of tpugraphs-format.md §3.4.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tgraph::featurize {

// Id of an HLO opcode string such as "convolution" (26); 0 for an opcode the table does not know.
// Ids 97 ("trace") and 101 ("tuple-select") are opcodes XLA has since removed; they still map.
uint8_t opcode_id(std::string_view opcode);

// The opcode string of an id in [1, 120]; "unknown" for 0 or an id out of range.
std::string opcode_name(int id);

}  // namespace tgraph::featurize
