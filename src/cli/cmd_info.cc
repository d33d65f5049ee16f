// `tgraph info MODEL`: print a model file's self-description (no weights loaded).
#include <iostream>

#include "cli/commands.h"
#include "tgraph/model/model_file.h"
#include "tgraph/util/error.h"

namespace tgraph::cli {

void register_info(CLI::App& app, Action* action) {
  auto path = std::make_shared<std::string>();
  auto* sub = app.add_subcommand(
      "info", "Print a model file's format, schema, hyper-parameters and training metadata");
  sub->add_option("model", *path, "model file (.tgm)")->required();
  sub->callback([path, action] {
    *action = [path] {
      nlohmann::json h = read_model_header(*path);
      int64_t params = 0;
      for (const auto& t : h["tensors"]) {
        int64_t n = 1;
        for (auto d : t["shape"]) n *= d.get<int64_t>();
        params += n;
      }
      h["parameters"] = params;
      h["tensors"] = h["tensors"].size();
      // Summarise the per-column statistics: 134 means and stds are noise on a terminal.
      auto shrink = [](nlohmann::json& part) {
        if (!part.is_object()) return;
        for (const char* k : {"mean", "std"})
          if (part.contains(k) && part[k].is_array())
            part[k] = TG_STR("[" << part[k].size() << " values]");
      };
      auto shrink_model = [&](nlohmann::json& m) {
        if (m.contains("normalizer")) shrink(m["normalizer"]);
        if (m.contains("preprocessing") && m["preprocessing"].is_object() &&
            m["preprocessing"].contains("config_norm"))
          shrink(m["preprocessing"]["config_norm"]);
        if (m.contains("optimizer") && m["optimizer"].is_object() &&
            m["optimizer"].contains("steps"))
          m["optimizer"]["steps"] = TG_STR("[" << m["optimizer"]["steps"].size() << " parameters]");
      };
      shrink_model(h);
      if (h.contains("ensemble") && h["ensemble"].contains("members") &&
          h["ensemble"]["members"].is_array())
        for (auto& m : h["ensemble"]["members"]) shrink_model(m);
      std::cout << h.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
      return 0;
    };
  });
}

}  // namespace tgraph::cli
