// Dropping a value tree without recursion. c10::IValue frees a dict, list or tuple by freeing
// its children from inside its own destructor, one stack frame per level, so dropping a tree
// nested a few hundred thousand deep overflows the C++ stack. release_tree takes the tree apart
// first, level by level, on the heap, so that no destructor ever recurses: any depth is safe,
// whoever built the tree.
#pragma once

#include <ATen/core/ivalue.h>

#include <vector>

namespace tempo {

// Drops `tree`. Only what this reference alone keeps alive is taken apart: a dict, list or tuple
// also held elsewhere is left intact (its count drops by one), so parts of the tree that other
// values share keep their contents. Values of other kinds (tensors, strings, objects) are
// dropped as they are. Never throws; should memory for the work list run out, the rest is
// dropped the ordinary way.
void release_tree(c10::IValue&& tree) noexcept;

// The same for several trees at once; `trees` is left empty.
void release_trees(std::vector<c10::IValue>& trees) noexcept;

// Moves every child of a dict, list or tuple (a dict's keys and values) to the end of `into`,
// leaving the container empty, whoever else holds it. For breaking up a structure one owns
// entirely, reference cycles included. Does nothing to other values.
void take_children(const c10::IValue& container, std::vector<c10::IValue>& into);

}  // namespace tempo
