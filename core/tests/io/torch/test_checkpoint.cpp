// SPDX-License-Identifier: MIT
// Tests of the PyTorch checkpoint reader and writer against files torch 1.13 wrote
// (tests/fixtures/checkpoints/make_checkpoints.py): every tensor is compared bit for bit with
// the .npz numpy wrote beside it, names and order against the module definition, and each
// damaged or hostile input must fail with one line that names the file and the problem.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "../../support/expect_error.h"
#include "../../support/test_paths.h"
#include "pseudomask/core/common/files.h"
#include "pseudomask/core/common/half.h"
#include "pseudomask/core/io/numpy/npy.h"
#include "pseudomask/core/io/numpy/npz.h"
#include "pseudomask/core/io/torch/checkpoint.h"
#include "pseudomask/core/io/zip/zip.h"

namespace pm {
namespace {

using test::expect_error;

std::string ckpt_fixture(const std::string& name) {
  return test::fixture("checkpoints/" + name);
}

/// The state-dict names of Tiny (conv 3->4 3x3, bn 4, linear 4->3) in registration order.
const std::vector<std::string> kTinyNames = {"conv.weight",
                                             "conv.bias",
                                             "bn.weight",
                                             "bn.bias",
                                             "bn.running_mean",
                                             "bn.running_var",
                                             "bn.num_batches_tracked",
                                             "fc.weight",
                                             "fc.bias"};

std::vector<std::string> names_of(const Checkpoint& ckpt) {
  std::vector<std::string> names;
  for (const auto& t : ckpt.tensors)
    names.push_back(t.first);
  return names;
}

/// Same dtype, same shape, same bytes.
void expect_identical(const NDArray& actual, const NDArray& expected, const std::string& what) {
  ASSERT_EQ(actual.dtype(), expected.dtype()) << what;
  ASSERT_EQ(actual.shape(), expected.shape()) << what;
  ASSERT_EQ(actual.nbytes(), expected.nbytes()) << what;
  if (actual.nbytes() > 0) {
    EXPECT_EQ(std::memcmp(actual.raw(), expected.raw(), actual.nbytes()), 0) << what;
  }
}

/// Every tensor of `ckpt` equals the array of the same name in `npz`, and both hold the same
/// names.
void expect_matches_npz(const Checkpoint& ckpt, const std::string& npz) {
  const std::map<std::string, NDArray> expected = read_npz(ckpt_fixture(npz));
  ASSERT_EQ(ckpt.tensors.size(), expected.size());
  for (const auto& [name, array] : ckpt.tensors) {
    auto it = expected.find(name);
    ASSERT_NE(it, expected.end()) << name;
    expect_identical(array, it->second, name);
  }
}

void expect_tiny(const Checkpoint& ckpt) {
  EXPECT_EQ(names_of(ckpt), kTinyNames);
  expect_matches_npz(ckpt, "tiny.npz");
  EXPECT_TRUE(ckpt.metadata.empty());
}

Checkpoint decode(const std::vector<uint8_t>& bytes, const std::string& name = "mem.pth") {
  return decode_checkpoint(bytes.data(), bytes.size(), name);
}

std::vector<uint8_t> to_bytes(const std::string& s) {
  return std::vector<uint8_t>(s.begin(), s.end());
}

/// A zip archive of (name, bytes) records, as torch.save lays them out.
std::vector<uint8_t> make_zip(const std::vector<std::pair<std::string, std::string>>& records) {
  zip::ZipWriter w(/*compress=*/false);
  for (const auto& [name, bytes] : records)
    w.add(name, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  return w.finish();
}

/// The records of a zip archive, in order.
std::vector<std::pair<std::string, std::string>> unzip(const std::vector<uint8_t>& archive) {
  std::vector<std::pair<std::string, std::string>> records;
  for (const zip::ZipMember& m : zip::list_members(archive.data(), archive.size(), "test")) {
    const zip::MemberBytes b = zip::read_member(archive.data(), archive.size(), m, "test");
    records.emplace_back(m.name, std::string(reinterpret_cast<const char*>(b.data), b.size));
  }
  return records;
}

// A hand-written protocol-2 pickle of {'w': _rebuild_tensor_v2(<FloatStorage '0' of `numel`>,
// offset, size, stride, False, OrderedDict())}, independent of the writer under test.
std::string le32(uint32_t v) {
  std::string s;
  for (int i = 0; i < 4; ++i)
    s += static_cast<char>((v >> (8 * i)) & 0xFF);
  return s;
}
std::string pickle_str(const std::string& s) {
  return "X" + le32(static_cast<uint32_t>(s.size())) + s;
}
std::string pickle_int(int64_t v) {
  return "J" + le32(static_cast<uint32_t>(static_cast<int32_t>(v)));
}
std::string pickle_ints(const std::vector<int64_t>& values) {
  std::string s = "(";
  for (int64_t v : values)
    s += pickle_int(v);
  return s + "t";
}
std::string tensor_pickle(int64_t numel,
                          int64_t offset,
                          const std::vector<int64_t>& size,
                          const std::vector<int64_t>& stride,
                          const std::string& storage_global = "ctorch\nFloatStorage\n") {
  return std::string("\x80\x02}(") + pickle_str("w") + "ctorch._utils\n_rebuild_tensor_v2\n(" +
         "(" + pickle_str("storage") + storage_global + pickle_str("0") + pickle_str("cpu") +
         pickle_int(numel) + "tQ" + pickle_int(offset) + pickle_ints(size) + pickle_ints(stride) +
         "\x89" + "ccollections\nOrderedDict\n)R" + "tRu.";
}
std::string floats(const std::vector<float>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
}

// ----- torch.save files -------------------------------------------------------------------------

TEST(CheckpointRead, ZipStateDictMatchesNumpyExactly) {
  const Checkpoint ckpt = read_checkpoint(ckpt_fixture("tiny_zip.pth"));
  expect_tiny(ckpt);
  const NDArray* w = ckpt.find("conv.weight");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->shape(), (std::vector<int64_t>{4, 3, 3, 3}));
  EXPECT_EQ(w->dtype(), DType::kF32);
  EXPECT_EQ(ckpt.find("conv.weights"), nullptr);
}

TEST(CheckpointRead, NumBatchesTrackedIsKeptAsInt64Scalar) {
  const Checkpoint ckpt = read_checkpoint(ckpt_fixture("tiny_zip.pth"));
  const NDArray* n = ckpt.find("bn.num_batches_tracked");
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->dtype(), DType::kI64);
  EXPECT_EQ(n->ndim(), 0u);
  EXPECT_EQ(n->data<int64_t>()[0], 3);  // three training forwards in make_checkpoints.py
}

TEST(CheckpointRead, LegacyFormatMatchesNumpyExactly) {
  expect_tiny(read_checkpoint(ckpt_fixture("tiny_legacy.pth")));
}

TEST(CheckpointRead, PyTorch2Layout) {
  // Folder 'archive/', a 'byteorder' record and '.data/' records.
  expect_tiny(read_checkpoint(ckpt_fixture("torch2_layout.pth")));
}

TEST(CheckpointRead, UnwrapsModelKey) {
  expect_tiny(read_checkpoint(ckpt_fixture("wrapped_model.pth")));
}

TEST(CheckpointRead, UnwrapsStateDictKeyPastScalarsAndDicts) {
  // {'meta': {'epoch': 3}, 'state_dict': sd, 'epoch': 3}
  expect_tiny(read_checkpoint(ckpt_fixture("wrapped_state_dict.pth")));
}

TEST(CheckpointRead, UnwrapsFirstDictOfTensorsSkippingOptimizerState) {
  // {'epoch': 3, 'optimizer': {'state': {}, 'param_groups': [...]}, 'net': sd}
  expect_tiny(read_checkpoint(ckpt_fixture("wrapped_other.pth")));
}

TEST(CheckpointRead, StripsCommonModulePrefix) {
  expect_tiny(read_checkpoint(ckpt_fixture("module_prefix.pth")));
  // Legacy format, wrapped as {'state_dict': sd}.
  expect_tiny(read_checkpoint(ckpt_fixture("module_prefix_legacy.pth")));
}

TEST(CheckpointRead, KeepsModulePrefixUnlessEveryNameHasIt) {
  const Checkpoint ckpt = read_checkpoint(ckpt_fixture("module_partial.pth"));
  std::vector<std::string> expected = kTinyNames;
  expected.push_back("module.extra");
  EXPECT_EQ(names_of(ckpt), expected);
  const NDArray* extra = ckpt.find("module.extra");
  ASSERT_NE(extra, nullptr);
  EXPECT_EQ(extra->to_float_vector(), (std::vector<float>{1.5f, 2.5f}));
}

TEST(CheckpointRead, EveryStorageTypeZipAndLegacy) {
  const std::vector<std::string> names = {
      "f32", "f16", "bf16", "f64", "i64", "i32", "i16", "i8", "u8", "bool", "scalar", "empty"};
  for (const char* file : {"dtypes.pth", "dtypes_legacy.pth"}) {
    SCOPED_TRACE(file);
    const Checkpoint ckpt = read_checkpoint(ckpt_fixture(file));
    EXPECT_EQ(names_of(ckpt), names);
    expect_matches_npz(ckpt, "dtypes.npz");
    // Hand-computed values: bfloat16 widened to float32, float16 kept as its bits.
    const NDArray* bf16 = ckpt.find("bf16");
    ASSERT_NE(bf16, nullptr);
    EXPECT_EQ(bf16->to_float_vector(), (std::vector<float>{1, 1.5f, 2, 2.5f, 3, 3.5f}));
    const NDArray* f16 = ckpt.find("f16");
    ASSERT_NE(f16, nullptr);
    EXPECT_EQ(f16->dtype(), DType::kF16);
    EXPECT_EQ(f16->to_float_vector(), (std::vector<float>{-0.5f, -0.25f, 0, 0.25f, 0.5f, 0.75f}));
    EXPECT_EQ(ckpt.find("i64")->data<int64_t>()[0], -(int64_t{1} << 40));
    EXPECT_EQ(ckpt.find("empty")->shape(), (std::vector<int64_t>{0, 3}));
    EXPECT_EQ(ckpt.find("scalar")->ndim(), 0u);
  }
}

TEST(CheckpointRead, HalfPrecisionStateDict) {
  const Checkpoint ckpt = read_checkpoint(ckpt_fixture("tiny_f16.pth"));
  EXPECT_EQ(names_of(ckpt), kTinyNames);
  expect_matches_npz(ckpt, "tiny_f16.npz");
  EXPECT_EQ(ckpt.find("conv.weight")->dtype(), DType::kF16);
  EXPECT_EQ(ckpt.find("bn.num_batches_tracked")->dtype(), DType::kI64);
}

TEST(CheckpointRead, ViewsAndSharedStoragesAreMaterialized) {
  for (const char* file : {"views.pth", "views_legacy.pth"}) {
    SCOPED_TRACE(file);
    const Checkpoint ckpt = read_checkpoint(ckpt_fixture(file));
    EXPECT_EQ(names_of(ckpt),
              (std::vector<std::string>{
                  "base", "transposed", "row2", "every_other", "tied", "broadcast"}));
    expect_matches_npz(ckpt, "views.npz");
    // base = arange(24).reshape(4, 6) * 0.5, so base[i][j] = (6 i + j) / 2.
    const NDArray& t = *ckpt.find("transposed");  // (6, 4), t[i][j] = base[j][i]
    ASSERT_EQ(t.shape(), (std::vector<int64_t>{6, 4}));
    EXPECT_EQ(t.value_at(1 * 4 + 2), (6 * 2 + 1) * 0.5);
    const NDArray& eo = *ckpt.find("every_other");  // base[1:, ::2]: (3, 3)
    ASSERT_EQ(eo.shape(), (std::vector<int64_t>{3, 3}));
    EXPECT_EQ(eo.value_at(2 * 3 + 1), (6 * 3 + 2) * 0.5);
    EXPECT_EQ(ckpt.find("row2")->value_at(0), 6.0);
    EXPECT_EQ(ckpt.find("broadcast")->to_float_vector(), (std::vector<float>{1, 2, 3, 1, 2, 3}));
  }
}

// ----- refused and damaged input ----------------------------------------------------------------

TEST(CheckpointErrors, ForbiddenGlobalsAreRefusedByName) {
  const std::string zip = ckpt_fixture("forbidden_os_system.pth");
  expect_error([&] { read_checkpoint(zip); }, {zip, "'posix.system'"});
  const std::string legacy = ckpt_fixture("forbidden_eval_legacy.pth");
  // Protocol 2 spells Python 3's builtins module '__builtin__'.
  expect_error([&] { read_checkpoint(legacy); }, {legacy, "'__builtin__.eval'"});
}

TEST(CheckpointErrors, NotACheckpoint) {
  expect_error([] { decode(to_bytes("hello world\n"), "notes.txt"); },
               {"notes.txt", "not a PyTorch checkpoint"});
  expect_error([] { decode({}, "empty.pth"); }, {"empty.pth", "not a PyTorch checkpoint"});
  const std::string npz = test::fixture("checkpoints/tiny.npz");
  expect_error([&] { read_checkpoint(npz); }, {npz, "without a data.pkl record"});
  expect_error([] { read_checkpoint("/nonexistent/dir/model.pth"); },
               {"/nonexistent/dir/model.pth"});
}

TEST(CheckpointErrors, TruncatedZipArchive) {
  const std::vector<uint8_t> bytes = read_file_bytes(ckpt_fixture("tiny_zip.pth"));
  const std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + bytes.size() / 2);
  expect_error([&] { decode(cut, "cut.pth"); }, {"cut.pth", "cut short or corrupt"});
}

TEST(CheckpointErrors, TruncatedLegacyStorage) {
  const std::vector<uint8_t> bytes = read_file_bytes(ckpt_fixture("tiny_legacy.pth"));
  const std::vector<uint8_t> cut(bytes.begin(), bytes.end() - 5);
  expect_error([&] { decode(cut, "cut.pth"); }, {"cut.pth", "truncated storage"});
}

TEST(CheckpointErrors, CorruptStorageBytesFailTheCrc) {
  std::vector<uint8_t> bytes = read_file_bytes(ckpt_fixture("tiny_zip.pth"));
  // conv.weight's record data/0 is the first 432-byte record; flip a byte in the middle.
  auto records = unzip(bytes);
  ASSERT_EQ(records[1].first, "tiny_zip/data/0");
  const std::vector<uint8_t> w(records[1].second.begin(), records[1].second.end());
  const auto at = std::search(bytes.begin(), bytes.end(), w.begin(), w.end());
  ASSERT_NE(at, bytes.end());
  at[100] ^= 0x40;
  expect_error([&] { decode(bytes, "flip.pth"); }, {"flip.pth", "tiny_zip/data/0", "CRC-32"});
}

TEST(CheckpointErrors, MissingStorageRecord) {
  auto records = unzip(read_file_bytes(ckpt_fixture("tiny_zip.pth")));
  records.erase(records.begin() + 4);  // tiny_zip/data/3
  expect_error([&] { decode(make_zip(records), "gap.pth"); },
               {"gap.pth", "storage record 'data/3' is missing"});
}

TEST(CheckpointErrors, StorageRecordOfTheWrongSize) {
  auto records = unzip(read_file_bytes(ckpt_fixture("tiny_zip.pth")));
  records[2].second.pop_back();  // data/1: 16 bytes -> 15
  expect_error([&] { decode(make_zip(records), "short.pth"); },
               {"short.pth", "storage '1' has 15 bytes, expected 4 elements of 4 bytes"});
}

TEST(CheckpointErrors, BigEndianByteOrder) {
  auto records = unzip(read_file_bytes(ckpt_fixture("torch2_layout.pth")));
  bool replaced = false;
  for (auto& [name, bytes] : records) {
    if (name == "archive/byteorder") {
      bytes = "big";
      replaced = true;
    }
  }
  ASSERT_TRUE(replaced);
  expect_error([&] { decode(make_zip(records), "be.pth"); }, {"be.pth", "byteorder 'big'"});
}

TEST(CheckpointErrors, DuplicateRecords) {
  auto records = unzip(read_file_bytes(ckpt_fixture("tiny_zip.pth")));
  records.push_back(records[3]);
  expect_error([&] { decode(make_zip(records), "dup.pth"); },
               {"dup.pth", "record 'tiny_zip/data/2' appears twice"});
  const auto two = make_zip({{"a/data.pkl", "\x80\x02}."}, {"b/data.pkl", "\x80\x02}."}});
  expect_error([&] { decode(two, "two.pth"); }, {"two.pth", "2 data.pkl records"});
}

TEST(CheckpointErrors, TorchScriptArchive) {
  const auto zip = make_zip({{"m/data.pkl", "\x80\x02}."}, {"m/constants.pkl", "\x80\x02)."}});
  expect_error([&] { decode(zip, "script.pt"); }, {"script.pt", "TorchScript"});
}

TEST(CheckpointErrors, TopLevelIsNotADict) {
  const auto zip = make_zip({{"a/data.pkl", "\x80\x02]."}, {"a/version", "3\n"}});
  expect_error([&] { decode(zip, "list.pth"); }, {"list.pth", "holds a list, not a state dict"});
}

TEST(CheckpointErrors, NoDictOfTensors) {
  // {'epoch': 3, 'arch': 'x'}
  const std::string pkl =
      "\x80\x02}(" + pickle_str("epoch") + "K\x03" + pickle_str("arch") + pickle_str("x") + "u.";
  const auto zip = make_zip({{"a/data.pkl", pkl}});
  expect_error([&] { decode(zip, "meta.pth"); },
               {"meta.pth", "no state dict found", "'epoch', 'arch'"});
}

TEST(CheckpointErrors, EmptyTopLevelDictIsAnEmptyStateDict) {
  const auto zip = make_zip({{"a/data.pkl", "\x80\x02}."}});
  EXPECT_TRUE(decode(zip).tensors.empty());
}

TEST(CheckpointRead, HandWrittenViewIsMaterialized) {
  // Storage 0..5; the view offset 1, size (2, 2), stride (3, 1) holds {1, 2, 4, 5}.
  const auto zip = make_zip({{"a/data.pkl", tensor_pickle(6, 1, {2, 2}, {3, 1})},
                             {"a/data/0", floats({0, 1, 2, 3, 4, 5})}});
  const Checkpoint ckpt = decode(zip);
  ASSERT_EQ(ckpt.tensors.size(), 1u);
  EXPECT_EQ(ckpt.tensors[0].second.shape(), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(ckpt.tensors[0].second.to_float_vector(), (std::vector<float>{1, 2, 4, 5}));
}

TEST(CheckpointErrors, ViewPastTheEndOfItsStorage) {
  // Offset 1, size (2, 3), stride (3, 1) reaches element 6 of a 6-element storage.
  const auto zip = make_zip({{"a/data.pkl", tensor_pickle(6, 1, {2, 3}, {3, 1})},
                             {"a/data/0", floats({0, 1, 2, 3, 4, 5})}});
  expect_error([&] { decode(zip, "oob.pth"); }, {"oob.pth", "reaches past its storage of 6"});
  const auto negative = make_zip(
      {{"a/data.pkl", tensor_pickle(6, -1, {2}, {1})}, {"a/data/0", floats({0, 1, 2, 3, 4, 5})}});
  expect_error([&] { decode(negative, "neg.pth"); }, {"neg.pth", "negative storage offset"});
}

TEST(CheckpointErrors, UnknownStorageTypeIsRefusedByName) {
  const auto zip = make_zip({{"a/data.pkl", tensor_pickle(2, 0, {2}, {1}, "ctorch\nEvilStorage\n")},
                             {"a/data/0", floats({0, 1})}});
  expect_error([&] { decode(zip, "evil.pth"); }, {"evil.pth", "torch.EvilStorage"});
}

TEST(CheckpointErrors, MetadataMustMapStrToStr) {
  // {'state_dict': {'w': tensor}, '_pseudomask': {'epoch': 3}}
  std::string pkl = tensor_pickle(1, 0, {1}, {1});
  pkl = "\x80\x02}(" + pickle_str("state_dict") + pkl.substr(2, pkl.size() - 3) +
        pickle_str("_pseudomask") + "}(" + pickle_str("epoch") + "K\x03uu.";
  const auto zip = make_zip({{"a/data.pkl", pkl}, {"a/data/0", floats({7})}});
  expect_error([&] { decode(zip, "md.pth"); }, {"md.pth", "'_pseudomask' metadata must map str"});
}

// ----- writing ------------------------------------------------------------------------------

Checkpoint sample_checkpoint() {
  Checkpoint ckpt;
  ckpt.tensors.emplace_back("layer.weight",
                            NDArray::from<float>({1.5f, -2, 3, 0.25f, 5, -6}, {2, 3}));
  ckpt.tensors.emplace_back("bn.num_batches_tracked", NDArray::from<int64_t>({12345678901}, {}));
  ckpt.tensors.emplace_back("a.bias", NDArray::from<double>({0.1, -0.2}, {2}));
  NDArray half(DType::kF16, {3});
  for (int i = 0; i < 3; ++i) {
    const uint16_t bits = float_to_half(0.5f * static_cast<float>(i));
    std::memcpy(half.raw() + 2 * i, &bits, 2);
  }
  ckpt.tensors.emplace_back("half", half);
  NDArray mask(DType::kBool, {2});
  mask.raw()[0] = 1;
  ckpt.tensors.emplace_back("mask", mask);
  ckpt.tensors.emplace_back("ids", NDArray::from<int32_t>({-70000, 70000}, {2}));
  ckpt.tensors.emplace_back("bytes", NDArray::from<uint8_t>({0, 255}, {2}));
  ckpt.tensors.emplace_back("chars", NDArray::from<int8_t>({-128, 127}, {2}));
  ckpt.tensors.emplace_back("shorts", NDArray::from<int16_t>({-300, 300}, {2}));
  ckpt.tensors.emplace_back("empty", NDArray(DType::kF32, {0, 4}));
  return ckpt;
}

void expect_same_checkpoint(const Checkpoint& actual, const Checkpoint& expected) {
  ASSERT_EQ(names_of(actual), names_of(expected));
  for (size_t i = 0; i < expected.tensors.size(); ++i)
    expect_identical(
        actual.tensors[i].second, expected.tensors[i].second, expected.tensors[i].first);
  EXPECT_EQ(actual.metadata, expected.metadata);
}

TEST(CheckpointWrite, RoundTripKeepsOrderDtypesAndValues) {
  test::TempDir dir("ckpt");
  const Checkpoint ckpt = sample_checkpoint();
  write_checkpoint(dir / "out.pth", ckpt);
  expect_same_checkpoint(read_checkpoint(dir / "out.pth"), ckpt);
}

TEST(CheckpointWrite, RoundTripWithMetadata) {
  test::TempDir dir("ckpt");
  Checkpoint ckpt = sample_checkpoint();
  ckpt.metadata = {{"epoch", "7"}, {"arch", "resnet50"}, {"note", "ünïcode, \"quoted\""}};
  write_checkpoint(dir / "meta.pth", ckpt);
  const Checkpoint back = read_checkpoint(dir / "meta.pth");
  expect_same_checkpoint(back, ckpt);
  ASSERT_NE(back.find_metadata("arch"), nullptr);
  EXPECT_EQ(*back.find_metadata("arch"), "resnet50");
  EXPECT_EQ(back.find_metadata("lr"), nullptr);
}

TEST(CheckpointWrite, RewritingATorchFileKeepsEveryTensor) {
  const Checkpoint tiny = read_checkpoint(ckpt_fixture("tiny_zip.pth"));
  expect_tiny(decode(encode_checkpoint(tiny)));
  const Checkpoint dtypes = read_checkpoint(ckpt_fixture("dtypes.pth"));
  expect_matches_npz(decode(encode_checkpoint(dtypes)), "dtypes.npz");
}

TEST(CheckpointWrite, LayoutIsTheTorchZipLayout) {
  const std::vector<uint8_t> bytes = encode_checkpoint(sample_checkpoint(), "model");
  const auto members = zip::list_members(bytes.data(), bytes.size(), "test");
  ASSERT_EQ(members.size(), 10u + 3u);
  EXPECT_EQ(members.front().name, "model/data.pkl");  // torch derives the folder from record 0
  EXPECT_EQ(members[1].name, "model/data/0");
  EXPECT_EQ(members[members.size() - 2].name, "model/version");
  EXPECT_EQ(members.back().name, "model/byteorder");
  for (const auto& m : members) {
    EXPECT_EQ(m.method, 0) << m.name;  // stored
    const zip::MemberBytes b = zip::read_member(bytes.data(), bytes.size(), m, "test");
    if (m.name.find("/data/") != std::string::npos) {
      EXPECT_EQ(static_cast<size_t>(b.data - bytes.data()) % 64, 0u) << m.name;
    }
  }
  EXPECT_EQ(encode_checkpoint(sample_checkpoint(), "model"), bytes);  // reproducible
}

TEST(CheckpointWrite, PickleIsWhatTorchSaveWrites) {
  // One float tensor: the exact opcodes torch.save's pickler would emit without memo puts.
  Checkpoint ckpt;
  ckpt.tensors.emplace_back("w", NDArray::from<float>({1, 2, 3, 4, 5, 6}, {2, 3}));
  const auto records = unzip(encode_checkpoint(ckpt));
  ASSERT_EQ(records[0].first, "archive/data.pkl");
  const std::string expected = std::string("\x80\x02") + "ccollections\nOrderedDict\n)R(" +
                               pickle_str("w") + "ctorch._utils\n_rebuild_tensor_v2\n((" +
                               pickle_str("storage") + "ctorch\nFloatStorage\n" + pickle_str("0") +
                               pickle_str("cpu") + "K\x06tQ" + std::string("K\x00", 2) +
                               "(K\x02K\x03t(K\x03K\x01t\x89" + "ccollections\nOrderedDict\n)RtRu.";
  EXPECT_EQ(records[0].second, expected);
  EXPECT_EQ(records[1].second, floats({1, 2, 3, 4, 5, 6}));
}

TEST(CheckpointWrite, RefusesWhatTorchCannotLoad) {
  test::TempDir dir("ckpt");
  const std::string path = dir / "bad.pth";
  Checkpoint u16;
  u16.tensors.emplace_back("x", NDArray(DType::kU16, {2}));
  expect_error([&] { write_checkpoint(path, u16); }, {path, "'x'", "uint16"});
  Checkpoint twice;
  twice.tensors.emplace_back("x", NDArray(DType::kF32, {2}));
  twice.tensors.emplace_back("x", NDArray(DType::kF32, {2}));
  expect_error([&] { write_checkpoint(path, twice); }, {path, "'x' appears twice"});
  Checkpoint unnamed;
  unnamed.tensors.emplace_back("", NDArray(DType::kF32, {2}));
  expect_error([&] { write_checkpoint(path, unnamed); }, {path, "empty name"});
  EXPECT_FALSE(std::filesystem::exists(path));
}

}  // namespace
}  // namespace pm
