#!/usr/bin/env bash
# Installs, with apt, whatever tempo needs that this machine lacks. Idempotent: when everything
# is present it only asks dpkg and returns in well under a second.
set -euo pipefail

packages=(
  g++ cmake make ccache pkg-config zlib1g-dev
  libtorch-dev libgloo-dev libyaml-cpp-dev libfmt-dev libcereal-dev libboost-filesystem-dev doctest-dev
  libopenblas0-pthread dataset-fashion-mnist protobuf-compiler libprotobuf-dev
)
packages+=("$@")

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "error: run as root or install sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
