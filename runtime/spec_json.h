// JSON form of ContainerSpec and the container records, for config.json and state.json.
#pragma once

#include <nlohmann/json.hpp>

#include "runtime/container_spec.h"
#include "runtime/container_store.h"

namespace slipway::runtime {

void to_json(nlohmann::json& j, const ContainerSpec& s);
void from_json(const nlohmann::json& j, ContainerSpec& s);
void to_json(nlohmann::json& j, const ContainerRecord& r);
void from_json(const nlohmann::json& j, ContainerRecord& r);
void to_json(nlohmann::json& j, const ContainerState& s);
void from_json(const nlohmann::json& j, ContainerState& s);

}  // namespace slipway::runtime
