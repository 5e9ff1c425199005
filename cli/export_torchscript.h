// `tempo export CHECKPOINT --format torchscript [--module MODULE] OUT.pt`: the TorchScript module a
// run trained (model: {torchscript: ...}, models/torchscript_model.h) with the checkpoint's
// weights in it, a file torch.jit.load (Python) and torch::jit::load read.
//
// Which module: the checkpoint's state/metadata records the module file's absolute path and the
// CRC-32 of its bytes when it was trained. Without --module that file is used, and only if it is
// unchanged (same CRC): a module edited or re-saved since may compute something else with the same
// weights, so export refuses it and says how to go on. --module MODULE names the module file
// explicitly (a moved or re-saved module, or CHECKPOINT being a bare state_dict or safetensors
// file with no metadata); its CRC is then not compared. Always, the module's parameters and
// buffers must match the checkpoint's state/model exactly, name for name, in shape and dtype:
// otherwise nothing is written and the message lists the missing, unexpected and mismatched names.
// The module keeps its mode (training or eval) as saved in the module file.
//
// OUT is written atomically, and only where nothing is lost: a new path, an empty file or a
// TorchScript archive; any other regular file (a checkpoint, a safetensors file) only with
// --force; never a symlink, folder, device, FIFO or socket, nor CHECKPOINT or the module file.
//
// Never throws: every failure is one line "tempo export: <reason>" on `err` and status 2. On
// success prints "exported N tensors (B bytes) into MODULE as OUT" on `out` and returns 0.
#pragma once

#include <iosfwd>
#include <string>

namespace tempo::cli {

// `module` is --module's value, "" when not given.
int export_torchscript(const std::string& source, const std::string& target, const std::string& module, bool force,
                       std::ostream& out, std::ostream& err);

}  // namespace tempo::cli
