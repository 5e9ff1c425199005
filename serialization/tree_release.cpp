#include "tempo/serialization/tree_release.h"

#include <ATen/core/Dict.h>
#include <ATen/core/List.h>

#include <new>
#include <utility>

namespace tempo {
namespace {

bool is_container(const c10::IValue& v) { return v.isGenericDict() || v.isList() || v.isTuple(); }

}  // namespace

void take_children(const c10::IValue& container, std::vector<c10::IValue>& into) {
  if (container.isList()) {
    const auto list = container.toList();
    for (size_t i = 0; i < list.size(); ++i) into.push_back(list.extract(i));
    list.clear();
  } else if (container.isGenericDict()) {
    const auto dict = container.toGenericDict();
    for (const auto& entry : dict) {
      into.push_back(entry.key());
      into.push_back(entry.value());
    }
    // The copies above are now the only references the dict held: clearing frees nothing deep.
    dict.clear();
  } else if (container.isTuple()) {
    auto elements = std::move(*container.toTuple()).elements();
    for (auto& element : elements) into.push_back(std::move(element));
  }
}

void release_trees(std::vector<c10::IValue>& trees) noexcept {
  // `trees` is the work list: a container that only it holds gives up its children to the list
  // before it is freed, so each destructor that runs frees one level and no more.
  try {
    while (!trees.empty()) {
      c10::IValue v = std::move(trees.back());
      trees.pop_back();
      if (is_container(v) && v.use_count() == 1) take_children(v, trees);
    }
  } catch (...) {
    // Out of memory for the work list: what is left goes the ordinary way.
  }
  trees.clear();
}

void release_tree(c10::IValue&& tree) noexcept {
  if (!is_container(tree)) {
    tree = c10::IValue();
    return;
  }
  std::vector<c10::IValue> trees;
  try {
    trees.push_back(std::move(tree));
  } catch (...) {
    tree = c10::IValue();
    return;
  }
  release_trees(trees);
}

}  // namespace tempo
