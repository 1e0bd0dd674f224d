#!/usr/bin/env python3
"""Generates Lepus's AMQP 0-9-1 codec from RabbitMQ's codegen JSON.

Usage: codegen.py SPEC.json OUTDIR

Writes OUTDIR/methods.h and OUTDIR/methods.cc (namespace lepus::amqp): one struct per method
with its ids, flags, arguments and their defaults, straight-line encode and decode for each,
dispatch on (class id, method id), the reply codes with their soft/hard class, the basic
content-header properties, and a sample of every method with non-default values for tests.

The byte layout comes from the spec, never from hand-written code: this is the one place that
knows it. Standard library only, so the build needs nothing beyond a Python 3 interpreter.
"""

import json
import os
import sys

# AMQP wire types of arguments and properties, and the C++ type a struct member gets.
CPP_TYPES = {
    "octet": "u8",
    "short": "u16",
    "long": "u32",
    "longlong": "u64",
    "timestamp": "u64",
    "bit": "bool",
    "shortstr": "std::string_view",
    "longstr": "std::string_view",
    "table": "std::string_view",
}

# Every method struct has static members with these names, so an argument cannot take them.
# connection.close and channel.close carry the ids of the method that caused the close; they
# become failing_class_id / failing_method_id.
STATIC_MEMBER_RENAMES = {"class_id": "failing_class_id", "method_id": "failing_method_id"}
RESERVED_MEMBERS = {"id", "name", "synchronous", "has_content", "encode_arguments",
                    "decode_arguments"}

CPP_KEYWORDS = set("""
    alignas alignof and and_eq asm auto bitand bitor bool break case catch char char8_t char16_t
    char32_t class compl concept const consteval constexpr constinit const_cast continue co_await
    co_return co_yield decltype default delete do double dynamic_cast else enum explicit export
    extern false float for friend goto if inline int long mutable namespace new noexcept not
    not_eq nullptr operator or or_eq private protected public register reinterpret_cast requires
    return short signed sizeof static static_assert static_cast struct switch template this
    thread_local throw true try typedef typeid typename union unsigned using virtual void volatile
    wchar_t while xor xor_eq
""".split())


def fail(message):
    sys.stderr.write("codegen.py: %s\n" % message)
    sys.exit(1)


def snake(name):
    return name.replace("-", "_")


def pascal(*names):
    return "".join(part.capitalize() for name in names for part in name.split("-"))


def escaped_bytes(data):
    """Each byte as it appears in a C++ string literal. Octal escapes are always three digits,
    since a hex escape would swallow the digits that follow it."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    out = []
    for byte in data:
        c = chr(byte)
        if c in '"\\?':
            out.append("\\" + c)
        elif 0x20 <= byte < 0x7F:
            out.append(c)
        else:
            out.append("\\%03o" % byte)
    return out


def cpp_literal(data):
    return '"' + "".join(escaped_bytes(data)) + '"'


def cpp_view(data, indent):
    """A string_view over bytes that may hold NULs, split over lines to stay in 100 columns."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    pieces = [""]
    for token in escaped_bytes(data):
        if len(pieces[-1]) + len(token) > 64:
            pieces.append("")
        pieces[-1] += token
    if len(pieces) == 1:
        return 'std::string_view("%s", %d)' % (pieces[0], len(data))
    pad = " " * indent
    literal = ("\n" + pad).join('"%s"' % piece for piece in pieces)
    return "std::string_view(\n%s%s,\n%s%d)" % (pad, literal, pad, len(data))


class Field:
    """One method argument or content property, resolved to its wire type."""

    def __init__(self, spec_field, domains, where):
        self.spec_name = spec_field["name"]
        member = snake(self.spec_name)
        member = STATIC_MEMBER_RENAMES.get(member, member)
        if member in RESERVED_MEMBERS or member in CPP_KEYWORDS:
            fail("%s: argument %s collides with a C++ name" % (where, self.spec_name))
        self.member = member
        wire_type = spec_field.get("type")
        if wire_type is None:
            wire_type = spec_field["domain"]
        seen = set()
        while wire_type not in CPP_TYPES:
            if wire_type in seen or wire_type not in domains:
                fail("%s: cannot resolve type of %s" % (where, self.spec_name))
            seen.add(wire_type)
            wire_type = domains[wire_type]
        self.wire_type = wire_type
        self.cpp_type = CPP_TYPES[wire_type]
        self.default = spec_field.get("default-value")
        self.where = where

    def default_initializer(self):
        d = self.default
        if self.wire_type == "bit":
            return "true" if d else "false"
        if self.wire_type in ("shortstr", "longstr"):
            if d is None or d == "":
                return "{}"
            data = d.encode("utf-8")
            if b"\0" in data or (self.wire_type == "shortstr" and len(data) > 255):
                fail("%s: unusable default for %s" % (self.where, self.spec_name))
            return cpp_literal(data)
        if self.wire_type == "table":
            if d not in (None, {}):
                fail("%s: only empty default tables are supported" % self.where)
            return "{}"
        return str(int(d or 0))


class MethodSpec:
    def __init__(self, cls, method, domains):
        self.class_name = cls["name"]
        self.class_id = cls["id"]
        self.name = method["name"]
        self.method_id = method["id"]
        self.struct = pascal(self.class_name, self.name)
        self.full_name = "%s.%s" % (self.class_name, self.name)
        self.synchronous = bool(method.get("synchronous", False))
        self.content = bool(method.get("content", False))
        self.fields = [Field(a, domains, self.full_name) for a in method.get("arguments", [])]


def bit_groups(fields):
    """Splits fields into runs: a list of consecutive bits shares octets, eight to an octet."""
    runs = []
    for field in fields:
        if field.wire_type == "bit":
            if runs and isinstance(runs[-1], list) and len(runs[-1]) < 8:
                runs[-1].append(field)
            else:
                runs.append([field])
        else:
            runs.append(field)
    return runs


def encode_lines(fields, target, indent):
    lines = []
    pad = " " * indent
    octets = 0
    for run in bit_groups(fields):
        if isinstance(run, list):
            var = "bits%d" % octets
            octets += 1
            lines.append("%su32 %s = 0;" % (pad, var))
            for i, f in enumerate(run):
                lines.append("%sif (%s%s) %s |= %du;" % (pad, target, f.member, var, 1 << i))
            lines.append("%swriter.write_u8(static_cast<u8>(%s));" % (pad, var))
            continue
        f = run
        value = target + f.member
        if f.wire_type == "octet":
            lines.append("%swriter.write_u8(%s);" % (pad, value))
        elif f.wire_type == "short":
            lines.append("%swriter.write_u16(%s);" % (pad, value))
        elif f.wire_type == "long":
            lines.append("%swriter.write_u32(%s);" % (pad, value))
        elif f.wire_type in ("longlong", "timestamp"):
            lines.append("%swriter.write_u64(%s);" % (pad, value))
        elif f.wire_type == "shortstr":
            lines.append("%swriter.write_shortstr(%s);" % (pad, value))
        elif f.wire_type in ("longstr", "table"):
            lines.append("%swrite_long(writer, %s);" % (pad, value))
        else:
            fail("no encoder for %s" % f.wire_type)
    return lines


def decode_lines(fields, target, indent):
    """Straight-line reads; the reader's sticky failure is checked once by the caller."""
    lines = []
    pad = " " * indent
    octets = 0
    for run in bit_groups(fields):
        if isinstance(run, list):
            var = "bits%d" % octets
            octets += 1
            lines.append("%su8 %s = reader.read_u8();" % (pad, var))
            for i, f in enumerate(run):
                lines.append("%s%s%s = (%s & %du) != 0;" % (pad, target, f.member, var, 1 << i))
            continue
        f = run
        value = target + f.member
        reads = {
            "octet": "reader.read_u8()",
            "short": "reader.read_u16()",
            "long": "reader.read_u32()",
            "longlong": "reader.read_u64()",
            "timestamp": "reader.read_u64()",
            "shortstr": "reader.read_shortstr()",
            "longstr": "reader.read_longstr()",
            "table": "reader.read_longstr()",
        }
        lines.append("%s%s = %s;" % (pad, value, reads[f.wire_type]))
    return lines


def validity_expression(fields, target):
    terms = ["reader.ok()"]
    terms += ["wire::validate_argument_table(%s%s)" % (target, f.member)
              for f in fields if f.wire_type == "table"]
    return " && ".join(terms)


def encode_table(entries):
    """Table content bytes for samples: (key, type, raw value bytes)."""
    out = b""
    for key, code, raw in entries:
        out += bytes([len(key)]) + key + code + raw
    return out


def sample_table(seed):
    inner = encode_table([(b"deep", b"t", b"\x01")])
    array = b"I" + (seed).to_bytes(4, "big") + b"S" + (3).to_bytes(4, "big") + b"abc"
    return encode_table([
        (b"x-seed", b"l", (0x0102030405060708 + seed).to_bytes(8, "big")),
        (b"name", b"S", (5).to_bytes(4, "big") + b"v\0\xffz" + bytes([seed & 0x7F])),
        (b"nested", b"F", len(inner).to_bytes(4, "big") + inner),
        (b"list", b"A", len(array).to_bytes(4, "big") + array),
        (b"none", b"V", b""),
    ])


def sample_value(field, method, index):
    """A value that differs from the default and exercises every byte of the wire type."""
    d = field.default
    t = field.wire_type
    if t == "bit":
        return "false" if d else "true"
    widths = {"octet": 8, "short": 16, "long": 32, "longlong": 64, "timestamp": 64}
    if t in widths:
        bits = widths[t]
        base = {8: 0x81, 16: 0xA1B2, 32: 0xA1B2C3D4, 64: 0xA1B2C3D4E5F60718}[bits]
        value = (int(d or 0) + base + 3 * index) % (1 << bits)
        suffix = "ull" if bits == 64 else "u"
        return "%s(%d%s)" % (field.cpp_type, value, suffix)
    if t == "shortstr":
        return cpp_view("%s/%s" % (method.full_name, field.spec_name), 12)
    if t == "longstr":
        data = b"\0\xff long " + method.full_name.encode() + b"/" + field.spec_name.encode()
        return cpp_view(data, 12)
    if t == "table":
        return cpp_view(sample_table(method.class_id * 256 + method.method_id + index), 12)
    fail("no sample for %s" % t)


def load(spec_path):
    with open(spec_path, encoding="utf-8") as f:
        spec = json.load(f)
    domains = {name: base for name, base in spec["domains"]}
    methods = []
    properties = None
    for cls in spec["classes"]:
        for method in cls["methods"]:
            methods.append(MethodSpec(cls, method, domains))
        if cls.get("properties"):
            if cls["name"] != "basic":
                fail("content properties are only supported for class basic")
            properties = [Field(p, domains, "basic properties") for p in cls["properties"]]
    if properties is None or len(properties) > 15:
        fail("basic needs between 1 and 15 properties (one flag word)")
    ids = set()
    for m in methods:
        key = (m.class_id, m.method_id)
        if key in ids:
            fail("duplicate method id %s" % (key,))
        ids.add(key)
    return spec, methods, properties


def reply_constants(spec):
    """(cpp name, value, spelling, class) for reply-success and every classed constant."""
    out = []
    for c in spec["constants"]:
        if "class" in c or c["name"] == "REPLY-SUCCESS":
            out.append((snake(c["name"].lower()), c["value"], c["name"].replace("-", "_"),
                        c.get("class", "")))
    return out


def header_comment(spec, spec_path):
    return [
        "// Generated by net/amqp/codegen.py from %s (%s %s-%s-%s)."
        % (os.path.basename(spec_path), spec["name"], spec["major-version"],
           spec["minor-version"], spec.get("revision", 0)),
        "// Do not edit: change the generator or the spec, and the build regenerates this file.",
    ]


def property_flag(index):
    return 1 << (15 - index)


def equality_line(struct):
    line = "    friend bool operator==(const %s&, const %s&) = default;" % (struct, struct)
    if len(line) <= 100:
        return line
    return "    friend bool operator==(const %s&,\n%sconst %s&) = default;" % (
        struct, " " * 27, struct)


def emit_header(spec, spec_path, methods, properties):
    h = header_comment(spec, spec_path)
    h += [
        "#pragma once",
        "// The AMQP 0-9-1 method structs, reply codes and basic content header.",
        "//",
        "// Strings and tables in these structs are views. After decoding they point into the",
        "// method frame's payload, which must outlive the struct; before encoding they point at",
        "// whatever the caller keeps alive until the frame is written. A table member holds the",
        "// table's content bytes without the u32 length prefix; decoding has validated them, and",
        "// wire::decode_field_table turns them into values when someone needs them.",
        "#include <optional>",
        "#include <string_view>",
        "#include <variant>",
        "#include <vector>",
        "",
        '#include "core/base/types.h"',
        '#include "core/wire/wire_reader.h"',
        '#include "core/wire/wire_writer.h"',
        "",
        "namespace lepus::amqp {",
        "",
    ]
    for m in methods:
        h += [
            "struct %s {" % m.struct,
            "    static constexpr u16 class_id = %d;" % m.class_id,
            "    static constexpr u16 method_id = %d;" % m.method_id,
            "    static constexpr u32 id = (u32{class_id} << 16) | method_id;",
            "    static constexpr bool synchronous = %s;" % ("true" if m.synchronous else "false"),
            "    static constexpr bool has_content = %s;" % ("true" if m.content else "false"),
            '    static constexpr std::string_view name = "%s";' % m.full_name,
            "",
        ]
        for f in m.fields:
            h.append("    %s %s = %s;" % (f.cpp_type, f.member, f.default_initializer()))
        if m.fields:
            h.append("")
        h += [
            "    void encode_arguments(wire::WireWriter& writer) const;",
            "    bool decode_arguments(wire::WireReader& reader);",
            equality_line(m.struct),
            "};",
            "",
        ]
    h.append("using Method = std::variant<")
    for i, m in enumerate(methods):
        h.append("    %s%s" % (m.struct, "," if i + 1 < len(methods) else ">;"))
    h += [
        "",
        "enum class DecodeStatus : u8 { ok, malformed, unknown_method };",
        "",
        "// Decodes a method frame's payload (class id, method id, arguments). The ids are set",
        "// whenever the payload holds them, even for an unknown method, so the caller can name",
        "// it in the error it reports. Bytes after the arguments make the payload malformed.",
        "DecodeStatus decode_method(std::string_view payload, Method& out, u16& class_id,",
        "                           u16& method_id);",
        "// Writes class id, method id and arguments: the payload of a method frame.",
        "void encode_method(const Method& method, wire::WireWriter& writer);",
        "",
        '// "basic.publish"; "unknown" for ids the spec does not define.',
        "std::string_view method_name(u16 class_id, u16 method_id);",
        "std::string_view method_name(const Method& method);",
        "// (class id << 16) | method id of the method held.",
        "u32 method_id_of(const Method& method);",
        "// Whether a content header and body frames follow the method.",
        "bool method_has_content(const Method& method);",
        "",
        "// One instance of every method, every argument set to a value other than its default,",
        "// strings and tables in static storage. For round-trip tests and benchmarks.",
        "std::vector<Method> sample_methods();",
        "",
    ]
    h += emit_reply_header(spec)
    basic_class_id = next(m.class_id for m in methods if m.class_name == "basic")
    h += emit_properties_header(properties, basic_class_id)
    h += ["}  // namespace lepus::amqp", ""]
    return "\n".join(h)


def emit_properties_header(properties, basic_class_id):
    known = sum(property_flag(i) for i in range(len(properties)))
    h = [
        "// Property flag bits of the basic content header: the first property is bit 15.",
        "enum class BasicProperty : u16 {",
    ]
    for i, p in enumerate(properties):
        h.append("    %s = 0x%04x," % (p.member, property_flag(i)))
    h += [
        "};",
        "",
        "// How each property is laid out on the wire, in spec order (property i has flag bit",
        "// 15 - i): what a reader that decodes only some of them needs to step over the rest.",
        "enum class PropertyWire : u8 { octet, short_int, long_int, longlong_int, timestamp, shortstr,",
        "                               longstr, table };",
        "inline constexpr PropertyWire basic_property_wire[] = {",
    ]
    wire_names = {"octet": "octet", "short": "short_int", "long": "long_int",
                  "longlong": "longlong_int", "timestamp": "timestamp", "shortstr": "shortstr",
                  "longstr": "longstr", "table": "table"}
    for p in properties:
        if p.wire_type not in wire_names:
            fail("property %s has wire type %s, which no property may have" % (p.member, p.wire_type))
        h.append("    PropertyWire::%s,  // %s" % (wire_names[p.wire_type], p.member))
    h += [
        "};",
        "inline constexpr usize basic_property_count = %d;" % len(properties),
        "",
        "// The basic class's content properties. A member is meaningful only when its flag is",
        "// set; the setters set both. Views follow the same lifetime rule as method arguments.",
        "struct BasicProperties {",
        "    // Flags the spec defines; any other bit (including the continuation bit 0) is",
        "    // rejected, because 0-9-1 basic has fewer than 15 properties.",
        "    static constexpr u16 class_id = %d;" % basic_class_id,
        "    static constexpr u16 flags_known = 0x%04x;" % known,
        "",
        "    u16 flags = 0;",
    ]
    for p in properties:
        h.append("    %s %s = {};" % (p.cpp_type, p.member))
    h += [
        "",
        "    bool has(BasicProperty property) const {",
        "        return (flags & static_cast<u16>(property)) != 0;",
        "    }",
    ]
    for p in properties:
        h += [
            "    void set_%s(%s v) {" % (p.member, p.cpp_type),
            "        %s = v;" % p.member,
            "        flags |= static_cast<u16>(BasicProperty::%s);" % p.member,
            "    }",
        ]
    h += [
        "",
        "    void encode_properties(wire::WireWriter& writer) const;",
        "    bool decode_properties(wire::WireReader& reader);",
        "    friend bool operator==(const BasicProperties&, const BasicProperties&) = default;",
        "};",
        "",
        "struct ContentHeader {",
        "    u16 class_id = BasicProperties::class_id;",
        "    u16 weight = 0;",
        "    u64 body_size = 0;",
        "    BasicProperties properties;",
        "    friend bool operator==(const ContentHeader&, const ContentHeader&) = default;",
        "};",
        "",
        "// Decodes a content header frame's payload. Rejects classes other than basic, flags for",
        "// properties the spec does not define, a set continuation bit, malformed headers tables",
        "// and trailing bytes.",
        "bool decode_content_header(std::string_view payload, ContentHeader& out);",
        "// Writes the payload of a content header frame.",
        "void encode_content_header(const ContentHeader& header, wire::WireWriter& writer);",
        "",
    ]
    return h


def emit_source(spec, spec_path, methods, properties):
    c = header_comment(spec, spec_path)
    c += [
        '#include "net/amqp/methods.h"',
        "",
        "#include <cstdint>",
        "#include <iterator>",
        "#include <type_traits>",
        "",
        '#include "core/base/assert.h"',
        '#include "core/wire/field_table.h"',
        "",
        "namespace lepus::amqp {",
        "",
        "// Decoding into a Method replaces one trivially copyable struct with another: no",
        "// destructor runs and nothing is allocated.",
        "static_assert(std::is_trivially_copyable_v<Method>);",
        "",
        "namespace {",
        "",
        "void write_long(wire::WireWriter& writer, std::string_view v) {",
        "    LEPUS_ASSERT(v.size() <= UINT32_MAX);",
        "    writer.write_longstr(v);",
        "}",
        "",
        "struct MethodInfo {",
        "    u32 id;",
        "    bool has_content;",
        "    std::string_view name;",
        "};",
        "",
        "template <typename M>",
        "constexpr MethodInfo info() {",
        "    return {M::id, M::has_content, M::name};",
        "}",
        "",
        "// Indexed by Method::index(): the variant lists the methods in this order.",
        "constexpr MethodInfo method_info[] = {",
    ]
    for m in methods:
        c.append("    info<%s>()," % m.struct)
    c += [
        "};",
        "static_assert(std::size(method_info) == std::variant_size_v<Method>);",
        "",
        "const MethodInfo& info_of(const Method& method) {",
        "    LEPUS_ASSERT(method.index() < std::size(method_info));",
        "    return method_info[method.index()];",
        "}",
        "",
        "}  // namespace",
        "",
    ]
    for m in methods:
        if m.fields:
            c.append("void %s::encode_arguments(wire::WireWriter& writer) const {" % m.struct)
            c += encode_lines(m.fields, "", 4)
            c += ["}", ""]
            c.append("bool %s::decode_arguments(wire::WireReader& reader) {" % m.struct)
            c += decode_lines(m.fields, "", 4)
            c.append("    return %s;" % validity_expression(m.fields, ""))
            c += ["}", ""]
        else:
            c += [
                "void %s::encode_arguments(wire::WireWriter&) const {}" % m.struct,
                "",
                "bool %s::decode_arguments(wire::WireReader& reader) { return reader.ok(); }"
                % m.struct,
                "",
            ]
    c += [
        "DecodeStatus decode_method(std::string_view payload, Method& out, u16& class_id,",
        "                           u16& method_id) {",
        "    wire::WireReader reader(payload);",
        "    class_id = reader.read_u16();",
        "    method_id = reader.read_u16();",
        "    if (!reader.ok()) return DecodeStatus::malformed;",
        "    bool valid = false;",
        "    switch ((u32{class_id} << 16) | method_id) {",
    ]
    for m in methods:
        c += [
            "        case %s::id:" % m.struct,
            "            valid = out.emplace<%s>().decode_arguments(reader);" % m.struct,
            "            break;",
        ]
    c += [
        "        default:",
        "            return DecodeStatus::unknown_method;",
        "    }",
        "    return valid && reader.at_end() ? DecodeStatus::ok : DecodeStatus::malformed;",
        "}",
        "",
        "void encode_method(const Method& method, wire::WireWriter& writer) {",
        "    std::visit(",
        "        [&writer](const auto& m) {",
        "            writer.write_u16(m.class_id);",
        "            writer.write_u16(m.method_id);",
        "            m.encode_arguments(writer);",
        "        },",
        "        method);",
        "}",
        "",
        "std::string_view method_name(u16 class_id, u16 method_id) {",
        "    switch ((u32{class_id} << 16) | method_id) {",
    ]
    for m in methods:
        c.append("        case %s::id: return %s::name;" % (m.struct, m.struct))
    c += [
        '        default: return "unknown";',
        "    }",
        "}",
        "",
        "std::string_view method_name(const Method& method) { return info_of(method).name; }",
        "",
        "u32 method_id_of(const Method& method) { return info_of(method).id; }",
        "",
        "bool method_has_content(const Method& method) { return info_of(method).has_content; }",
        "",
        "std::vector<Method> sample_methods() {",
        "    std::vector<Method> samples;",
        "    samples.reserve(%d);" % len(methods),
    ]
    for m in methods:
        c.append("    {")
        c.append("        %s m;" % m.struct)
        for i, f in enumerate(m.fields):
            c.append("        m.%s = %s;" % (f.member, sample_value(f, m, i)))
        c.append("        samples.emplace_back(m);")
        c.append("    }")
    c += [
        "    return samples;",
        "}",
        "",
    ]
    c += emit_reply_source(spec)
    c += emit_properties_source(properties)
    c += ["}  // namespace lepus::amqp", ""]
    return "\n".join(c)


def emit_reply_header(spec):
    h = [
        "// Reply codes. Soft errors close the channel, hard errors the connection. Typed, so a",
        "// code is never taken for another number; wire_code gives the value a frame carries.",
        "enum class ReplyCode : u16 {",
    ]
    for cpp, value, _spelling, _cls in reply_constants(spec):
        h.append("    %s = %d," % (cpp, value))
    h += [
        "};",
        "",
        "constexpr u16 wire_code(ReplyCode code) { return static_cast<u16>(code); }",
        "// The code a peer sent, if the spec defines it: peers may send codes it lacks.",
        "std::optional<ReplyCode> reply_code_from_wire(u16 code);",
        "",
        "bool is_hard_error(ReplyCode code);",
        "bool is_soft_error(ReplyCode code);",
        '// RabbitMQ\'s spelling, e.g. "NOT_FOUND"; "UNKNOWN" for codes the spec does not define.',
        "std::string_view reply_code_name(u16 code);",
        "inline std::string_view reply_code_name(ReplyCode code) {",
        "    return reply_code_name(wire_code(code));",
        "}",
        "",
    ]
    return h


def reply_class_switch(function, constants, wanted):
    """A switch naming every code, so the compiler (-Wswitch) catches one left out."""
    c = ["bool %s(ReplyCode code) {" % function, "    switch (code) {"]
    for value in (True, False):
        for cpp, _v, _s, cls in constants:
            if (cls == wanted) == value:
                c.append("        case ReplyCode::%s:" % cpp)
        c.append("            return %s;" % ("true" if value else "false"))
    c += ["    }", "    return false;  // not a code of the spec: only a cast can make one", "}",
          ""]
    return c


def emit_reply_source(spec):
    constants = reply_constants(spec)
    c = ["std::optional<ReplyCode> reply_code_from_wire(u16 code) {", "    switch (code) {"]
    for cpp, value, _s, _cls in constants:
        c.append("        case %d: return ReplyCode::%s;" % (value, cpp))
    c += ["        default: return std::nullopt;", "    }", "}", ""]
    c += reply_class_switch("is_hard_error", constants, "hard-error")
    c += reply_class_switch("is_soft_error", constants, "soft-error")
    c += ["std::string_view reply_code_name(u16 code) {", "    switch (code) {"]
    for cpp, value, spelling, _cls in constants:
        c.append('        case %d: return "%s";' % (value, spelling))
    c += ['        default: return "UNKNOWN";', "    }", "}", ""]
    return c


def emit_properties_source(properties):
    c = ["void BasicProperties::encode_properties(wire::WireWriter& writer) const {",
         "    LEPUS_ASSERT_MSG((flags & ~flags_known) == 0, \"property flag the spec lacks\");",
         "    writer.write_u16(flags);"]
    for p in properties:
        c.append("    if (has(BasicProperty::%s)) {" % p.member)
        c += encode_lines([p], "", 8)
        c.append("    }")
    c += ["}", "",
          "bool BasicProperties::decode_properties(wire::WireReader& reader) {",
          "    *this = BasicProperties{};",
          "    flags = reader.read_u16();",
          "    if ((flags & ~flags_known) != 0) return false;"]
    for p in properties:
        c.append("    if (has(BasicProperty::%s)) {" % p.member)
        c += decode_lines([p], "", 8)
        c.append("    }")
    tables = [p for p in properties if p.wire_type == "table"]
    check = " && ".join(["reader.ok()"] + ["wire::validate_field_table(%s)" % p.member
                                          for p in tables])
    c += ["    return %s;" % check, "}", ""]
    c += [
        "bool decode_content_header(std::string_view payload, ContentHeader& out) {",
        "    wire::WireReader reader(payload);",
        "    out.class_id = reader.read_u16();",
        "    out.weight = reader.read_u16();",
        "    out.body_size = reader.read_u64();",
        "    if (!reader.ok() || out.class_id != BasicProperties::class_id) return false;",
        "    return out.properties.decode_properties(reader) && reader.at_end();",
        "}",
        "",
        "void encode_content_header(const ContentHeader& header, wire::WireWriter& writer) {",
        "    LEPUS_ASSERT(header.class_id == BasicProperties::class_id);",
        "    writer.write_u16(header.class_id);",
        "    writer.write_u16(header.weight);",
        "    writer.write_u64(header.body_size);",
        "    header.properties.encode_properties(writer);",
        "}",
        "",
    ]
    return c


def write(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: codegen.py SPEC.json OUTDIR\n")
        return 2
    spec_path, outdir = argv[1], argv[2]
    spec, methods, properties = load(spec_path)
    os.makedirs(outdir, exist_ok=True)
    write(os.path.join(outdir, "methods.h"),
                     emit_header(spec, spec_path, methods, properties))
    write(os.path.join(outdir, "methods.cc"),
                     emit_source(spec, spec_path, methods, properties))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
