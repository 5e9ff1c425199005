// CheckpointSnapshot: what the background writer of save_async writes from. It must pickle to the
// same bytes as the live tree, keep tensors that share a storage sharing one, stay unchanged when
// the live state moves on, and copy into the same staging buffers from one snapshot to the next.
// A deferred copy (save_async overlapping the parameters' copy with the next batch) must read the
// live storage only when copy_later() runs, and name the tensors changed in place before that.
#include <doctest/doctest.h>

#include <torch/torch.h>

#include "tempo/serialization/pickle_writer.h"
#include "tempo/state/checkpoint_snapshot.h"
#include "tempo/state/tree.h"

using namespace tempo;

namespace {

struct Live {
  torch::Tensor weight = torch::randn({64, 32});
  torch::Tensor row = weight[3];                     // a view: shares weight's storage
  torch::Tensor flat = torch::arange(100, torch::kLong);
  torch::Tensor bytes = torch::randint(0, 255, {16}, torch::kByte);
  c10::IValue tree;

  Live() {
    auto inner = new_tree_dict();
    inner.insert("weight", weight);
    inner.insert("row", row);
    inner.insert("strided", flat.slice(0, 10, 90, 4));
    inner.insert("step", int64_t{7});
    inner.insert("name", std::string("adam"));
    inner.insert("lr", 0.5);
    inner.insert("nothing", c10::IValue());
    c10::List<int64_t> params({0, 1, 2});
    inner.insert("params", params);
    inner.insert("pair", c10::ivalue::Tuple::create({c10::IValue(bytes), c10::IValue(0.9)}));
    c10::impl::GenericList rng(c10::AnyType::get());
    rng.push_back(bytes);
    auto root = new_tree_dict();
    root.insert("state", inner);
    root.insert("rng", rng);
    tree = root;
  }
};

std::string pickled(const c10::IValue& tree, std::vector<at::Tensor>& storages) { return pickle_tree(tree, storages); }

at::Tensor at_path(const c10::IValue& tree, const std::string& key) {
  return tree.toGenericDict().at("state").toGenericDict().at(key).toTensor();
}

}  // namespace

TEST_SUITE("state") {
  TEST_CASE("a snapshot pickles as the live tree, shares storages as it does, and does not move with it") {
    torch::manual_seed(3);
    Live live;
    CheckpointSnapshot snapshot;
    const auto copy = snapshot.take(live.tree);

    std::vector<at::Tensor> live_storages, copy_storages;
    const auto expected = pickled(live.tree, live_storages);
    CHECK(pickled(copy, copy_storages) == expected);
    REQUIRE(copy_storages.size() == live_storages.size());
    CHECK(copy_storages.size() == 3);  // weight (and its row), flat, bytes
    for (size_t i = 0; i < copy_storages.size(); ++i) {
      CHECK(torch::equal(copy_storages[i], live_storages[i]));
      CHECK(copy_storages[i].data_ptr() != live_storages[i].data_ptr());
    }
    CHECK(at_path(copy, "row").storage().unsafeGetStorageImpl() ==
          at_path(copy, "weight").storage().unsafeGetStorageImpl());
    CHECK(at_path(copy, "strided").storage_offset() == 10);
    CHECK(at_path(copy, "strided").strides()[0] == 4);
    CHECK(snapshot.staged_bytes() == live.weight.nbytes() + live.flat.nbytes() + live.bytes.nbytes());

    // The live state moves on; the snapshot does not.
    const auto before = at_path(copy, "weight").clone();
    live.weight.add_(1.0);
    live.flat.zero_();
    CHECK(torch::equal(at_path(copy, "weight"), before));
    CHECK(at_path(copy, "strided")[1].item<int64_t>() == 14);
    // Containers were copied too: changing the live dict leaves the snapshot's alone.
    live.tree.toGenericDict().at("state").toGenericDict().insert_or_assign("step", int64_t{8});
    CHECK(copy.toGenericDict().at("state").toGenericDict().at("step").toInt() == 7);
  }

  TEST_CASE("later snapshots copy into the staging buffers of the first") {
    torch::manual_seed(4);
    Live live;
    CheckpointSnapshot snapshot;
    const auto first = snapshot.take(live.tree);
    const void* weight_memory = at_path(first, "weight").storage().data();
    const void* flat_memory = at_path(first, "strided").storage().data();
    CHECK(snapshot.allocations() == 3);

    live.weight.mul_(2.0);
    const auto second = snapshot.take(live.tree);
    CHECK(snapshot.allocations() == 3);  // nothing allocated
    CHECK(at_path(second, "weight").storage().data() == weight_memory);
    CHECK(at_path(second, "strided").storage().data() == flat_memory);
    CHECK(torch::equal(at_path(second, "weight"), live.weight));

    // A storage whose size changed gets a new buffer; the others keep theirs.
    live.tree.toGenericDict().at("state").toGenericDict().insert_or_assign("weight", torch::randn({8, 8}));
    live.tree.toGenericDict().at("state").toGenericDict().insert_or_assign("row", torch::randn({8}));
    const auto third = snapshot.take(live.tree);
    CHECK(snapshot.allocations() == 5);
    CHECK(at_path(third, "strided").storage().data() == flat_memory);
  }

  TEST_CASE("a deferred copy reads the live storages when copy_later runs and names tensors changed before") {
    torch::manual_seed(5);
    Live live;
    CheckpointSnapshot snapshot;
    const CheckpointSnapshot::StorageSet later{live.weight.storage().unsafeGetStorageImpl()};
    const auto copy = snapshot.take(live.tree, later);
    CHECK(snapshot.deferred_bytes() == live.weight.nbytes());
    CHECK(snapshot.staged_bytes() == live.weight.nbytes() + live.flat.nbytes() + live.bytes.nbytes());
    // What is not deferred was copied by take(): changing it now leaves the snapshot alone.
    live.flat.zero_();
    CHECK(at_path(copy, "strided")[1].item<int64_t>() == 14);
    // The deferred storage is read by copy_later(), which finds nothing changed since take().
    CHECK(snapshot.copy_later().empty());
    CHECK(snapshot.deferred_bytes() == 0);
    CHECK(torch::equal(at_path(copy, "weight"), live.weight));
    CHECK(torch::equal(at_path(copy, "row"), live.row));
    std::vector<at::Tensor> live_storages, copy_storages;
    live.flat.copy_(torch::arange(100, torch::kLong));
    CHECK(pickled(copy, copy_storages) == pickled(live.tree, live_storages));

    // An in-place change between take() and copy_later(): the weight and its view (which shares
    // its version counter) are named by their paths in the tree; the bytes are not trusted.
    const auto again = snapshot.take(live.tree, later);
    {
      torch::NoGradGuard no_grad;
      live.weight.mul_(2.0);
    }
    CHECK(snapshot.copy_later() == std::vector<std::string>{"state/weight", "state/row"});
    // Tensors that are not deferred are never watched: changing them is not reported.
    const auto third = snapshot.take(live.tree, later);
    live.flat.add_(1);
    CHECK(snapshot.copy_later().empty());
  }
}
