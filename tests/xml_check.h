// A strict reader for the XML the project writes (bench/plot_svg.h): enough of XML 1.0 to say whether a
// document is well-formed (one root, tags balanced, attributes quoted and not repeated, only the five
// predefined entities and character references, valid UTF-8 without forbidden characters) and to hand
// back its elements with their attributes and text, for tests to count and measure. No DTDs, comments,
// CDATA or processing instructions other than the XML declaration: the writer emits none.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace posenet::test {

struct XmlElement {
    std::string name;
    std::map<std::string, std::string> attributes;  // values with entities resolved
    std::string text;                               // its own character data, entities resolved
    int depth = 0;
};

struct XmlDocument {
    std::string error;  // empty: well-formed
    std::vector<XmlElement> elements;  // in document order
    bool ok() const { return error.empty(); }
    std::vector<const XmlElement*> with(const std::string& name, const std::string& cls = "") const {
        std::vector<const XmlElement*> out;
        for (const auto& e : elements) {
            auto c = e.attributes.find("class");
            if (e.name == name && (cls.empty() || (c != e.attributes.end() && c->second == cls))) out.push_back(&e);
        }
        return out;
    }
};

namespace xml_detail {

inline bool valid_utf8_xml_chars(const std::string& s, std::string& why) {
    for (size_t i = 0; i < s.size();) {
        const auto b = uint8_t(s[i]);
        size_t len = b < 0x80 ? 1 : (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 0;
        if (len == 0 || i + len > s.size()) return why = "invalid UTF-8 at byte " + std::to_string(i), false;
        uint32_t cp = len == 1 ? b : b & (0x7Fu >> len);
        for (size_t k = 1; k < len; ++k) {
            const auto c = uint8_t(s[i + k]);
            if ((c & 0xC0) != 0x80) return why = "invalid UTF-8 at byte " + std::to_string(i), false;
            cp = (cp << 6) | (c & 0x3Fu);
        }
        static constexpr uint32_t kShortest[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < kShortest[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return why = "invalid UTF-8 at byte " + std::to_string(i), false;
        const bool allowed = cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) || (cp >= 0xE000 && cp <= 0xFFFD) ||
                             cp >= 0x10000;
        if (!allowed) return why = "character U+" + std::to_string(cp) + " (decimal) not allowed in XML at byte " + std::to_string(i), false;
        i += len;
    }
    return true;
}

inline bool name_char(char c, bool first) {
    const auto u = uint8_t(c);
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == ':' || u >= 0x80 ||
           (!first && ((c >= '0' && c <= '9') || c == '-' || c == '.'));
}

// Resolves entities in character data or an attribute value; false on a bare '&' or an unknown entity.
inline bool resolve(const std::string& raw, std::string& out, std::string& why) {
    out.clear();
    for (size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] == '<') return why = "'<' in character data or attribute value", false;
        if (raw[i] != '&') {
            out += raw[i];
            continue;
        }
        const size_t semi = raw.find(';', i);
        if (semi == std::string::npos) return why = "'&' without ';'", false;
        const std::string ent = raw.substr(i + 1, semi - i - 1);
        if (ent == "lt") out += '<';
        else if (ent == "gt") out += '>';
        else if (ent == "amp") out += '&';
        else if (ent == "quot") out += '"';
        else if (ent == "apos") out += '\'';
        else if (ent.size() > 1 && ent[0] == '#') {
            const bool hex = ent[1] == 'x';
            const std::string digits = ent.substr(hex ? 2 : 1);
            if (digits.empty() || digits.find_first_not_of(hex ? "0123456789abcdefABCDEF" : "0123456789") != std::string::npos)
                return why = "bad character reference &" + ent + ";", false;
            out += '?';  // the tests look at ASCII text; the code point itself is not needed
        } else {
            return why = "unknown entity &" + ent + ";", false;
        }
        i = semi;
    }
    return true;
}

}  // namespace xml_detail

inline XmlDocument parse_xml(const std::string& doc) {
    using namespace xml_detail;
    XmlDocument d;
    auto fail = [&](const std::string& why, size_t at) {
        d.error = why + " (at byte " + std::to_string(at) + ")";
        return d;
    };
    std::string why;
    if (!valid_utf8_xml_chars(doc, why)) return fail(why, 0);
    size_t i = 0;
    if (doc.compare(0, 5, "<?xml") == 0) {
        i = doc.find("?>");
        if (i == std::string::npos) return fail("unterminated XML declaration", 0);
        i += 2;
    }
    std::vector<size_t> open;  // indices into d.elements
    bool root_seen = false;
    while (i < doc.size()) {
        const size_t lt = doc.find('<', i);
        const std::string raw = doc.substr(i, lt == std::string::npos ? std::string::npos : lt - i);
        std::string text;
        if (!resolve(raw, text, why)) return fail(why, i);
        if (open.empty()) {
            if (raw.find_first_not_of(" \t\r\n") != std::string::npos) return fail("text outside the root element", i);
        } else {
            d.elements[open.back()].text += text;
        }
        if (lt == std::string::npos) break;
        i = lt + 1;
        if (i >= doc.size()) return fail("document ends inside a tag", lt);
        if (doc[i] == '!' || doc[i] == '?') return fail("comments, CDATA, DTDs and processing instructions are not expected", lt);
        const bool closing = doc[i] == '/';
        if (closing) ++i;
        size_t n = i;
        if (n >= doc.size() || !name_char(doc[n], true)) return fail("bad tag name", i);
        while (n < doc.size() && name_char(doc[n], false)) ++n;
        const std::string name = doc.substr(i, n - i);
        i = n;
        auto skip_space = [&] {
            while (i < doc.size() && (doc[i] == ' ' || doc[i] == '\t' || doc[i] == '\n' || doc[i] == '\r')) ++i;
        };
        if (closing) {
            skip_space();
            if (i >= doc.size() || doc[i] != '>') return fail("bad closing tag </" + name, i);
            ++i;
            if (open.empty() || d.elements[open.back()].name != name) return fail("</" + name + "> does not close the open element", i);
            open.pop_back();
            continue;
        }
        if (open.empty() && root_seen) return fail("a second root element <" + name + ">", lt);
        root_seen = true;
        XmlElement e;
        e.name = name;
        e.depth = int(open.size());
        bool self_closing = false;
        for (;;) {
            const size_t before = i;
            skip_space();
            if (i >= doc.size()) return fail("document ends inside <" + name, lt);
            if (doc[i] == '>') {
                ++i;
                break;
            }
            if (doc[i] == '/') {
                if (i + 1 >= doc.size() || doc[i + 1] != '>') return fail("'/' not followed by '>'", i);
                i += 2;
                self_closing = true;
                break;
            }
            if (i == before) return fail("attributes must be separated by white space", i);
            size_t a = i;
            if (!name_char(doc[a], true)) return fail("bad attribute name in <" + name, i);
            while (a < doc.size() && name_char(doc[a], false)) ++a;
            const std::string attr = doc.substr(i, a - i);
            i = a;
            skip_space();
            if (i >= doc.size() || doc[i] != '=') return fail("attribute " + attr + " without '='", i);
            ++i;
            skip_space();
            if (i >= doc.size() || (doc[i] != '"' && doc[i] != '\'')) return fail("attribute " + attr + " not quoted", i);
            const char q = doc[i];
            const size_t end = doc.find(q, i + 1);
            if (end == std::string::npos) return fail("unterminated attribute " + attr, i);
            std::string value;
            if (!resolve(doc.substr(i + 1, end - i - 1), value, why)) return fail(why + " in attribute " + attr, i);
            if (!e.attributes.emplace(attr, value).second) return fail("attribute " + attr + " repeated", i);
            i = end + 1;
        }
        d.elements.push_back(std::move(e));
        if (!self_closing) open.push_back(d.elements.size() - 1);
    }
    if (!root_seen) return fail("no root element", 0);
    if (!open.empty()) return fail("<" + d.elements[open.back()].name + "> is never closed", doc.size());
    return d;
}

}  // namespace posenet::test
