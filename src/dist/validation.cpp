// Validation mode: each collective first gathers what every rank passes and fails the same way
// on every rank when they differ, instead of computing garbage or waiting for the timeout.
#include <string>
#include <vector>

#include "dist/collectives.hpp"
#include "loom/error.hpp"

namespace loom::dist::detail {
namespace {

constexpr size_t kDims = 8;  // axes compared one by one; the element count covers the rest
enum Field : size_t { kKind, kDType, kOp, kRoot, kRank, kNumel, kFirstDim, kFields = kFirstDim + kDims };

const char* kind_name(int64_t kind) {
  static const char* const names[] = {"all_reduce", "broadcast", "all_gather", "reduce_scatter", "barrier"};
  return kind >= 0 && kind < 5 ? names[kind] : "an unknown collective";
}

std::vector<int64_t> encode(const CallDescription& call) {
  std::vector<int64_t> fields(kFields, -1);
  fields[kKind] = static_cast<int64_t>(call.kind);
  fields[kDType] = static_cast<int64_t>(call.dtype);
  fields[kOp] = static_cast<int64_t>(call.op);
  fields[kRoot] = call.root;
  fields[kRank] = call.shape.rank();
  fields[kNumel] = call.shape.numel();
  for (size_t i = 0; i < call.shape.size() && i < kDims; ++i) fields[kFirstDim + i] = call.shape[i];
  return fields;
}

// "calls all_reduce (sum) on float32 (2, 3)" from one rank's fields.
std::string describe(const int64_t* f, const Shape& shape) {
  const auto kind = static_cast<CollectiveKind>(f[kKind]);
  std::string text = std::string("calls ") + kind_name(f[kKind]);
  if (kind == CollectiveKind::AllReduce || kind == CollectiveKind::ReduceScatter) {
    text += std::string(" (") + reduce_op_name(static_cast<ReduceOp>(f[kOp])) + ")";
  }
  if (kind == CollectiveKind::Broadcast) text += " from root " + std::to_string(f[kRoot]);
  if (kind == CollectiveKind::Barrier) return text;
  return text + " on " + dtype_name(static_cast<DType>(f[kDType])) + " " + shape.str();
}

Shape shape_of(const int64_t* f) {
  Shape s;
  for (int64_t i = 0; i < f[kRank] && i < static_cast<int64_t>(kDims); ++i) s.push_back(f[kFirstDim + i]);
  return s;
}

}  // namespace

void validate(Context& c, const char* function, const CallDescription& call) {
  if (!validating()) return;
  const std::vector<int64_t> mine = encode(call);
  std::vector<int64_t> all(kFields * static_cast<size_t>(c.size));
  const std::vector<int64_t> counts(static_cast<size_t>(c.size), static_cast<int64_t>(kFields));
  const CollectiveContext context{function, timeout_seconds()};
  c.run(function, [&] { c.host->all_gather(mine.data(), all.data(), counts, DType::Int64, context); });
  const int64_t* first = all.data();
  for (int r = 1; r < c.size; ++r) {
    const int64_t* other = all.data() + static_cast<size_t>(r) * kFields;
    const bool gather = first[kKind] == static_cast<int64_t>(CollectiveKind::AllGather);
    bool same = true;
    for (size_t f = 0; f < kFields; ++f) {
      const bool ignored = gather && (f == kNumel || f == kFirstDim);  // all_gather's first axis may differ
      same = same && (ignored || first[f] == other[f]);
    }
    if (same) continue;
    const std::string message = std::string("[") + function + "] the ranks' calls differ (validation mode): rank 0 " +
                                describe(first, shape_of(first)) + ", rank " + std::to_string(r) + " " +
                                describe(other, shape_of(other));
    if (first[kKind] != other[kKind] || first[kOp] != other[kOp] || first[kRoot] != other[kRoot]) {
      throw InvalidArgument(message);
    }
    if (first[kDType] != other[kDType]) throw DTypeError(message);
    throw ShapeError(message);
  }
}

}  // namespace loom::dist::detail
