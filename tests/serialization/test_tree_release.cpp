// Freeing value trees nested far deeper than the C++ stack allows recursion for: release_tree,
// and the unpickler's own stack items, whatever code built them.
#include <doctest/doctest.h>

#include <memory>

#include "tempo/serialization/tree_release.h"
#include "tempo/serialization/unpickler.h"
#include "serialization_support.h"

using namespace tempo;
using namespace tempo::testing;

namespace {

// Deep enough that freeing by recursion overflows the default 8 MiB stack (200000 tuples do).
constexpr size_t kLevels = 300000;

// `levels` containers, each holding the next (kinds in turn from `kinds`: 'l' list, 'd' dict,
// 't' tuple); `keep` receives the one at `keep_at` levels down.
c10::IValue chain(size_t levels, const std::string& kinds, size_t keep_at = 0, c10::IValue* keep = nullptr) {
  c10::IValue inner;
  for (size_t i = levels; i-- > 0;) {
    const char kind = kinds[i % kinds.size()];
    c10::IValue outer;
    if (kind == 'l') {
      auto l = any_list();
      l.push_back(std::move(inner));
      outer = l;
    } else if (kind == 'd') {
      auto d = str_dict();
      d.insert("next", std::move(inner));
      outer = d;
    } else {
      outer = c10::ivalue::Tuple::create({std::move(inner)});
    }
    inner = std::move(outer);
    if (keep && i == keep_at) *keep = inner;
  }
  return inner;
}

// How many containers deep `v` goes, following the first child of each.
size_t depth_of(c10::IValue v) {
  size_t depth = 0;
  for (;;) {
    c10::IValue next;
    if (v.isList() && !v.toListRef().empty())
      next = v.toListRef()[0];
    else if (v.isGenericDict() && !v.toGenericDict().empty())
      next = v.toGenericDict().begin()->value();
    else if (v.isTuple() && !v.toTupleRef().elements().empty())
      next = v.toTupleRef().elements()[0];
    else
      return depth + (v.isList() || v.isGenericDict() || v.isTuple());
    v = std::move(next);
    ++depth;
  }
}

}  // namespace

TEST_SUITE("serialization") {
  TEST_CASE("release_tree frees lists, dicts and tuples nested 300000 deep") {
    for (const std::string kinds : {"l", "d", "t", "ldt"}) {
      CAPTURE(kinds);
      c10::IValue tree = chain(kLevels, kinds);
      release_tree(std::move(tree));
      CHECK(tree.isNone());
    }
  }

  TEST_CASE("release_tree leaves the parts of a tree that others hold intact") {
    c10::IValue middle;
    c10::IValue tree = chain(kLevels, "ldt", 1000, &middle);
    REQUIRE(middle.use_count() == 2);
    release_tree(std::move(tree));
    CHECK(middle.use_count() == 1);
    // Walking it is iterative; its destructor would not be: it goes back the same way.
    CHECK(depth_of(middle) == kLevels - 1000);
    release_tree(std::move(middle));
  }

  TEST_CASE("take_children empties a container that holds itself, breaking the cycle") {
    auto list = any_list();
    list.push_back(int64_t{1});
    list.push_back(list);
    std::vector<c10::IValue> taken;
    take_children(list, taken);
    CHECK(list.empty());
    CHECK(taken.size() == 2);
    release_trees(taken);
    CHECK(taken.empty());
    CHECK(c10::IValue(list).use_count() == 2);  // `list` and the IValue made for the check
  }

  TEST_CASE("the unpickler's items free tuples nested 300000 deep, shared or not") {
    using tempo::detail::Item;
    using tempo::detail::Kind;
    auto item = std::make_unique<Item>();
    item->kind = Kind::Global;
    for (size_t i = 0; i < kLevels; ++i) {
      Item tuple;
      tuple.kind = Kind::Tuple;
      tuple.items = std::make_shared<std::vector<Item>>();
      tuple.items->push_back(std::move(*item));
      *item = std::move(tuple);
    }
    Item copy = *item;  // shares the items: the copy keeps them all when the first goes
    item.reset();
    CHECK(copy.items->size() == 1);
    CHECK(copy.items->front().items->size() == 1);
    Item holder = tempo::detail::value_item(chain(kLevels, "ldt"));
    holder = copy;  // what the target held is freed by assignment, too
    CHECK(holder.items.use_count() == 2);
  }
}
