// JSON form of ContainerSpec and the container records, for config.json, state.json and health.json.
#pragma once

#include <nlohmann/json.hpp>

#include "runtime/container_spec.h"
#include "runtime/container_store.h"

namespace slipway::runtime {

void to_json(nlohmann::json& j, const HealthCheck& h);
void from_json(const nlohmann::json& j, HealthCheck& h);
void to_json(nlohmann::json& j, const HealthProbeResult& r);
void from_json(const nlohmann::json& j, HealthProbeResult& r);
void to_json(nlohmann::json& j, const HealthState& h);
void from_json(const nlohmann::json& j, HealthState& h);
void to_json(nlohmann::json& j, const ContainerSpec& s);
void from_json(const nlohmann::json& j, ContainerSpec& s);
void to_json(nlohmann::json& j, const ContainerRecord& r);
void from_json(const nlohmann::json& j, ContainerRecord& r);
void to_json(nlohmann::json& j, const ContainerState& s);
void from_json(const nlohmann::json& j, ContainerState& s);

}  // namespace slipway::runtime
