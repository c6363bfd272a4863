#pragma once
// A model's architecture and compile settings as JSON (what whole-model files store), and the
// model rebuilt from it. The format is loom's own, versioned by kModelFormatVersion; it is data,
// never code: layers are built-in types or types registered with register_layer_type.
#include <string>

#include "loom/nn/model.hpp"

namespace loom::nn::internal {

inline constexpr int kModelFormatVersion = 1;

// {"format_version", "model": <layer>, "compile": {...}} for a model whose every layer has a
// type name (InvalidArgument naming the first that has none).
std::string model_config_json(const Model& model);

// The model a model_config_json() text describes, built (its weights exist, with initial
// values); compiled when `compile` and the text has compile settings. IOError for text that is
// not such a config or comes from a newer format; NotFoundError for an unregistered layer type.
ModelPtr model_from_config_json(const std::string& text, bool compile, const std::string& path);

}  // namespace loom::nn::internal
