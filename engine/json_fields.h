// Typed access to the JSON of an untrusted model.json (engine-internal). Nothing here asserts or
// throws anything but ModelError, whose message starts with `where` (the file and the node, weight or
// field, e.g. `model.json: node "Conv2d_0": attribute strides`) and says what was expected and what
// was found. Use these instead of nlohmann's operator[] / get<T>() on model input: those assert in
// debug builds and throw messages that name no field.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "engine/network.h"

namespace posenet::engine::json_fields {

using nlohmann::json;

[[noreturn]] inline void fail(const std::string& where, const std::string& what) { throw ModelError(where + ": " + what); }

// The kind of a value, for messages: "an object", "a list of 3 values", "a string", ...
inline std::string describe(const json& v) {
    switch (v.type()) {
        case json::value_t::object: return "an object";
        case json::value_t::array: return "a list of " + std::to_string(v.size()) + " values";
        case json::value_t::string: return "a string";
        case json::value_t::boolean: return "a boolean";
        case json::value_t::null: return "null";
        case json::value_t::binary: return "binary data";
        default: return "a number";
    }
}

// A scalar as it reads in the file (strings quoted and cut at 40 bytes), else describe(v).
inline std::string value_text(const json& v) {
    if (v.is_string()) {
        const std::string& s = v.get_ref<const std::string&>();
        return "\"" + (s.size() > 40 ? s.substr(0, 40) + "..." : s) + "\"";
    }
    if (v.is_number() || v.is_boolean()) return v.dump();  // a scalar: dump() does not recurse
    return describe(v);
}

// The member `key` of `object`, or null where `object` is not an object or lacks the member.
inline const json* member(const json& object, const char* key) {
    if (!object.is_object()) return nullptr;
    auto it = object.find(key);
    return it == object.end() ? nullptr : &*it;
}

// The member `key` of `object`, which must be there.
inline const json& required(const json& object, const char* key, const std::string& where) {
    if (!object.is_object()) fail(where, "expected an object, got " + describe(object));
    const json* v = member(object, key);
    if (!v) fail(where, std::string("\"") + key + "\" is missing");
    return *v;
}

inline const std::string& as_string(const json& v, const std::string& where) {
    if (!v.is_string()) fail(where, "expected a string, got " + describe(v));
    return v.get_ref<const std::string&>();
}

inline const json& as_array(const json& v, const std::string& where, const char* of_what) {
    if (!v.is_array()) fail(where, std::string("expected a list of ") + of_what + ", got " + describe(v));
    return v;
}

// A finite number.
inline double as_number(const json& v, const std::string& where) {
    if (!v.is_number()) fail(where, "expected a number, got " + describe(v));
    const double d = v.get<double>();
    if (!std::isfinite(d)) fail(where, "expected a finite number, got " + value_text(v));
    return d;
}

// An integer written as a JSON integer or as a string of decimal digits (TF.js writes int attributes
// as strings); nullopt for anything else, including values beyond 64 bits.
inline std::optional<int64_t> to_int64(const json& v) {
    if (v.is_number_integer() && !v.is_number_unsigned()) return v.get<int64_t>();
    if (v.is_number_unsigned()) {
        const uint64_t u = v.get<uint64_t>();
        if (u > uint64_t(std::numeric_limits<int64_t>::max())) return std::nullopt;
        return int64_t(u);
    }
    if (!v.is_string()) return std::nullopt;
    const std::string& s = v.get_ref<const std::string&>();
    size_t i = 0;
    const bool negative = !s.empty() && s[0] == '-';
    if (negative) i = 1;
    if (i == s.size() || s.size() > 20) return std::nullopt;
    uint64_t magnitude = 0;
    for (; i < s.size(); ++i) {
        if (s[i] < '0' || s[i] > '9') return std::nullopt;
        if (magnitude > (uint64_t(std::numeric_limits<int64_t>::max()) - uint64_t(s[i] - '0')) / 10) return std::nullopt;
        magnitude = magnitude * 10 + uint64_t(s[i] - '0');
    }
    return negative ? -int64_t(magnitude) : int64_t(magnitude);
}

}  // namespace posenet::engine::json_fields
