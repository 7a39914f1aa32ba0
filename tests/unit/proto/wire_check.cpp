// proto_wire_check: the C++ half of the wire-compatibility proof between our
// proto/ schema and the official @livekit/protocol (driven by
// tests/interop/proto/wire_compat.mjs).
//
//   proto_wire_check schema   prints our two files as a FileDescriptorSet (JSON)
//   proto_wire_check check    reads samples from stdin, one per line:
//                               TYPE \t LABEL \t HEX(official bytes) \t official JSON
//                             and prints per sample
//                               OK \t LABEL \t HEX(our re-encoding)
//                             or FAIL \t LABEL \t what differs
//                             then FAIL lines for fields no sample set.
// Exit status 0 only if every sample passed and every field was covered.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/message.h>
#include <google/protobuf/unknown_field_set.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>

#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "livekit_rtc.pb.h"

namespace pb = google::protobuf;

namespace {

// Our files, reached through a type from each so the linker keeps both.
std::vector<const pb::FileDescriptor*> our_files() {
  return {livekit::ClientInfo::descriptor()->file(), livekit::SignalRequest::descriptor()->file()};
}

std::optional<std::string> from_hex(const std::string& hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    auto nibble = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

std::string to_hex(const std::string& bytes) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 15]);
  }
  return out;
}

// Keeps a report on one output line (the differencer writes one per field).
std::string one_line(std::string text) {
  while (!text.empty() && text.back() == '\n') text.pop_back();
  for (char& c : text)
    if (c == '\n' || c == '\t') c = ';';
  return text;
}

std::vector<const pb::FieldDescriptor*> set_fields(const pb::Message& msg) {
  std::vector<const pb::FieldDescriptor*> fields;
  msg.GetReflection()->ListFields(msg, &fields);
  return fields;
}

// Calls visit(m) for msg and every message inside it (map entries included).
template <typename Visit>
void for_each_message(const pb::Message& msg, Visit&& visit) {
  visit(msg);
  const pb::Reflection* refl = msg.GetReflection();
  for (const pb::FieldDescriptor* f : set_fields(msg)) {
    if (f->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE) continue;
    if (f->is_repeated()) {
      for (int i = 0; i < refl->FieldSize(msg, f); ++i) for_each_message(refl->GetRepeatedMessage(msg, f, i), visit);
    } else {
      for_each_message(refl->GetMessage(msg, f), visit);
    }
  }
}

// Official fields our schema does not know (or knows with another wire type)
// end up as unknown fields: list them with the message they sit in.
std::string unknown_fields_report(const pb::Message& msg) {
  std::set<std::string> found;
  for_each_message(msg, [&found](const pb::Message& m) {
    const pb::UnknownFieldSet& unknown = m.GetReflection()->GetUnknownFields(m);
    for (int i = 0; i < unknown.field_count(); ++i)
      found.insert(m.GetDescriptor()->full_name() + " has unknown field number " + std::to_string(unknown.field(i).number()));
  });
  std::string text;
  for (const std::string& line : found) text += " " + line + ";";
  return text;
}

void collect_fields(const pb::Descriptor* type, std::set<std::string>& all) {
  if (type->options().map_entry()) return;  // covered through its map field
  for (int i = 0; i < type->field_count(); ++i) all.insert(type->field(i)->full_name());
  for (int i = 0; i < type->nested_type_count(); ++i) collect_fields(type->nested_type(i), all);
}

std::set<std::string> all_our_fields() {
  std::set<std::string> all;
  for (const pb::FileDescriptor* file : our_files())
    for (int i = 0; i < file->message_type_count(); ++i) collect_fields(file->message_type(i), all);
  return all;
}

// Checks one official sample against our schema; returns our re-encoding or
// sets `failure` to a description naming the type and field.
std::optional<std::string> check_sample(const std::string& type_name, const std::string& hex, const std::string& json,
                                        std::set<std::string>& covered, std::string& failure) {
  const pb::Descriptor* type = pb::DescriptorPool::generated_pool()->FindMessageTypeByName(type_name);
  if (type == nullptr || type->file()->package() != "livekit") {
    failure = "type " + type_name + " is not in our schema";
    return std::nullopt;
  }
  const pb::Message* prototype = pb::MessageFactory::generated_factory()->GetPrototype(type);
  std::unique_ptr<pb::Message> decoded(prototype->New());
  std::unique_ptr<pb::Message> expected(prototype->New());

  std::optional<std::string> bytes = from_hex(hex);
  if (!bytes) {
    failure = "sample bytes are not valid hex";
    return std::nullopt;
  }
  if (!decoded->ParseFromString(*bytes)) {
    failure = type_name + ": official bytes do not parse with our schema";
    return std::nullopt;
  }
  if (std::string unknown = unknown_fields_report(*decoded); !unknown.empty()) {
    failure = type_name + ": official fields missing from or mistyped in our schema:" + unknown;
    return std::nullopt;
  }
  pb::util::JsonParseOptions strict;  // unknown JSON names are errors
  if (auto status = pb::util::JsonStringToMessage(json, expected.get(), strict); !status.ok()) {
    failure = type_name + ": official JSON does not fit our schema: " + std::string(status.message());
    return std::nullopt;
  }
  std::string diff;
  pb::util::MessageDifferencer differ;
  differ.ReportDifferencesToString(&diff);
  if (!differ.Compare(*expected, *decoded)) {
    failure = type_name + ": binary decode differs from official JSON (expected -> decoded): " + diff;
    return std::nullopt;
  }
  for_each_message(*decoded, [&covered](const pb::Message& m) {
    for (const pb::FieldDescriptor* f : set_fields(m)) covered.insert(f->full_name());
  });

  std::string reencoded;
  if (!decoded->SerializeToString(&reencoded)) {
    failure = type_name + ": re-encoding failed";
    return std::nullopt;
  }
  return to_hex(reencoded);
}

int run_check(std::istream& in, std::ostream& out) {
  std::set<std::string> covered;
  int failures = 0, samples = 0;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::istringstream cols(line);
    std::string type_name, label, hex, json;
    if (!std::getline(cols, type_name, '\t') || !std::getline(cols, label, '\t') || !std::getline(cols, hex, '\t') ||
        !std::getline(cols, json)) {
      out << "FAIL\tinput\tline is not TYPE<tab>LABEL<tab>HEX<tab>JSON\n";
      ++failures;
      continue;
    }
    ++samples;
    std::string failure;
    if (auto ours = check_sample(type_name, hex, json, covered, failure)) {
      out << "OK\t" << label << "\t" << *ours << "\n";
    } else {
      out << "FAIL\t" << label << "\t" << one_line(failure) << "\n";
      ++failures;
    }
  }
  if (samples == 0) {
    out << "FAIL\tinput\tno samples\n";
    ++failures;
  }
  // Every field we define must have come from some official sample: proves
  // the Node side exercised all of our schema.
  for (const std::string& field : all_our_fields()) {
    if (covered.count(field) == 0) {
      out << "FAIL\tcoverage\tfield " << field << " was not set by any official sample\n";
      ++failures;
    }
  }
  return failures == 0 ? 0 : 1;
}

int print_schema(std::ostream& out) {
  pb::FileDescriptorSet set;
  for (const pb::FileDescriptor* file : our_files()) file->CopyTo(set.add_file());
  pb::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_enums_as_ints = true;
  std::string json;
  if (!pb::util::MessageToJsonString(set, &json, options).ok()) {
    std::cerr << "cannot print schema\n";
    return 1;
  }
  out << json << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc == 2 ? argv[1] : "";
  if (mode == "schema") return print_schema(std::cout);
  if (mode == "check") return run_check(std::cin, std::cout);
  std::cerr << "usage: proto_wire_check schema|check (samples on stdin)\n";
  return 2;
}
